"""Start-up time of every command: wall time of `--help` and of an argument error, median of 5 runs each, against
`python -c pass` measured in the same run.

    python benchmarks/startup.py [--repeats 5]

Prints a Markdown table and, on the last line, one JSON object.
"""

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EGO2EXO = shutil.which("ego2exo") or str(Path(sys.executable).parent / "ego2exo")
COMMANDS = {
    "python -c pass (baseline)": [sys.executable, "-c", "pass"],
    "python -c 'import ego2exo_hf'": [sys.executable, "-c", "import ego2exo_hf"],
    "ego2exo --help": [EGO2EXO, "--help"],
    **{f"ego2exo {name} --help": [EGO2EXO, name, "--help"] for name in (
        "synth", "build", "export", "download", "verify", "pseudo-label", "predict", "evaluate-pseudo-labels",
        "demo", "benchmark", "train-video", "train-text")},
    "ego2exo synth --scale huge (error)": [EGO2EXO, "synth", "--output_dir", "x", "--scale", "huge"],
    "python train_video.py --help": [sys.executable, str(ROOT / "train_video.py"), "--help"],
    "python train_video.py --method sourceonly (error)": [
        sys.executable, str(ROOT / "train_video.py"), "--data_dir", "d", "--output_dir", "o", "--method", "sourceonly"],
    "python train_text.py --help": [sys.executable, str(ROOT / "train_text.py"), "--help"],
    "python train_text.py --source top (error)": [
        sys.executable, str(ROOT / "train_text.py"), "--data_dir", "d", "--output_dir", "o", "--source", "top"],
}  # fmt: skip


def wall_seconds(command, repeats: int, cwd=ROOT) -> float:
    """Median wall time of `repeats` runs of `command` (output discarded)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=cwd)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5, help="runs per command (median reported)")
    args = parser.parse_args()
    results = {name: round(wall_seconds(command, args.repeats), 3) for name, command in COMMANDS.items()}
    baseline = results["python -c pass (baseline)"]
    print("| command | median wall (s) | minus `python -c pass` (s) |\n|---|---|---|")
    for name, seconds in results.items():
        print(f"| `{name}` | {seconds:.2f} | {seconds - baseline:.2f} |")
    print(json.dumps({"benchmark": "startup", "repeats": args.repeats, "seconds": results}))


if __name__ == "__main__":
    main()
