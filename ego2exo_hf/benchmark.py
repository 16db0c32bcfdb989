"""The video-stage benchmark: methods x directions x seeds, one table with mean ± sd over seeds (`ego2exo benchmark`).

Each run is `python -m train_video` in its own process under `<output_dir>/runs/<method>/<source>_<target>/seed<k>/`;
a run whose `metrics.json` exists is not run again, so an interrupted benchmark resumes. The target pseudo-labels
come from the text stage (`pseudo_labels_dir`, searched for `ego2exo_<source>_<target>.txt`). A method name
with `+pl` (e.g. `mcc+pl`) adds the pseudo-label loss to a method that accepts it.
"""

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .constants import DIRECTIONS, METRICS_FILE, PUBLISHED_RESULTS, SELECTIONS, SOURCE_SAMPLINGS, parse_direction
from .data.pseudo_labels import pseudo_label_file_name
from .errors import Ego2ExoError
from .utils import atomic_write_text, claim_output_dir, pyplot, save_figure

RESULTS_KEYS = (("target_val", "top1"), ("target_val", "mean_class"), ("source_val", "top1"))
MAX_SEED = 2**32 - 1  # numpy's and accelerate's set_seed accept 0 .. 2**32 - 1


@dataclass
class BenchmarkSettings:
    """One benchmark grid and the options every run shares; checked before anything runs."""

    data_dir: str
    output_dir: str
    methods: list[str] = field(default_factory=lambda: ["source_only", "lagtran"])
    directions: list[str] = field(default_factory=lambda: list(DIRECTIONS))
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    pseudo_labels_dir: str | None = None
    num_iterations: int = 45001
    val_every: int = 500
    selection: str = "last"
    source_sampling: str = "balanced"
    cache_dir: str | None = None

    def __post_init__(self):
        from .video.methods import METHODS, PSEUDO_LABEL_SUFFIX

        if self.selection not in SELECTIONS:
            raise Ego2ExoError(f"--selection must be one of {', '.join(SELECTIONS)}, got {self.selection!r}")
        if self.source_sampling not in SOURCE_SAMPLINGS:
            raise Ego2ExoError(f"--source_sampling must be one of {', '.join(SOURCE_SAMPLINGS)}, "
                               f"got {self.source_sampling!r}")  # fmt: skip
        for name in ("num_iterations", "val_every"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise Ego2ExoError(f"--{name} must be a whole number of at least 1, got {value!r}")
        bad_seeds = [seed for seed in self.seeds if isinstance(seed, bool) or not isinstance(seed, int)
                     or not 0 <= seed <= MAX_SEED]  # fmt: skip
        if bad_seeds or not self.seeds:
            shown = repr(bad_seeds[0]) if bad_seeds else "none"
            raise Ego2ExoError(f"--seeds must be whole numbers in 0..{MAX_SEED}, got {shown}")
        if len(set(self.seeds)) != len(self.seeds):
            raise Ego2ExoError(f"--seeds: each seed once, got {' '.join(map(str, self.seeds))}")
        with_pl = [name for name, cls in METHODS.items() if cls.pseudo_labels == "optional"]
        for name in self.methods:
            method, _, suffix = name.partition("+")
            if method not in METHODS or suffix not in ("", PSEUDO_LABEL_SUFFIX) or (suffix and method not in with_pl):
                raise Ego2ExoError(
                    f"--methods: unknown method {name!r}; choose from {', '.join(METHODS)} "
                    f"(add +{PSEUDO_LABEL_SUFFIX} to {', '.join(with_pl)} for the pseudo-label loss)"
                )
        if len(set(self.methods)) != len(self.methods):
            raise Ego2ExoError(f"--methods: each method once, got {' '.join(self.methods)}")
        if len(set(self.pairs)) != len(self.pairs):
            raise Ego2ExoError(f"--directions: each direction once, got {' '.join(self.directions)}")

    @property
    def pairs(self) -> list[tuple[str, str]]:
        """The directions as (source, target) pairs."""
        return [parse_direction(direction) for direction in self.directions]


def find_pseudo_labels(folder, source: str, target: str) -> Path:
    """The one `ego2exo_<source>_<target>.txt` under `folder` (the text stage's output, or a folder of files)."""
    name = pseudo_label_file_name(source, target)
    found = sorted(Path(folder).rglob(name)) if folder else []
    if len(found) != 1:
        what = "no file" if not found else f"{len(found)} files ({', '.join(map(str, found[:3]))})"
        raise Ego2ExoError(f"--pseudo_labels_dir {folder}: {what} named {name}; give a folder with exactly one")
    return found[0]


def plan_runs(settings: BenchmarkSettings) -> list[dict]:
    """Every (method, direction, seed) run with its options, before anything runs (missing label files fail here)."""
    from .video.methods import METHODS

    runs = []
    for method_name in settings.methods:
        method, _, suffix = method_name.partition("+")
        needs_labels = METHODS[method].pseudo_labels == "required" or bool(suffix)
        for source, target in settings.pairs:
            pseudo = find_pseudo_labels(settings.pseudo_labels_dir, source, target) if needs_labels else None
            for seed in settings.seeds:
                output = Path(settings.output_dir) / "runs" / method_name / f"{source}_{target}" / f"seed{seed}"
                options = dict(data_dir=settings.data_dir, output_dir=output, source=source, target=target,
                               method=method, seed=seed, num_iterations=settings.num_iterations,
                               val_every=settings.val_every, checkpoint_every=settings.num_iterations,
                               selection=settings.selection, report_to="none")  # fmt: skip
                if pseudo:
                    options["pseudo_labels"] = pseudo
                if settings.source_sampling != "balanced":
                    options["source_sampling"] = settings.source_sampling
                if settings.cache_dir:
                    options["cache_dir"] = settings.cache_dir
                runs.append({"method": method_name, "direction": f"{source}->{target}", "seed": seed,
                             "output_dir": output, "options": options})  # fmt: skip
    return runs


def _command(options: dict) -> list[str]:
    return [sys.executable, "-m", "train_video", *(w for k, v in options.items() for w in (f"--{k}", str(v)))]


def run_all(runs: list[dict], jobs: int, log_dir: Path) -> None:
    """Run what has no metrics.json yet, `jobs` processes at a time, under one progress bar."""
    from tqdm.auto import tqdm

    todo = [r for r in runs if not (r["output_dir"] / METRICS_FILE).is_file()]
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
        metrics = json.loads((run["output_dir"] / METRICS_FILE).read_text())
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
    plt = pyplot()
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
    return save_figure(fig, path)


def run_benchmark(settings: BenchmarkSettings, *, jobs: int = 1, overwrite: bool = False) -> dict:
    """Run what is missing of the grid, `jobs` runs at a time, and write results.md, results.json and
    results.png; returns the results."""
    from .data import load_ego2exo

    runs = plan_runs(settings)
    output_dir = claim_output_dir(settings.output_dir, "benchmark", overwrite=overwrite, data_dir=settings.data_dir)
    load_ego2exo(settings.data_dir, "pooled", cache_dir=settings.cache_dir)  # built once, shared by every run
    log_dir = output_dir / "logs"
    log_dir.mkdir(exist_ok=True)
    run_all(runs, jobs, log_dir)
    directions = list(dict.fromkeys(r["direction"] for r in runs))
    results = summarize(runs)
    table = results_table(results, directions, len(settings.seeds))
    atomic_write_text(output_dir / "results.json", json.dumps(
        {"results": results, "seeds": settings.seeds, "num_iterations": settings.num_iterations,
         "selection": settings.selection, "source_sampling": settings.source_sampling,
         "published": PUBLISHED_RESULTS}, indent=2) + "\n")  # fmt: skip
    atomic_write_text(output_dir / "results.md", table)
    plot_results(results, directions, output_dir / "results.png")
    print(table)
    print(f"wrote {output_dir}/results.md, results.json and results.png ({len(runs)} runs)")
    return results
