"""Print and rewrite a multirun's summary table (summary.csv, summary.md), best job first."""

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from lenetlab.choices import VAL_ACC_BEST
from lenetlab.records.sweep_summary import markdown, write_summary
from lenetlab.run_folder import CONFIG_FILE


def main(cfg: DictConfig) -> None:
    sweep_dir = Path(cfg.sweep_dir)
    first_job = sorted(sweep_dir.glob(f"*/{CONFIG_FILE}"))[0]  # checks.py: there is one
    metric = cfg.metric or OmegaConf.load(first_job).get("optimized_metric", VAL_ACC_BEST)
    jobs = write_summary(sweep_dir, metric, cfg.mode)
    print(markdown(jobs, metric))
    print(f"\nwritten: {sweep_dir / 'summary.csv'}, {sweep_dir / 'summary.md'}")
