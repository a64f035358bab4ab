"""One table per multirun: summary.csv and summary.md in the sweep directory, best job first.

When jobs differ in ``seed``, summary.md also gets a second table: one row per setting (the
overrides other than ``seed=``), with the number of seeds and the mean, spread and range of the
metric and of test/acc over them, as a figure over seeds should be reported; the same rows go to
summary_over_seeds.csv.

A Hydra callback keeps the table current: every job, as it ends (in whichever process or cluster
node ran it), records its status in ``<job dir>/job.json`` and rewrites the table, so failed jobs
are in it with their error line even when the sweep itself stops on them. At the end of the
multirun the table is printed; ``python src/summarize.py sweep_dir=<sweep dir>`` rebuilds it.
"""

import csv
import fcntl
import io
import json
import logging
import math
import statistics
import time
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import JobStatus
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import OmegaConf

from lenetlab.choices import TEST_ACC, VAL_ACC_BEST
from lenetlab.records.files import write_json_atomic, write_text_atomic
from lenetlab.run_folder import EPOCHS, JOB_FILE, METRICS_FILE, TAGS, WALL_TIME

log = logging.getLogger(__name__)

PRUNED_FILE = "pruned.json"  # in a run folder: the search's pruner stopped this trial early
COLUMNS = ("job", "overrides", TAGS, "status", "{metric}", TEST_ACC, EPOCHS, WALL_TIME, "error")


class SweepSummary(Callback):
    def __init__(self, metric: str = VAL_ACC_BEST, mode: str = "max"):
        if mode not in ("max", "min"):
            raise ValueError(f"SweepSummary mode must be 'max' or 'min', got {mode!r}")
        self.metric = metric
        self.mode = mode
        self.job_started = time.monotonic()

    def on_job_start(self, config, **kwargs) -> None:
        self.job_started = time.monotonic()

    def on_job_end(self, config, job_return, **kwargs) -> None:
        hydra_cfg = HydraConfig.get()
        if hydra_cfg.mode != RunMode.MULTIRUN:
            return
        error = None
        if job_return.status == JobStatus.FAILED:
            exception = job_return._return_value
            error = f"{type(exception).__name__}: {exception}".splitlines()[0]
        run_dir = Path(hydra_cfg.runtime.output_dir)
        if read_json(run_dir / JOB_FILE).get("status") in ("completed", "pruned"):
            # a job that finished before, kept as it was by resume=<sweep dir>
            write_summary(Path(hydra_cfg.sweep.dir), self.metric, self.mode)
            return
        status = "completed" if job_return.status == JobStatus.COMPLETED else "failed"
        if status == "completed" and (run_dir / PRUNED_FILE).is_file():
            status = "pruned"  # an Optuna trial stopped early by the pruner (search/pruning.py)
        record = {
            "job": hydra_cfg.job.num,
            "overrides": list(job_return.overrides or []),
            "status": status,
            "error": error,
            WALL_TIME: round(time.monotonic() - self.job_started, 2),
        }
        write_json_atomic(run_dir / JOB_FILE, record)
        write_summary(Path(hydra_cfg.sweep.dir), self.metric, self.mode)

    def on_multirun_end(self, config, **kwargs) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        jobs = write_summary(sweep_dir, self.metric, self.mode)
        log.info("sweep summary (%s):\n%s", sweep_dir / "summary.md", markdown(jobs, self.metric))


