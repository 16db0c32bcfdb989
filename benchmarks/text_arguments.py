"""Start-up of the text stage's argument parsing: wall time of `train_text.py --help` and of two argument errors,
median of N runs each, beside the import floors that bound every design (all measured in the same run).

    python benchmarks/text_arguments.py [--repeats 5] [--repo_dir DIR ...]

Times this repository's `train_text.py` (the torch-free first parse, then `CaptionTrainingArguments`), the same
script parsing straight into `CaptionTrainingArguments` (the eager `TrainingArguments` subclass, trl's pattern:
made in a temporary copy without the first parse), and each `--repo_dir`, a copy of the repository such as an
earlier design: `git archive <commit> | tar -x -C /tmp/before`. Prints a Markdown table and, last, one JSON line.
"""

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from startup import wall_seconds

ROOT = Path(__file__).resolve().parents[1]
FLOORS = {
    "python -c pass": "pass",
    "import HfArgumentParser (torch-free parser floor)": "from transformers import HfArgumentParser",
    "import TrainingArguments (subclass floor: imports torch)": "from transformers import TrainingArguments",
}
TORCH_FREE_PARSE = "    parse_args(make_parser(prog), argv, allow_unknown=True)\n"
SCRIPT_RUNS = {
    "--help": ["--help"],
    "--learning_rate -1 (error)": ["--data_dir", "x", "--output_dir", "y", "--learning_rate", "-1"],
    "--max_stpes 3 (unknown option)": ["--data_dir", "x", "--output_dir", "y", "--max_stpes", "3"],
}


def eager_subclass_copy(folder: Path) -> Path:
    """A copy of `train_text.py` and the package in `folder` whose parse goes straight to the TrainingArguments
    subclass (no torch-free first parse)."""
    shutil.copytree(ROOT / "ego2exo_hf", folder / "ego2exo_hf", ignore=shutil.ignore_patterns("__pycache__"))
    script = (ROOT / "train_text.py").read_text()
    if TORCH_FREE_PARSE not in script:
        raise SystemExit("train_text.py has no torch-free first parse to remove")
    (folder / "train_text.py").write_text(script.replace(TORCH_FREE_PARSE, ""))
    return folder


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5, help="runs per command (median reported)")
    parser.add_argument("--repo_dir", action="append", type=Path, help="another repository copy to time")
    args = parser.parse_args()
    eager = eager_subclass_copy(Path(tempfile.mkdtemp(prefix="eager_subclass_")))
    repos = {"this repository": ROOT, "eager subclass": eager, **{str(r.resolve()): r for r in args.repo_dir or []}}
    commands = {name: [sys.executable, "-c", code] for name, code in FLOORS.items()}
    for label, repo in repos.items():
        for name, words in SCRIPT_RUNS.items():
            commands[f"{label}: train_text.py {name}"] = (repo, [sys.executable, "train_text.py", *words])
    results = {}
    for name, command in commands.items():
        cwd, command = command if isinstance(command, tuple) else (ROOT, command)
        results[name] = round(wall_seconds(command, args.repeats, cwd), 3)
    print("| command | median wall (s) |\n|---|---|")
    for name, seconds in results.items():
        print(f"| `{name}` | {seconds:.2f} |")
    print(json.dumps({"benchmark": "text_arguments", "repeats": args.repeats, "seconds": results}))
    shutil.rmtree(eager)


if __name__ == "__main__":
    main()
