"""How fast a mistake is answered: every entry point with a usage error, against a Python that
only imports Lightning (what each command paid before its config was checked first).

    python bench/usage_errors.py [--repeats 5]

Prints the median wall time of each command's one-line error and its ratio to the baseline, both
measured in this run (docs/benchmarks.md records them with the CPU).
"""

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from lenetlab.training.devices import cpu_model

REPO = Path(__file__).resolve().parents[1]
MISTAKES = {  # one usage error per entry point
    "train.py": ["data.batch_size=0"],
    "eval.py": [],  # no ckpt_path
    "predict.py": ["ckpt_path=missing.ckpt", "inputs=[x.png]"],
    "export.py": ["+nosuchkey=1", "ckpt_path=missing.ckpt"],
    "summarize.py": ["sweep_dir=nowhere"],
    "demo.py": ["port=0"],
}
BASELINE = [sys.executable, "-c", "import lightning"]


def seconds(command: list[str], repeats: int, expect: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        done = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
        times.append(time.perf_counter() - started)
        assert done.returncode == expect, done.stderr
    return statistics.median(times)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    print(f"{cpu_model()}; median of {args.repeats}")
    baseline = seconds(BASELINE, args.repeats, expect=0)
    print(f"baseline, python -c 'import lightning': {baseline:.2f} s")
    results = {}
    for script, mistake in MISTAKES.items():
        command = [sys.executable, f"src/{script}", *mistake]
        results[script] = seconds(command, args.repeats, expect=2)
        shown = " ".join([f"src/{script}", *mistake])
        print(f"{shown:55s} {results[script]:.2f} s  x{results[script] / baseline:.2f}")
    return results


if __name__ == "__main__":
    main()
