"""The drawing page (python src/demo.py) in a real browser: Debian's Chromium, driven by
Playwright, draws digits with the mouse on #drawing, reads #prediction and counts the pictures
in #layers; an empty canvas and a file that is no image are messages, and the server goes on.
The server is a real process: Ctrl-C stops it cleanly. Skipped where /usr/bin/chromium is not
installed (.ci/run installs it)."""

import math
import os
import re
import signal
import socket
import subprocess
import sys
import time
from urllib.request import urlopen

import pytest
from PIL import Image, ImageDraw

from conftest import REPO, SHARED_MNIST, assert_one_line, run_in_process
from lenetlab.data.photo import photo_to_input
from lenetlab.training.ranks import free_port


def arc(cx, cy, rx, ry, start, end, n=24):
    angles = [start + (end - start) * i / n for i in range(n + 1)]
    return [(cx + rx * math.cos(math.radians(a)), cy + ry * math.sin(math.radians(a)))
            for a in angles]  # fmt: skip


# Strokes on the 280x280 canvas, each a list of points, as a hand draws the digit ~160 px tall.
DIGITS = {
    "0": [arc(140, 140, 55, 80, -90, 270)],
    "1": [[(118, 85), (145, 60), (145, 222)]],
    "2": [arc(140, 110, 50, 48, 190, 360, 12) + [(175, 150), (90, 220), (200, 220)]],
    "3": [arc(138, 100, 45, 40, 200, 450, 14) + arc(138, 178, 50, 44, 270, 500, 14)[1:]],
    "4": [[(165, 222), (165, 60), (80, 170), (205, 170)]],
    "5": [[(185, 62), (105, 62), (98, 130)] + arc(140, 170, 50, 50, 230, 480, 16)],
    "6": [[(172, 68), (140, 76), (115, 100), (100, 140), (96, 178)]
          + arc(140, 178, 44, 44, 180, 540, 18)],
    "7": [[(85, 65), (195, 65), (128, 222)]],
    "8": [arc(140, 98, 38, 38, 90, 450, 20), arc(140, 176, 46, 46, -90, 270, 20)],
    "9": [arc(135, 105, 42, 42, 0, 360, 20), [(177, 105), (172, 222)]],
}  # fmt: skip


