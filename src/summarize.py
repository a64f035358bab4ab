"""Print and rewrite a multirun's summary table (summary.csv, summary.md), best job first.

    python src/summarize.py sweep_dir=outputs/multirun/2026-11-23_18-00-00
    python src/summarize.py sweep_dir=outputs/multirun/2026-11-23_18-00-00 metric=test/acc

Sweeps write the table themselves as their jobs end; this rebuilds it, e.g. after more jobs were
added to the directory or while a sweep on a cluster is still running (conf/summarize.yaml).
"""

from lenetlab.cli.launch import launch

if __name__ == "__main__":
    launch("lenetlab.commands.summarize", config_name="summarize")
