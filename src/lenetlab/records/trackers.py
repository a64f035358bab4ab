"""Can the run's trackers take it? Asked before training starts (cli/checks.py), so that a
missing package or a tracking server that is down is one line, exit 2, within seconds, and no
run folder is left - not a traceback, or a retry loop, in epoch 3. No torch, no tracker imported.
"""

import importlib.util
import netrc
import os
import urllib.error
import urllib.request
from urllib.parse import urlparse

from omegaconf import DictConfig

from lenetlab.errors import UsageError

MLFLOW = "lenetlab.records.mlflow_logger.MLflowLogger"
WANDB = "lenetlab.records.wandb_logger.WandbLogger"
PACKAGES = {MLFLOW: "mlflow", WANDB: "wandb"}  # the package, and lenetlab's extra that has it
WANDB_CLOUD = "https://api.wandb.ai"
TIMEOUT_S = 3


def check_trackers(cfg: DictConfig) -> None:
    for name, node in (cfg.get("logger") or {}).items():
        target = node.get("_target_") if isinstance(node, DictConfig) else None
        if target not in PACKAGES:
            continue
        package = PACKAGES[target]
        if importlib.util.find_spec(package) is None:
            raise UsageError(
                f"logger={name} needs the {package} package, which is not installed: "
                f"pip install 'lenetlab[{package}]' (or leave {name} out of logger=)"
            )
        if target == MLFLOW:
            check_mlflow_server(node.tracking_uri, f"logger.{name}.tracking_uri")
        elif wandb_mode(node.get("mode")) == "online":
            check_reachable(wandb_base_url(), "W&B", "WANDB_MODE=offline (wandb sync later)")


def check_mlflow_server(uri: str, key: str) -> None:
    if urlparse(uri).scheme in ("http", "https"):
        local = "sqlite:///outputs/mlflow.db"
        check_reachable(uri.rstrip("/") + "/health", "the MLflow server", f"{key}={local}")


def check_reachable(url: str, what: str, instead: str) -> None:
    """Any answer will do (an error page is a server that is up); no answer in a few seconds is
    one line."""
    try:
        urllib.request.urlopen(url, timeout=TIMEOUT_S).close()
    except urllib.error.HTTPError:
        return
    except (OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        raise UsageError(
            f"cannot reach {what} at {url} ({reason}): start it, check the address, "
            f"or track locally with {instead}"
        ) from None


def wandb_mode(mode: str | None) -> str:
    """W&B's mode: as set (``logger.wandb.mode``, else ``WANDB_MODE``); else online when the user
    has logged in (``wandb login``, ``WANDB_API_KEY``), offline otherwise: no account needed."""
    mode = mode or os.environ.get("WANDB_MODE")
    if mode:
        return "offline" if mode == "dryrun" else mode
    return "online" if wandb_logged_in() else "offline"


def wandb_logged_in() -> bool:
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        hosts = netrc.netrc().hosts  # where `wandb login` keeps the key
    except (OSError, netrc.NetrcParseError):
        return False
    return urlparse(wandb_base_url()).hostname in hosts


def wandb_base_url() -> str:
    return os.environ.get("WANDB_BASE_URL", WANDB_CLOUD)
