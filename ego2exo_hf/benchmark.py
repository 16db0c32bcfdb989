"""`ego2exo benchmark`: methods x directions x seeds of the video stage, one table with mean ± sd over seeds.

Each run is `python -m train_video` in its own process under `<output_dir>/runs/<method>/<source>_<target>/seed<k>/`;
a run whose `metrics.json` exists is not run again, so an interrupted benchmark resumes. The target pseudo-labels
come from the text stage (`--pseudo_labels_dir`, searched for `ego2exo_<source>_<target>.txt`). A method name
with `+pl` (e.g. `mcc+pl`) adds the pseudo-label loss to an unsupervised method.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from .constants import PUBLISHED_RESULTS
from .data.pseudo_labels import pseudo_label_file_name
from .demo import parse_direction
from .errors import Ego2ExoError, exit_on_user_error
from .utils import atomic_path, atomic_write_text, claim_output_dir

RESULTS_KEYS = (("target_val", "top1"), ("target_val", "mean_class"), ("source_val", "top1"))


def find_pseudo_labels(folder, source: str, target: str) -> Path:
    """The one `ego2exo_<source>_<target>.txt` under `folder` (the text stage's output, or a folder of files)."""
    name = pseudo_label_file_name(source, target)
    found = sorted(Path(folder).rglob(name)) if folder else []
    if len(found) != 1:
        what = "no file" if not found else f"{len(found)} files ({', '.join(map(str, found[:3]))})"
        raise Ego2ExoError(f"--pseudo_labels_dir {folder}: {what} named {name}; give a folder with exactly one")
    return found[0]


def plan_runs(args) -> list[dict]:
    """Every (method, direction, seed) run with its options, before anything runs (bad names fail here)."""
    from .video.config import METHOD_NAMES, SELECTIONS, UNSUPERVISED_METHODS

    if args.selection not in SELECTIONS:
        raise Ego2ExoError(f"--selection must be one of {', '.join(SELECTIONS)}, got {args.selection!r}")
    runs = []
    for method_name in args.methods:
        method, _, suffix = method_name.partition("+")
        if method not in METHOD_NAMES or suffix not in ("", "pl") or (suffix and method not in UNSUPERVISED_METHODS):
            raise Ego2ExoError(
                f"--methods: unknown method {method_name!r}; choose from {', '.join(METHOD_NAMES)} "
                f"(add +pl to {', '.join(UNSUPERVISED_METHODS)} for the pseudo-label loss)"
            )
        for direction in args.directions:
            source, target = parse_direction(direction)
            needs_labels = method == "lagtran" or suffix
            pseudo = find_pseudo_labels(args.pseudo_labels_dir, source, target) if needs_labels else None
            for seed in args.seeds:
                output = Path(args.output_dir) / "runs" / method_name / f"{source}_{target}" / f"seed{seed}"
                options = dict(data_dir=args.data_dir, output_dir=output, source=source, target=target, method=method,
                               seed=seed, num_iterations=args.num_iterations, val_every=args.val_every,
                               checkpoint_every=args.num_iterations, selection=args.selection, report_to="none")
                if pseudo:
                    options["pseudo_labels"] = pseudo
                if args.source_sampling != "balanced":
                    options["source_sampling"] = args.source_sampling
                if args.cache_dir:
                    options["cache_dir"] = args.cache_dir
                runs.append({"method": method_name, "direction": f"{source}->{target}", "seed": seed,
                             "output_dir": output, "options": options})  # fmt: skip
    return runs


def _command(options: dict) -> list[str]:
    return [sys.executable, "-m", "train_video", *(w for k, v in options.items() for w in (f"--{k}", str(v)))]


def run_all(runs: list[dict], jobs: int, log_dir: Path) -> None:
    """Run what has no metrics.json yet, `jobs` processes at a time, under one progress bar."""
    from tqdm.auto import tqdm

    todo = [r for r in runs if not (r["output_dir"] / "metrics.json").is_file()]
    bar = tqdm(total=len(runs), initial=len(runs) - len(todo), desc="benchmark runs", unit="run")
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_DATASETS_DISABLE_PROGRESS_BARS="1")
    running, failed = [], []
    while todo or running:
        while todo and len(running) < jobs:
            run = todo.pop(0)
            log = log_dir / f"{run['method']}_{run['direction'].replace('->', '_')}_seed{run['seed']}.log"
            with open(log, "w") as out:
                process = subprocess.Popen(_command(run["options"]), stdout=out, stderr=subprocess.STDOUT, env=env)
            running.append((process, run, log))
        time.sleep(0.2)
        for entry in [e for e in running if e[0].poll() is not None]:
            running.remove(entry)
            bar.update(1)
            if entry[0].returncode != 0:
                failed.append(entry)
    bar.close()
    if failed:
        _, run, log = failed[0]
        raise Ego2ExoError(f"{len(failed)} run(s) failed, e.g. {run['method']} {run['direction']} seed {run['seed']}: "
                           f"see {log} (the finished runs are kept; rerun the same command to go on)")  # fmt: skip


