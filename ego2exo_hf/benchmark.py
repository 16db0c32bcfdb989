"""The video-stage benchmark: methods x directions x seeds, one table with mean ± sd over seeds (`ego2exo benchmark`).

Each grid cell is one call of `cells.run_cell`, the unit every executor runs (a local pool, Ray tasks, SLURM jobs
through submitit; `ego2exo_hf.executors`): `python -m train_video` in its own process, writing under
`<output_dir>/runs/<method>/<source>_<target>/seed<k>-<key>/`, where `key` hashes the cell's options (and the
pseudo-label file's content). A cell whose `metrics.json` exists is done, so an interrupted grid resumes with the same
command and another configuration never reuses a cell; the table is built from the folders alone. The target
pseudo-labels come from the text stage (`pseudo_labels_dir`, searched for `ego2exo_<source>_<target>.txt`). A method
name with `+pl` (e.g. `mcc+pl`) adds the pseudo-label loss to a method that accepts it.
"""

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .cells import RESULTS_KEYS, cell_result
from .constants import DIRECTIONS, PUBLISHED_RESULTS, SELECTIONS, SOURCE_SAMPLINGS, parse_direction
from .data.pseudo_labels import pseudo_label_file_name
from .errors import Ego2ExoError
from .utils import atomic_write_text, claim_output_dir, pyplot, save_figure, sha256_file

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


def cell_key(options: dict, pseudo_labels_sha256: str | None = None) -> str:
    """10 hex digits of the SHA-256 of a cell's options and its pseudo-label file's content: its folder's key."""
    described = {k: str(v) for k, v in options.items() if k != "output_dir"}
    if pseudo_labels_sha256:
        described["pseudo_labels_sha256"] = pseudo_labels_sha256
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()[:10]


def plan_runs(settings: BenchmarkSettings, threads: int = 1) -> list[dict]:
    """Every (method, direction, seed) cell with its options and folders, before anything runs (missing label files
    fail here). `threads`: the CPU threads of each run."""
    from .video.methods import METHODS

    root = Path(settings.output_dir)
    runs = []
    for method_name in settings.methods:
        method, _, suffix = method_name.partition("+")
        needs_labels = METHODS[method].pseudo_labels == "required" or bool(suffix)
        for source, target in settings.pairs:
            pseudo = find_pseudo_labels(settings.pseudo_labels_dir, source, target) if needs_labels else None
            pseudo_sha256 = sha256_file(pseudo) if pseudo else None
            for seed in settings.seeds:
                options = dict(data_dir=settings.data_dir, source=source, target=target, method=method, seed=seed,
                               num_iterations=settings.num_iterations, val_every=settings.val_every,
                               checkpoint_every=settings.num_iterations, selection=settings.selection,
                               report_to="none")  # fmt: skip
                if pseudo:
                    options["pseudo_labels"] = str(pseudo)
                if settings.source_sampling != "balanced":
                    options["source_sampling"] = settings.source_sampling
                if settings.cache_dir:
                    options["cache_dir"] = settings.cache_dir
                key = cell_key(options, pseudo_sha256)
                name = f"{method_name}_{source}_{target}_seed{seed}-{key}"
                output = root / "runs" / method_name / f"{source}_{target}" / f"seed{seed}-{key}"
                runs.append({"method": method_name, "direction": f"{source}->{target}", "seed": seed, "key": key,
                             "output_dir": str(output), "log": str(root / "logs" / f"{name}.log"),
                             "lock": str(root / "logs" / f".{name}.lock"), "threads": threads,
                             "options": {**options, "output_dir": str(output)}})  # fmt: skip
    return runs


def _stat(values: list[float]) -> dict:
    sd = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    return {"mean": float(np.mean(values)), "sd": sd, "values": values}


