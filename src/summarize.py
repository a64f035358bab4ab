"""Print and rewrite a multirun's summary table (summary.csv, summary.md), best job first.

    python src/summarize.py outputs/multirun/2026-11-23_18-00-00
    python src/summarize.py outputs/multirun/2026-11-23_18-00-00 --metric test/acc

Sweeps write the table themselves as their jobs end; this rebuilds it, e.g. after more jobs were
added to the directory or while a sweep on a cluster is still running.
"""

import argparse
import sys
from pathlib import Path

from omegaconf import OmegaConf

from lenetlab.models.module import VAL_ACC_BEST
from lenetlab.runs.sweep_summary import markdown, write_summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep_dir", type=Path, help="a multirun directory (hydra.sweep.dir)")
    parser.add_argument(
        "--metric", help="sort by this metric (default: the sweep's optimized_metric)"
    )
    parser.add_argument("--mode", choices=["max", "min"], default="max")
    args = parser.parse_args(argv)

    configs = sorted(args.sweep_dir.glob("*/.hydra/config.yaml"))
    if not configs:
        print(
            f"error: no job directories (*/.hydra/config.yaml) in {args.sweep_dir}: "
            "pass the folder a multirun wrote, e.g. outputs/multirun/<date>_<time>",
            file=sys.stderr,
        )
        return 2
    metric = args.metric or OmegaConf.load(configs[0]).get("optimized_metric", VAL_ACC_BEST)
    jobs = write_summary(args.sweep_dir, metric, args.mode)
    print(markdown(jobs, metric))
    print(f"\nwritten: {args.sweep_dir / 'summary.csv'}, {args.sweep_dir / 'summary.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
