"""docs/mlflow.png: the MLflow UI showing a lenetlab sweep, as docs/guide.md shows it.

    python scripts/mlflow_screenshot.py [docs/mlflow.png]

Runs a three-job sweep on MNIST (debug=limit, 5 epochs: seconds a job) into a fresh local
store, opens `mlflow ui` on it, and takes the picture with headless Chromium (/usr/bin/chromium,
through Playwright): the runs' validation accuracy by step, one line a job.
"""

import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

from lenetlab.training.ranks import free_port

REPO = Path(__file__).resolve().parents[1]
SWEEP = [
    "-m",
    "model=lenet_sigmoid,lenet_tanh,lenet_relu",
    "logger=mlflow",
    "debug=limit",
    "trainer.max_epochs=5",
]
PICTURE_SECTIONS = ["feature_maps/0", "feature_maps/1", "kernels", "test/acc_class"]
# as tests/conftest.py's CHROMIUM_FLAGS
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


def main(output: Path) -> None:
    with tempfile.TemporaryDirectory() as root:
        store = f"sqlite:///{root}/mlflow.db"
        quiet = ["trainer.enable_progress_bar=false", f"paths.log_dir={root}"]
        subprocess.run([sys.executable, "src/train.py", *SWEEP, *quiet], cwd=REPO, check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        port = free_port()
        mlflow = Path(sys.executable).parent / "mlflow"
        ui = subprocess.Popen([str(mlflow), "ui", "--backend-store-uri", store, "--host",
                               "127.0.0.1", "--port", str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}"
            for _ in range(240):
                try:
                    urllib.request.urlopen(f"{url}/health", timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.5)
            screenshot(f"{url}/#/experiments/1/runs", output)
        finally:
            ui.terminate()
            ui.wait(timeout=30)


def screenshot(url: str, output: Path) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url, wait_until="load")
        page.get_by_text("matching runs").wait_for(timeout=60_000)
        page.get_by_text("Model training").click()  # MLflow 3 opens on its GenAI view
        page.locator("label:has(input[value=CHART])").click()
        page.get_by_text("Model metrics", exact=True).wait_for()
        for section in PICTURE_SECTIONS + ["test", "train"]:  # the val section on top
            page.get_by_text(section, exact=True).last.click()  # not the breadcrumb
        close = page.get_by_label("Close", exact=True)  # the assistant's panel, when it opens
        if close.count() and close.first.is_visible():
            close.first.click()
        page.wait_for_timeout(3000)  # the charts draw
        page.screenshot(path=str(output))
        browser.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs" / "mlflow.png")