def summarize(runs: list[dict]) -> dict:
    """`{method: {direction: {"target_val_top1": {"mean", "sd", "values"}, ...}}}` over the seeds."""
    results: dict = {}
    for run in runs:
        metrics = json.loads((run["output_dir"] / "metrics.json").read_text())
        cell = results.setdefault(run["method"], {}).setdefault(run["direction"], {})
        for split, key in RESULTS_KEYS:
            cell.setdefault(f"{split}_{key}", []).append(metrics[split][key])
    for cells in results.values():
        for cell in cells.values():
            for name, values in cell.items():
                sd = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
                cell[name] = {"mean": float(np.mean(values)), "sd": sd, "values": values}
    return results


def _pm(stat: dict) -> str:
    return f"{stat['mean']:.2f} ± {stat['sd']:.2f}"


def results_table(results: dict, directions: list[str], seeds: int) -> str:
    """Markdown: target val top-1 and mean-class (mean ± sd over seeds), source val top-1; published beside."""
    lines = [
        f"Target val top-1 / mean-class accuracy (%), mean ± sd over {seeds} seed(s); source val top-1 in brackets.",
        "Published: the paper's real-data top-1 (Omnivore features), for reference only.",
        "",
        "| method | " + " | ".join(f"{d} top-1 | {d} mean-class | {d} (source val) | {d} published" for d in directions)
        + " |",
        "|---|" + "---|---|---|---|" * len(directions),
    ]
    for method, cells in results.items():
        row = [method]
        for direction in directions:
            cell = cells.get(direction)
            published = PUBLISHED_RESULTS.get(method, {}).get(direction)
            row += [_pm(cell["target_val_top1"]), _pm(cell["target_val_mean_class"]),
                    f"({_pm(cell['source_val_top1'])})"] if cell else ["—"] * 3  # fmt: skip
            row.append(f"{published:.2f} (published)" if published is not None else "—")
        lines.append("| " + " | ".join(row) + " |")
    for name in ("TA3N", "TransVAE"):
        if name not in results:
            row = [f"{name} (published only)"]
            for direction in directions:
                row += ["—"] * 3 + [f"{PUBLISHED_RESULTS[name][direction]:.2f} (published)"]
            lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def plot_results(results: dict, directions: list[str], path) -> Path:
    """Bars of target val top-1 per method and direction, with ± sd error bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    methods = list(results)
    width = 0.8 / max(len(directions), 1)
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(methods)), 4))
    for i, direction in enumerate(directions):
        cells = [results[m].get(direction, {}).get("target_val_top1", {"mean": 0, "sd": 0}) for m in methods]
        x = np.arange(len(methods)) + (i - (len(directions) - 1) / 2) * width
        ax.bar(x, [c["mean"] for c in cells], width, yerr=[c["sd"] for c in cells], capsize=3, label=direction)
    ax.set_xticks(np.arange(len(methods)), methods, rotation=30, ha="right")
    ax.set_ylabel("target val top-1 (%)")
    ax.set_title("Ego2Exo video stage: mean ± sd over seeds")
    ax.legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    return Path(path)


@exit_on_user_error
def run_benchmark(args) -> int:
    from .data import load_ego2exo

    runs = plan_runs(args)
    output_dir = claim_output_dir(args.output_dir, "benchmark", overwrite=args.overwrite, data_dir=args.data_dir)
    load_ego2exo(args.data_dir, "pooled", cache_dir=args.cache_dir)  # built once, shared by every run
    log_dir = output_dir / "logs"
    log_dir.mkdir(exist_ok=True)
    run_all(runs, args.jobs, log_dir)
    directions = list(dict.fromkeys(r["direction"] for r in runs))
    results = summarize(runs)
    table = results_table(results, directions, len(args.seeds))
    atomic_write_text(output_dir / "results.json", json.dumps(
        {"results": results, "seeds": args.seeds, "num_iterations": args.num_iterations,
         "selection": args.selection, "source_sampling": args.source_sampling,
         "published": PUBLISHED_RESULTS}, indent=2) + "\n")  # fmt: skip
    atomic_write_text(output_dir / "results.md", table)
    plot_results(results, directions, output_dir / "results.png")
    print(table)
    print(f"wrote {output_dir}/results.md, results.json and results.png ({len(runs)} runs)")
    return 0
