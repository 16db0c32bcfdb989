"""Stage runs forked by a `StageLauncher` against fresh `python -m <stage>` processes (what the benchmark's local
pool and the demo used before): wall time per run, the stage's own training time, and whether both launches wrote the
same results (metrics apart from timings, and the model or pseudo-label bytes).

    python benchmarks/stage_launch.py [--runs 3] [--num_iterations 300] [--text_steps 20]

The video stage runs with one thread (as in the benchmark and the demo), the text stage (default text model) with
the default threads. Prints a Markdown table and, on the last line, one JSON object.
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ego2exo_hf.data.synthetic import write_synthetic  # noqa: E402
from ego2exo_hf.launcher import StageLauncher  # noqa: E402

TIMINGS = ("train_runtime", "train_ms_per_iteration", "train_steps_per_second", "train_samples_per_second")


def stage_runs(args, data_dir, out) -> dict:
    """stage -> (argv per run, extra environment, the files that must match)."""
    video = [["--data_dir", data_dir, "--output_dir", f"{out}/video{run}", "--method", "source_only", "--seed",
              str(run), "--num_iterations", str(args.num_iterations), "--val_every", str(args.num_iterations),
              "--report_to", "none"] for run in range(args.runs)]  # fmt: skip
    text = [["--data_dir", data_dir, "--output_dir", f"{out}/text{run}", "--source", "exo", "--target", "ego",
             "--seed", str(run), "--max_steps", str(args.text_steps), "--report_to", "none"]
            for run in range(args.runs)]  # fmt: skip
    return {"train_video": (video, {"OMP_NUM_THREADS": "1"}, ["model.safetensors"]),
            "train_text": (text, {}, ["pseudo_labels/ego2exo_exo_ego.txt"])}  # fmt: skip


def outcome(output_dir, files) -> tuple[dict, float, str]:
    """(metrics without timings, the stage's training seconds, a digest of `files`)."""
    metrics = json.loads((Path(output_dir) / "metrics.json").read_text())
    if "train" in metrics:  # the text stage: the Trainer's figures
        seconds = metrics["train"]["train_runtime"]
        metrics["train"] = {k: v for k, v in metrics["train"].items() if k not in TIMINGS}
    else:
        seconds = metrics["train_ms_per_iteration"] * metrics["num_iterations"] / 1000
    digest = hashlib.sha256(b"".join((Path(output_dir) / name).read_bytes() for name in files)).hexdigest()
    return {k: v for k, v in metrics.items() if k not in TIMINGS}, seconds, digest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each stage per launch (default 3)")
    parser.add_argument("--num_iterations", type=int, default=300, help="video stage iterations (default 300)")
    parser.add_argument("--text_steps", type=int, default=20, help="text stage optimizer steps (default 20)")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="stage-launch-"))
    data = str(write_synthetic(root / "data", scale="tiny", seed=0))
    env = dict(os.environ, HF_DATASETS_DISABLE_PROGRESS_BARS="1")
    rows, report = [], {}
    for stage, (_, extra, files) in stage_runs(args, data, root).items():
        figures = {}
        for launch in ("fresh", "forked"):
            runs = stage_runs(args, data, root / launch)[stage][0]
            start = time.perf_counter()
            if launch == "fresh":
                for argv in runs:
                    subprocess.run([sys.executable, "-m", stage, *argv], cwd=ROOT, env=dict(env, **extra), check=True,
                                   capture_output=True)  # fmt: skip
            else:
                with open(os.devnull, "w") as quiet, StageLauncher((stage,), env=env) as launcher:
                    for argv in runs:
                        process = launcher.start(stage, argv, stdout=quiet.fileno(), stderr=quiet.fileno(), env=extra)
                        assert process.wait() == 0, f"{stage} {argv} failed"
            wall = (time.perf_counter() - start) / len(runs)
            results = [outcome(argv[3], files) for argv in runs]
            figures[launch] = {"wall_s_per_run": wall, "train_s_per_run": sum(r[1] for r in results) / len(runs),
                               "results": [(r[0], r[2]) for r in results]}  # fmt: skip
        same = figures["fresh"].pop("results") == figures["forked"].pop("results")
        base = figures["fresh"]["wall_s_per_run"]
        for launch, figure in figures.items():
            rows.append(f"| {stage} | {launch} | {figure['wall_s_per_run']:.2f} | {figure['train_s_per_run']:.2f} | "
                        f"{figure['wall_s_per_run'] / base:.2f} | {'yes' if same else 'NO'} |")  # fmt: skip
        report[stage] = {**figures, "same_results": same}
    print(f"| stage | launch | wall s per run ({args.runs} runs) | training s per run | ratio | same results |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))
    print(json.dumps({"runs": args.runs, "num_iterations": args.num_iterations, "text_steps": args.text_steps,
                      **report}))  # fmt: skip


if __name__ == "__main__":
    main()