def write_summary(sweep_dir: Path, metric: str, mode: str = "max") -> list[dict]:
    """Rewrite summary.csv and summary.md from the job directories; returns the sorted rows."""
    # Parallel jobs finish together: one writer at a time, each reading every job's files.
    with open(sweep_dir / ".summary.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        jobs = sorted_jobs(read_jobs(sweep_dir, metric), metric, mode)
        write_text_atomic(sweep_dir / "summary.csv", to_csv(jobs, job_columns(metric)))
        write_text_atomic(sweep_dir / "summary.md", markdown(jobs, metric) + "\n")
        over_seeds = seed_means(jobs, metric)
        if over_seeds:
            write_text_atomic(
                sweep_dir / "summary_over_seeds.csv", to_csv(over_seeds, list(over_seeds[0]))
            )
    return jobs


def read_jobs(sweep_dir: Path, metric: str) -> list[dict]:
    """One row per job directory (a folder with a .hydra/ inside) under ``sweep_dir``."""
    jobs = []
    for job_dir in sorted(p.parent.parent for p in sweep_dir.glob("*/.hydra/config.yaml")):
        record = read_json(job_dir / JOB_FILE)
        metrics = read_json(job_dir / METRICS_FILE)
        if not record:  # still running, or killed before Hydra could record it
            overrides = OmegaConf.to_container(OmegaConf.load(job_dir / ".hydra/overrides.yaml"))
            number = job_dir.name.split("_", 1)[0]
            record = {
                "job": int(number) if number.isdigit() else number,
                "overrides": overrides or [],
                "status": "completed" if metrics else "incomplete",
            }
        jobs.append(
            {
                "job": record["job"],
                "overrides": " ".join(record["overrides"]),
                TAGS: " ".join(metrics.get(TAGS) or []),
                "status": record["status"],
                metric: metrics.get(metric),
                TEST_ACC: metrics.get(TEST_ACC),
                EPOCHS: metrics.get(EPOCHS),
                WALL_TIME: record.get(WALL_TIME, metrics.get(WALL_TIME)),
                "error": record.get("error"),
            }
        )
    return jobs


def sorted_jobs(jobs: list[dict], metric: str, mode: str) -> list[dict]:
    """Best ``metric`` first; jobs without it (failed, incomplete, NaN) last, by job number."""
    sign = -1.0 if mode == "max" else 1.0

    def key(job):
        value = job[metric]
        missing = value is None or math.isnan(value)
        return (missing, 0.0 if missing else sign * value, str(job["job"]).zfill(6))

    return sorted(jobs, key=key)


def seed_means(jobs: list[dict], metric: str) -> list[dict]:
    """One row per setting (the overrides other than seed=...) of jobs that varied the seed.

    Empty when no job set a seed. Failed jobs and missing or NaN values are left out of the
    statistics; ``seeds`` counts the jobs whose test/acc went in.
    """
    if not any(is_seed(o) for job in jobs for o in job["overrides"].split()):
        return []
    groups: dict[str, list[dict]] = {}
    for job in sorted(jobs, key=lambda j: str(j["job"]).zfill(6)):
        setting = " ".join(o for o in job["overrides"].split() if not is_seed(o))
        groups.setdefault(setting, []).append(job)
    rows = []
    for setting, members in groups.items():
        row = {"setting": setting, "seeds": len(finite(members, TEST_ACC))}
        for key in (metric, TEST_ACC):
            values = finite(members, key)
            row[f"{key} mean"] = statistics.fmean(values) if values else None
            row[f"{key} std"] = statistics.stdev(values) if len(values) > 1 else None
            row[f"{key} min"] = min(values, default=None)
            row[f"{key} max"] = max(values, default=None)
        rows.append(row)
    return rows


def is_seed(override: str) -> bool:
    return override.split("=", 1)[0].lstrip("+~") == "seed"


def finite(jobs: list[dict], key: str) -> list[float]:
    return [j[key] for j in jobs if j[key] is not None and math.isfinite(j[key])]


def read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def to_csv(rows: list[dict], columns: list[str]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def markdown(jobs: list[dict], metric: str) -> str:
    text = table(jobs, job_columns(metric))
    over_seeds = seed_means(jobs, metric)
    if over_seeds:
        text += "\n\nOver seeds (std: sample standard deviation):\n\n"
        text += table(over_seeds, list(over_seeds[0]))
    return text


def job_columns(metric: str) -> list[str]:
    return [c.format(metric=metric) for c in COLUMNS]


def table(rows: list[dict], columns: list[str]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = [format_cell(row[c]) for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def format_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return str(round(value, 4))
    return str(value).replace("|", "\\|")