def summarize(runs: list[dict]) -> dict:
    """`{method: {direction: {"target_val_top1": {"mean", "sd", "values"}, ..., "selection_target_val_top1":
    {criterion: {...}}}}}` over the seeds; the last holds the target val top-1 of the iterate each selection criterion
    picks in each run (`metrics.json`'s `selection_picks`; analysis, never a choice made with target labels)."""
    results: dict = {}
    picks: dict = {}  # (method, direction, criterion) -> the picked iterate's target val top-1 of each seed's run
    for run in runs:
        metrics = cell_result(run)
        cell = results.setdefault(run["method"], {}).setdefault(run["direction"], {})
        for split, key in RESULTS_KEYS:
            cell.setdefault(f"{split}_{key}", []).append(metrics[split][key])
        for criterion, pick in metrics.get("selection_picks", {}).items():
            picks.setdefault((run["method"], run["direction"], criterion), []).append(pick["target_val_top1"])
    for method, cells in results.items():
        for direction, cell in cells.items():
            seeds = len(cell["target_val_top1"])
            cell.update({name: _stat(values) for name, values in cell.items()})
            scored = {c: _stat(picks[method, direction, c]) for c in SELECTIONS  # --selection's order
                      if len(picks.get((method, direction, c), ())) == seeds}  # fmt: skip
            if scored:  # the criteria every seed's run scored
                cell["selection_target_val_top1"] = scored
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
    return "\n".join(lines) + "\n" + selection_table(results, directions)


def selection_table(results: dict, directions: list[str]) -> str:
    """Markdown: the target val top-1 of the iterate each criterion picks, beside the last iterate's ("" if none)."""
    rows = [(method, direction, cells[direction]["selection_target_val_top1"]) for method, cells in results.items()
            for direction in directions if "selection_target_val_top1" in cells.get(direction, {})]  # fmt: skip
    if not rows:
        return ""
    lines = [
        "",
        "Model selection: target val top-1 (%) of the iterate each criterion picks, mean ± sd over seeds. `source_val`",
        "and the label-free criteria use no target label; `target_val_oracle` picks with target labels (an upper",
        "bound, not an adaptation result).",
        "",
        "| method | direction | " + " | ".join(SELECTIONS) + " |",
        "|---|---|" + "---|" * len(SELECTIONS),
    ]
    for method, direction, picked in rows:
        lines.append(f"| {method} | {direction} | "
                     + " | ".join(_pm(picked[c]) if c in picked else "—" for c in SELECTIONS) + " |")  # fmt: skip
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


def run_benchmark(settings: BenchmarkSettings, executor=None, *, overwrite: bool = False) -> dict:
    """Run what is missing of the grid with `executor` (an `ExecutorSettings`; default: one local run at a time), then
    write results.md, results.json and results.png from the cells' folders; returns the results."""
    import signal

    from .data import load_ego2exo
    from .executors import ExecutorSettings, execute

    executor = executor or ExecutorSettings()
    runs = plan_runs(settings, threads=executor.cpus_per_run)
    todo = [run for run in runs if cell_result(run) is None]  # a damaged result stops here, before any run
    output_dir = claim_output_dir(settings.output_dir, "benchmark", overwrite=overwrite, data_dir=settings.data_dir)
    load_ego2exo(settings.data_dir, "pooled", cache_dir=settings.cache_dir)  # built once, shared by every run
    (output_dir / "logs").mkdir(exist_ok=True)

    def interrupted(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupted)  # SIGTERM stops the runs as Ctrl-C does
    try:
        failures = execute(todo, len(runs), executor, output_dir / "slurm")
    except KeyboardInterrupt:
        done = sum(cell_result(run) is not None for run in runs)
        raise Ego2ExoError(f"interrupted with {done} of {len(runs)} runs done (kept): rerun the same command to go on")
    finally:
        signal.signal(signal.SIGTERM, previous)
    if failures:
        run = next(run for run in runs if run["key"] == failures[0]["key"])
        raise Ego2ExoError(
            f"{len(failures)} run(s) failed, e.g. {run['method']} {run['direction']} seed {run['seed']} (exit code "
            f"{failures[0]['returncode']}): see "
            f"{failures[0]['log']} (the finished runs are kept; rerun the same command to go on)"
        )
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
