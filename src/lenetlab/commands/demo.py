"""Serve the drawing page (lenetlab/demo) for a checkpoint until Ctrl-C (usage: src/demo.py)."""

import contextlib
import socket

import uvicorn
from fastapi import FastAPI
from omegaconf import DictConfig

from lenetlab import pretrained
from lenetlab.demo.app import create_app
from lenetlab.errors import UsageError
from lenetlab.records.loading import checkpoint_datamodule, load_trained_model


def check_port_free(host: str, port: int) -> None:
    """One line now rather than uvicorn's traceback once the model is loaded."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:
            probe.bind((host, port))
        except OSError as error:
            raise UsageError(
                f"port={port}: cannot serve on {host}:{port} ({error.strerror}); stop what uses "
                f"it or choose another port, e.g. python src/demo.py port={port + 1}"
            ) from None


def build_app(cfg: DictConfig) -> FastAPI:
    model, data_hparams = load_trained_model(cfg.ckpt_path)
    datamodule = checkpoint_datamodule(data_hparams, None, None)  # framing and class names
    classes = list(datamodule.source.classes)
    return create_app(
        model, datamodule.hparams.dataset, classes, pretrained.describe(cfg.ckpt_path)
    )


def main(cfg: DictConfig) -> None:
    app = build_app(cfg)
    check_port_free(cfg.host, cfg.port)
    print(f"lenetlab demo: http://{cfg.host}:{cfg.port}/  ({pretrained.describe(cfg.ckpt_path)}); "
          "Ctrl-C stops it", flush=True)  # fmt: skip
    # Ctrl-C: uvicorn shuts down, then passes the signal on, which ends the command here.
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.run(app, host=cfg.host, port=cfg.port, access_log=False, log_level="warning")
    print("lenetlab demo: stopped", flush=True)
