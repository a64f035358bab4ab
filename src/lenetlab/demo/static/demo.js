// The drawing page: draw with a mouse, pen or finger (pointer events), or choose a photo; each
// finished stroke sends the picture to /api/predict and shows the digit, the ten probabilities
// and every layer's output. The brush is as wide, against the digit, as MNIST's strokes are.
const canvas = document.getElementById("drawing");
const pen = canvas.getContext("2d");
const BRUSH = 22; // px on the 280 px canvas: a digit drawn ~200 px tall keeps MNIST's stroke width
let last = null;

function clear() {
  pen.fillStyle = "#fff";
  pen.fillRect(0, 0, canvas.width, canvas.height);
  show({ message: "" });
  document.getElementById("prediction").innerHTML = '<span class="digit">?</span> draw a digit';
  document.getElementById("outputs").replaceChildren();
}

function at(event) { // the pointer in canvas pixels, whatever size the page shows it at
  const box = canvas.getBoundingClientRect();
  return [(event.clientX - box.left) * canvas.width / box.width,
          (event.clientY - box.top) * canvas.height / box.height];
}

function stroke(from, to) {
  pen.strokeStyle = "#000";
  pen.lineWidth = BRUSH;
  pen.lineCap = pen.lineJoin = "round";
  pen.beginPath();
  pen.moveTo(...from);
  pen.lineTo(...to);
  pen.stroke();
}

canvas.addEventListener("pointerdown", (event) => {
  canvas.setPointerCapture(event.pointerId);
  last = at(event);
  stroke(last, last); // a dot
});
canvas.addEventListener("pointermove", (event) => {
  if (last === null) return;
  const point = at(event);
  stroke(last, point);
  last = point;
});
for (const end of ["pointerup", "pointercancel"]) {
  canvas.addEventListener(end, () => {
    if (last === null) return;
    last = null;
    send();
  });
}
document.getElementById("clear").addEventListener("click", clear);
document.getElementById("predict").addEventListener("click", send);
document.getElementById("upload").addEventListener("change", (event) => {
  const file = event.target.files[0];
  if (file) read(file);
  event.target.value = ""; // the same file again is a new choice
});

// Pictures are numbered as they are asked about (data-asked on the page); an answer to an older
// one than the latest is dropped, and data-answered says which answer the page shows.
let asked = 0;

function send() {
  const mine = ++asked;
  document.body.dataset.asked = mine;
  canvas.toBlob((blob) => read(blob, mine), "image/png");
}

async function read(picture, mine = ++asked) {
  document.body.dataset.asked = asked;
  let result;
  try {
    const answer = await fetch("/api/predict", { method: "POST", body: picture });
    const body = await answer.json();
    result = answer.ok ? body : { message: body.error || `the server said ${answer.status}` };
  } catch (error) {
    result = { message: `no answer from the server (${error.message})` };
  }
  if (mine !== asked) return;
  show(result);
  document.body.dataset.answered = mine;
}

function show(result) {
  document.getElementById("message").textContent = result.message || "";
  if (!result.probabilities) return;
  const best = result.probabilities.indexOf(Math.max(...result.probabilities));
  const rows = result.probabilities.map((p, i) => `<li${i === best ? ' class="best"' : ""}>
      <span>${result.classes[i]}</span><span class="bar" style="width:${(100 * p).toFixed(1)}%"></span>
      <span>${(100 * p).toFixed(1)} %</span></li>`);
  document.getElementById("prediction").innerHTML =
    `<span class="digit">${result.class}</span><ol>${rows.join("")}</ol>`;
  figures("outputs", result.layers);
}

function figures(where, pictures) {
  document.getElementById(where).replaceChildren(...pictures.map(({ name, png }) => {
    const figure = document.createElement("figure");
    figure.innerHTML = `<img alt="${name}" src="${png}"><figcaption>${name}</figcaption>`;
    return figure;
  }));
}

fetch("/api/model").then((answer) => answer.json()).then((model) => {
  document.getElementById("model").textContent = model.name;
  figures("learnt", model.learnt);
});
clear();
