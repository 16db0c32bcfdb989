"""Wall time of benchmark cells: `cells.run_cell` (a fork of a server that imported the video stage once) against
`python -m train_video` in a fresh interpreter per cell (the launch it replaced): the same cells one after another,
checked to give the same metrics.

    python benchmarks/cell_launch.py [--scale tiny] [--cells 4] [--num_iterations 200]

Prints a Markdown table and, on the last line, one JSON object.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ego2exo_hf.benchmark import BenchmarkSettings, plan_runs  # noqa: E402
from ego2exo_hf.cells import run_cell  # noqa: E402
from ego2exo_hf.data.synthetic import write_synthetic  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="tiny", help="synthetic scale (default tiny)")
    parser.add_argument("--cells", type=int, default=4, help="cells (seeds of source_only) per launch (default 4)")
    parser.add_argument("--num_iterations", type=int, default=200, help="iterations per cell (default 200)")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="cell-launch-"))
    data = write_synthetic(root / "data", scale=args.scale, seed=0)
    figures, results = {}, {}
    for launch in ("fresh interpreter", "forked (run_cell)"):
        settings = BenchmarkSettings(str(data), str(root / launch.split()[0]), methods=["source_only"],
                                     directions=["exo->ego"], seeds=list(range(args.cells)),
                                     num_iterations=args.num_iterations, val_every=args.num_iterations)  # fmt: skip
        runs = plan_runs(settings)
        start = time.perf_counter()
        for run in runs:
            if launch == "fresh interpreter":
                argv = [w for k, v in run["options"].items() for w in (f"--{k}", str(v))]
                env = dict(os.environ, OMP_NUM_THREADS="1", HF_DATASETS_DISABLE_PROGRESS_BARS="1")
                code = subprocess.run([sys.executable, "-m", "train_video", *argv], cwd=ROOT, env=env,
                                      capture_output=True).returncode  # fmt: skip
            else:
                Path(run["log"]).parent.mkdir(parents=True, exist_ok=True)
                code = run_cell(run)["returncode"]
            assert code == 0, f"{launch}: {run['output_dir']} failed"
        figures[launch] = (time.perf_counter() - start) / len(runs)
        results[launch] = [json.loads((Path(run["output_dir"]) / "metrics.json").read_text())["target_val"]
                           for run in runs]  # fmt: skip
    assert results["fresh interpreter"] == results["forked (run_cell)"], "the two launches trained different models"
    base = figures["fresh interpreter"]
    print(f"| launch ({args.cells} cells, {args.scale}, {args.num_iterations} iterations) | s per cell | ratio |")
    print("|---|---|---|")
    for launch, seconds in figures.items():
        print(f"| {launch} | {seconds:.2f} | {seconds / base:.2f} |")
    print(json.dumps({"seconds_per_cell": figures, "cells": args.cells, "scale": args.scale,
                      "num_iterations": args.num_iterations}))  # fmt: skip


if __name__ == "__main__":
    main()
