"""The one script to run on a CUDA machine: the text stage (bf16), the video stage (in process and under
`accelerate launch` with 1 GPU) and the benchmark with fractional GPUs under Ray, each timed, then a short table.

    python benchmarks/gpu_check.py                   # on a GPU machine; on CPU the GPU parts say they are skipped

On CPU it runs the same stages on CPU (so CI exercises the script) and prints one line per skipped GPU part.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run(command: list[str], **kwargs) -> float:
    """Run a command to completion (its output shown only when it fails); returns its wall seconds."""
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO, **kwargs)
    if result.returncode != 0:
        sys.exit(f"failed: {' '.join(command)}\n{result.stdout[-2000:]}{result.stderr[-3000:]}")
    return time.perf_counter() - start


def video_stage(data_dir, out, method, iterations, launch=()) -> dict:
    """One video-stage run; its per-iteration time and top-1 from metrics.json."""
    command = [*launch, "train_video.py"] if launch else [sys.executable, "train_video.py"]
    seconds = run([*command, "--data_dir", str(data_dir), "--output_dir", str(out), "--method", method,
                   "--num_iterations", str(iterations), "--val_every", str(iterations), "--report_to", "none",
                   *(["--pseudo_labels", str(data_dir / "labels.txt")] if method == "lagtran" else [])])  # fmt: skip
    metrics = json.loads((out / "metrics.json").read_text())
    return {"ms/iteration": round(metrics["train_ms_per_iteration"], 2), "wall s": round(seconds, 1),
            "target top-1": round(metrics["target_val"]["top1"], 2)}  # fmt: skip


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="tiny", help="synthetic scale of the check's data (default tiny)")
    parser.add_argument("--iterations", type=int, default=200, help="video-stage iterations per run (default 200)")
    parser.add_argument("--text_model", default=None, help="text checkpoint (default: the stage's default MiniLM)")
    parser.add_argument("--text_steps", type=int, default=20, help="text-stage training steps (default 20)")
    parser.add_argument("--output_dir", default=None, help="keep the runs here (default: a temporary folder)")
    args = parser.parse_args(argv)

    import torch

    from ego2exo_hf.data import load_ego2exo, write_pseudo_labels, write_synthetic

    gpu = torch.cuda.is_available()
    device = torch.cuda.get_device_name(0) if gpu else "CPU only"
    print(f"device: {device}; torch {torch.__version__}")
    if not gpu:
        print("no CUDA device: skipping the GPU parts (bf16 text stage, accelerate launch on 1 GPU, fractional GPUs "
              "under Ray); running the stages on CPU")  # fmt: skip
    root = Path(args.output_dir or tempfile.mkdtemp(prefix="gpu_check-"))
    data_dir = write_synthetic(root / "data", scale=args.scale, seed=0)
    ego = load_ego2exo(data_dir, "text")["ego_train"]
    write_pseudo_labels(data_dir / "labels.txt", ego["segment_id"], ego["label"])  # true labels: a timing check
    rows = {}

    text = [sys.executable, "train_text.py", "--data_dir", str(data_dir), "--source", "exo", "--target", "ego",
            "--output_dir", str(root / "text"), "--max_steps", str(args.text_steps), "--report_to", "none",
            "--disable_tqdm", "true", *(["--model_name_or_path", args.text_model] if args.text_model else []),
            *(["--bf16", "true"] if gpu and torch.cuda.is_bf16_supported() else [])]  # fmt: skip
    seconds = run(text)
    rows["text stage" + (" (bf16)" if "--bf16" in text else "")] = {
        "wall s": round(seconds, 1), "steps/s": round(args.text_steps / max(seconds, 1e-9), 2)}  # fmt: skip

    for method in ("lagtran", "cdan"):
        rows[f"video {method}"] = video_stage(data_dir, root / f"video_{method}", method, args.iterations)
    if gpu:
        launch = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", "1", "--mixed_precision",
                  "bf16" if torch.cuda.is_bf16_supported() else "fp16"]  # fmt: skip
        rows["video lagtran, accelerate launch 1 GPU"] = video_stage(data_dir, root / "video_launch", "lagtran",
                                                                     args.iterations, launch)  # fmt: skip
        start = time.perf_counter()
        run([sys.executable, "-m", "ego2exo_hf.cli", "benchmark", "--data_dir", str(data_dir), "--output_dir",
             str(root / "bench"), "--methods", "source_only", "dann", "--directions", "exo->ego", "--seeds", "0", "1",
             "--num_iterations", str(args.iterations), "--val_every", str(args.iterations), "--executor", "ray",
             "--jobs", "4", "--gpus_per_run", "0.25"])  # fmt: skip
        rows["benchmark 4 runs, Ray, 0.25 GPU each"] = {"wall s": round(time.perf_counter() - start, 1)}
    else:
        print("skipped: accelerate launch on 1 GPU (no CUDA device)")
        print("skipped: benchmark under Ray with fractional GPUs (no CUDA device)")

    print(f"\n| check ({device}) | figures |\n|---|---|")
    for name, figures in rows.items():
        print(f"| {name} | " + ", ".join(f"{k} {v}" for k, v in figures.items()) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