@pytest.fixture(scope="module")
def server():
    """``python src/demo.py port=<free>`` (the shipped default model) until the module ends;
    then Ctrl-C, which must stop it cleanly."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "src/demo.py", f"port={port}"], cwd=REPO, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 180
    while True:
        try:
            urlopen(url, timeout=2).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"the demo did not start:\n{process.stdout.read()}")
            time.sleep(0.3)
    yield url
    os.killpg(process.pid, signal.SIGINT)  # Ctrl-C in its terminal
    output = process.communicate(timeout=60)[0]
    assert process.returncode == 0, output
    assert "Traceback" not in output and output.rstrip().endswith("lenetlab demo: stopped")


@pytest.fixture
def page(browser, server):
    """The page, loaded, with every request it makes recorded."""
    page = browser.new_page()
    page.requests = []
    page.on("request", lambda request: page.requests.append(request.url))
    page.goto(server)
    page.wait_for_function("document.querySelectorAll('#learnt img').length > 0")
    yield page
    page.close()


def draw(page, strokes) -> str:
    """Draw with the mouse, one stroke after another; the text of #prediction once the page
    has the answer to the last stroke."""
    box = page.locator("#drawing").bounding_box()
    scale = box["width"] / 280
    for number, points in enumerate(strokes):
        x, y = points[0]
        page.mouse.move(box["x"] + x * scale, box["y"] + y * scale)
        page.mouse.down()
        for x, y in points[1:]:
            page.mouse.move(box["x"] + x * scale, box["y"] + y * scale, steps=2)
        if number < len(strokes) - 1:
            page.mouse.up()
            continue
        page.mouse.up()
    answered(page)
    return page.locator("#prediction").inner_text()


def answered(page) -> None:
    """Wait until the page shows the answer to the last picture it asked about (an earlier
    stroke's answer may come later; the page drops it)."""
    page.wait_for_function("document.body.dataset.asked === document.body.dataset.answered")


def test_digits_drawn_with_the_mouse_are_read_and_every_layer_is_shown(page, server):
    read = {}
    for digit, strokes in DIGITS.items():
        page.click("#clear")
        text = draw(page, strokes)
        read[digit] = text.split()[0]
        # Then the ten probabilities, as a bar chart: one row per class, in percent.
        assert len(page.locator("#prediction li").all()) == 10
        assert len(re.findall(r"\d+\.\d %", text)) == 10
    assert read == {digit: digit for digit in DIGITS}, read
    # The input as the model sees it, C1, S2, C3, S4, C5, F6 and the output; C1's and C3's
    # kernels.
    captions = page.locator("#layers figcaption").all_inner_texts()
    assert len(page.locator("#layers img").all()) == 10
    shown = ("input 32x32", "C1 6@28x28", "S2 6@14x14", "C3 16@10x10", "S4 16@5x5", "C5 120",
             "F6 84", "output", "C1 kernels 6x1x5x5", "C3 kernels 16x6x5x5")  # fmt: skip
    for name in shown:
        assert any(caption.startswith(name) for caption in captions), (name, captions)
    assert all(url.startswith(server) or url.startswith("data:") for url in page.requests)


def test_an_empty_canvas_and_a_file_that_is_no_image_are_messages(page, tmp_path):
    page.click("#clear")
    with page.expect_response("**/api/predict") as answer:
        page.click("#predict")
    assert answer.value.status == 422
    answered(page)
    assert "no ink found" in page.locator("#message").inner_text()
    notes = tmp_path / "notes.png"
    notes.write_text("not a picture")
    with page.expect_response("**/api/predict") as answer:
        page.set_input_files("#upload", str(notes))
    assert answer.value.status == 422
    answered(page)
    assert "not an image" in page.locator("#message").inner_text()
    # The server goes on: a photo next.
    digit = tmp_path / "seven.jpg"
    photo = Image.new("L", (400, 300), 190)  # grey paper, dark ink, off-centre
    ImageDraw.Draw(photo).line([(150, 60), (290, 60), (205, 260)], fill=40, width=26)
    photo.save(digit)
    with page.expect_response("**/api/predict") as answer:
        page.set_input_files("#upload", str(digit))
    assert answer.value.status == 200
    answered(page)
    assert page.locator("#prediction").inner_text().startswith("7")
    assert page.locator("#message").inner_text() == ""


def test_a_port_in_use_is_one_line(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        result = run_in_process("demo.py", f"port={port}")
    assert_one_line(result, f"port={port}", "choose another port")


def drawn_like_the_page(strokes, brush: int) -> Image.Image:
    """The strokes as the page's canvas draws them: black, round caps and joins, on white."""
    canvas = Image.new("L", (280, 280), 255)
    pen = ImageDraw.Draw(canvas)
    for points in strokes:
        pen.line(points, fill=0, width=brush, joint="curve")
        for x, y in (points[0], points[-1]):
            pen.ellipse((x - brush / 2, y - brush / 2, x + brush / 2, y + brush / 2), fill=0)
    return canvas


@pytest.mark.slow
@pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason="no real MNIST in ../shared/data/MNIST")
def test_the_default_brush_draws_strokes_as_wide_as_mnists(real_data_dir, tmp_path):
    """After the MNIST geometry, the ten digits drawn at the page's brush have as much ink
    (pixels over half intensity) as MNIST's test digits of their classes on average: within
    5 % in all and a quarter each, and closer than at a brush 4 px thinner or thicker."""
    from torchvision.datasets import MNIST

    script = (REPO / "src" / "lenetlab" / "demo" / "static" / "demo.js").read_text()
    brush = int(re.search(r"const BRUSH = (\d+);", script).group(1))
    test = MNIST(str(real_data_dir), train=False)
    mnist = {d: float((test.data[test.targets == int(d)] > 127).sum((1, 2)).float().mean())
             for d in DIGITS}  # fmt: skip

    def ink(width: int) -> dict[str, int]:
        for digit, strokes in DIGITS.items():
            drawn_like_the_page(strokes, width).save(tmp_path / f"{digit}.png")
        return {d: int((photo_to_input(tmp_path / f"{d}.png") > 127).sum()) for d in DIGITS}

    def ratio(width: int) -> float:
        return sum(ink(width).values()) / sum(mnist.values())

    drawn = ink(brush)
    assert all(abs(drawn[d] - mnist[d]) < 0.25 * mnist[d] for d in DIGITS), (drawn, mnist)
    assert abs(ratio(brush) - 1) < 0.05
    assert abs(ratio(brush) - 1) < min(abs(ratio(brush - 4) - 1), abs(ratio(brush + 4) - 1))


def test_the_1998_network_shows_its_prototypes_and_its_distances_to_them(tmp_path):
    """What the page gets for the shipped 1998 network (its server's functions, no browser)."""
    from lenetlab.demo.app import describe_model, read_digit
    from lenetlab.records.loading import load_trained_model

    model, _ = load_trained_model("pretrained:lenet5_1998")
    learnt = [
        picture["name"] for picture in describe_model(model, list("0123456789"), "")["learnt"]
    ]
    assert learnt == ["C1 kernels 6x1x5x5", "C3 kernels 16x6x5x5", "RBF prototypes 7x12"]
    drawn_like_the_page(DIGITS["4"], 22).save(tmp_path / "4.png")
    result = read_digit(model, "mnist", list("0123456789"), (tmp_path / "4.png").read_bytes())
    assert result["class"] == "4"
    assert result["layers"][-1]["name"].startswith("output: distances to the 10 RBF prototypes")
    assert abs(sum(result["probabilities"]) - 1) < 1e-3
