"""Continue an interrupted run in its own directory: ``python src/train.py resume=<run dir>``.

The command line is rewritten before Hydra reads it, into the run's own saved config
(<run dir>/.hydra/config.yaml) in the run's own directory, without writing over that config, plus
any further overrides (``resume=<dir> trainer.max_epochs=20``). train.py then fits from
<run dir>/checkpoints/last.ckpt: epochs, optimizer, scheduler, best checkpoint and TensorBoard
steps all carry on.
"""

from pathlib import Path

from lenetlab.errors import UsageError


def resume_command_line(argv: list[str]) -> list[str]:
    """``[script, ..., resume=<dir>, ...]`` -> the arguments that rerun that run from its config."""
    resumes = [arg for arg in argv[1:] if arg.startswith("resume=")]
    if not resumes:
        return argv
    run_dir = Path(resumes[-1].split("=", 1)[1]).expanduser().resolve()
    if not (run_dir / ".hydra" / "config.yaml").is_file():
        raise UsageError(f"resume={run_dir}: not a run directory (it has no .hydra/config.yaml)")
    if not last_checkpoint(run_dir).is_file():
        raise UsageError(f"resume={run_dir}: nothing to resume from (no checkpoints/last.ckpt)")
    others = [arg for arg in argv[1:] if not arg.startswith("resume=")]
    return [
        argv[0],
        f"--config-path={run_dir / '.hydra'}",
        "--config-name=config",
        f"hydra.run.dir={run_dir}",
        "hydra.output_subdir=null",  # keep the run's own .hydra/ as it was
        f"++resume={run_dir}",
        *others,
    ]


def last_checkpoint(run_dir: Path) -> Path:
    return Path(run_dir) / "checkpoints" / "last.ckpt"
