"""The drawing page's server: the page itself, the model's kernels, and a digit read.

    GET  /              the page (static/index.html, its script and style beside it)
    GET  /api/model     which model, its classes, C1's and C3's kernels, the RBF prototypes
    POST /api/predict   body: an image (the canvas as PNG, or an uploaded photo) -> the digit,
                        the probabilities and every layer's output as pictures

A drawing goes through predict.py's pipeline (data/photo.py: MNIST's own geometry), so what the
page reads is what ``python src/predict.py inputs=[drawing.png]`` reads. A picture that cannot
be read (not an image, a blank canvas) is a message for the page (422), never a server error.
Nothing comes from the internet: no fonts, scripts or API docs pages (their assets are remote).
"""

import base64
import io
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from PIL import Image, UnidentifiedImageError
from starlette.concurrency import run_in_threadpool

from lenetlab.data.photo import NotADigitPhoto, photo_to_input
from lenetlab.models import inside
from lenetlab.models.module import LeNetModule

STATIC = Path(__file__).parent / "static"
MAX_UPLOAD = 20 * 1024 * 1024  # bytes: a phone photo is a few MB


class Unreadable(ValueError):
    """What the page shows instead of a prediction."""


def picture(name: str, image) -> dict:
    data = base64.b64encode(inside.png(image)).decode()
    return {"name": name, "png": f"data:image/png;base64,{data}"}


def read_digit(model: LeNetModule, dataset: str, classes: list[str], body: bytes) -> dict:
    if not body:
        raise Unreadable("nothing was sent: draw a digit or choose a picture")
    if len(body) > MAX_UPLOAD:
        raise Unreadable(f"the picture is over {MAX_UPLOAD // 2**20} MB")
    try:
        image = photo_to_input(io.BytesIO(body), dataset)
    except NotADigitPhoto as error:
        raise Unreadable(f"{error}: draw a digit, or choose a picture of one") from error
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError) as error:
        raise Unreadable("not an image this page can read (PNG, JPEG, BMP, GIF, WebP)") from error
    outputs = inside.layer_outputs(model, image[None])
    probabilities = outputs["output"][0].softmax(0)
    rbf = inside.prototypes(model) is not None
    return {
        "class": classes[int(probabilities.argmax())],
        "classes": classes,
        "probabilities": [round(float(p), 4) for p in probabilities],
        "layers": [
            picture(inside.label(name, output, rbf), inside.maps_picture(output[0]))
            for name, output in outputs.items()
        ],  # fmt: skip
    }


def describe_model(model: LeNetModule, classes: list[str], name: str) -> dict:
    pictures = [
        picture(f"{layer.upper()} kernels {'x'.join(map(str, w.shape))}", inside.kernels_picture(w))
        for layer, w in inside.kernels(model).items()
    ]
    prototypes = inside.prototypes_picture(model)
    if prototypes is not None:
        pictures.append(picture("RBF prototypes 7x12", prototypes))
    return {"name": name, "classes": classes, "learnt": pictures}


def create_app(model: LeNetModule, dataset: str, classes: list[str], name: str) -> FastAPI:
    app = FastAPI(title="lenetlab", docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    about = describe_model(model, classes, name)

    @app.get("/")
    def page():
        return FileResponse(STATIC / "index.html")

    @app.get("/api/model")
    def model_info():
        return about

    @app.post("/api/predict")
    async def predict(request: Request):
        body = await request.body()
        try:
            return await run_in_threadpool(read_digit, model, dataset, classes, body)
        except Unreadable as error:
            return JSONResponse({"error": str(error)}, status_code=422)

    return app
