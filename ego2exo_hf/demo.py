"""`ego2exo demo`: the whole method on synthetic data, both directions, with a results table and plots.

synthetic data -> build -> text stage (caption classifier, target pseudo-labels) -> video stage with
`lagtran`, `source_only` and `target_supervised` -> `results.md`, `results.json`, confusion matrices and
training curves under `--output_dir`.
"""

import json
import time
from pathlib import Path

import numpy as np

from .constants import (
    CLASS_NAMES,
    DEFAULT_TEXT_MODEL,
    DIRECTIONS,
    METRICS_FILE,
    NUM_CLASSES,
    PUBLISHED_RESULTS,
    TRAINING_LOG_FILE,
    parse_direction,
)
from .errors import Ego2ExoError
from .launcher import StageLauncher, option_words, shell_command
from .utils import atomic_write_text, claim_output_dir, pyplot, save_figure

METHODS = ("source_only", "lagtran", "target_supervised")
METHOD_TITLES = {"source_only": "source only", "lagtran": "LaGTran", "target_supervised": "target supervised"}
# Step counts per scale: (text-stage optimizer steps, video-stage iterations, validate every).
SCALE_STEPS = {"tiny": (60, 300, 100), "demo": (150, 3000, 250)}


def _stage(message: str) -> None:
    print(f"\n=== {message}", flush=True)


def run_stage(launcher, script: str, options: dict, output_dir, threads: int | None = None) -> dict:
    """Run `python -m <script>` (train_text or train_video) as a process of `launcher` (a `StageLauncher`: each stage
    is its own process, as from the shell, minus the library imports) and return its metrics.json."""
    argv = option_words(options)
    if launcher.start(script, argv, env={"OMP_NUM_THREADS": str(threads)} if threads else None).wait() != 0:
        raise Ego2ExoError(f"{script} failed (its error is printed above); command: {shell_command(script, argv)}")
    return json.loads((Path(output_dir) / METRICS_FILE).read_text())


def run_text_stage(launcher, data_dir, source, target, output_dir, text_model, max_steps, seed) -> dict:
    options = dict(data_dir=data_dir, source=source, target=target, output_dir=output_dir, max_steps=max_steps,
                   seed=seed, report_to="none", model_name_or_path=text_model)  # fmt: skip
    return run_stage(launcher, "train_text", options, output_dir)


def run_video_stage(launcher, data_dir, source, target, method, output_dir, pseudo_labels, iterations, val_every,
                    seed) -> dict:  # fmt: skip
    from .video.methods import get_method_class

    options = dict(data_dir=data_dir, output_dir=output_dir, source=source, target=target, method=method,
                   num_iterations=iterations, val_every=val_every, checkpoint_every=iterations,
                   logging_steps=max(1, val_every // 5), seed=seed, report_to="none")  # fmt: skip
    if get_method_class(method).pseudo_labels == "required":
        options["pseudo_labels"] = pseudo_labels
    # 64 x 1536 batches: one CPU thread is fastest
    return run_stage(launcher, "train_video", options, output_dir, threads=1)


def _pair(metrics: dict) -> dict:
    return {"top1": round(metrics["top1"], 2), "mean_class": round(metrics["mean_class"], 2)}


def results_table(results: dict) -> str:
    """The Markdown results table (target val top-1 / mean-class accuracy, %)."""
    header = "| direction | text pseudo-label acc (analysis) | source only | LaGTran | target supervised |"
    rows = [header, "|---|---|---|---|---|"]
    for direction, r in results.items():
        cells = [r["pseudo_label_acc"]] + [r[m] for m in METHODS]
        rows.append(f"| {direction} | " + " | ".join(f"{c['top1']:.2f} / {c['mean_class']:.2f}" for c in cells) + " |")
    return "\n".join(rows)


def published_table() -> str:
    rows = ["| method | ego->exo | exo->ego |", "|---|---|---|"]
    for method, values in PUBLISHED_RESULTS.items():
        rows.append(f"| {METHOD_TITLES.get(method, method)} | {values['ego->exo']:.2f} | {values['exo->ego']:.2f} |")
    return "\n".join(rows)


def target_val_predictions(model_dir, data_dir, split: str) -> tuple[np.ndarray, np.ndarray]:
    """(true labels, predicted labels) of a saved feature classifier on one split."""
    from .video.prediction import load_feature_classifier, predict_split

    table, _ = predict_split(load_feature_classifier(model_dir), data_dir, split)
    return np.asarray(table["label"][:]), np.asarray(table["prediction"][:])


def plot_confusion(labels, predicted, title: str, path) -> Path:
    """Row-normalised confusion matrix with class names on both axes."""
    plt = pyplot()
    matrix = np.zeros((NUM_CLASSES, NUM_CLASSES))
    np.add.at(matrix, (labels, predicted), 1)
    matrix = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(11, 10))
    image = ax.imshow(matrix, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(NUM_CLASSES), CLASS_NAMES, rotation=90, fontsize=7)
    ax.set_yticks(range(NUM_CLASSES), CLASS_NAMES, fontsize=7)
    ax.set_xlabel("predicted keystep")
    ax.set_ylabel("true keystep")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, fraction=0.046, label="fraction of the true class")
    return save_figure(fig, path, dpi=110)


def _read_log(path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def plot_training_curves(run_dirs: dict, path) -> Path:
    """Loss and source/target val top-1 against iteration, one column per direction, one colour per method."""
    plt = pyplot()
    directions = list(run_dirs)
    fig, axes = plt.subplots(2, len(directions), figsize=(6.5 * len(directions), 8), squeeze=False)
    colours = dict(zip(METHODS, ("tab:gray", "tab:blue", "tab:green")))
    for col, direction in enumerate(directions):
        loss_ax, acc_ax = axes[0][col], axes[1][col]
        for method, run_dir in run_dirs[direction].items():
            log = _read_log(Path(run_dir) / TRAINING_LOG_FILE)
            losses = [(r["iteration"], r["loss"]) for r in log if r.get("loss") is not None]
            if losses:
                loss_ax.plot(*zip(*losses), color=colours[method], label=METHOD_TITLES[method])
            for key, style, name in (("target_val_top1", "-", "target val"), ("source_val_top1", "--", "source val")):
                points = [(r["iteration"], r[key]) for r in log if key in r]
                if points:
                    acc_ax.plot(*zip(*points), style, color=colours[method], label=f"{METHOD_TITLES[method]}, {name}")
        loss_ax.set_title(f"{direction}: training loss")
        loss_ax.set_xlabel("iteration")
        loss_ax.set_ylabel("loss (log scale)")
        loss_ax.set_yscale("log")
        loss_ax.legend(fontsize=8)
        acc_ax.set_title(f"{direction}: validation top-1 (%)")
        acc_ax.set_xlabel("iteration")
        acc_ax.set_ylabel("top-1 (%)")
        acc_ax.legend(fontsize=7)
    return save_figure(fig, path)


def run_demo(
    scale="demo",
    directions=DIRECTIONS,
    output_dir="runs/demo",
    text_model=DEFAULT_TEXT_MODEL,
    text_steps=None,
    video_iterations=None,
    val_every=None,
    seed=42,
    data_dir=None,
    overwrite=False,
) -> dict:
    """Run the whole method and write the results; returns `results.json`'s content."""
    from .data import load_ego2exo, write_synthetic
    from .data.builder import summarize

    if scale not in SCALE_STEPS:
        raise Ego2ExoError(f"--scale must be one of {', '.join(SCALE_STEPS)}, got {scale!r}")
    default_text, default_video, default_val = SCALE_STEPS[scale]
    text_steps, video_iterations = text_steps or default_text, video_iterations or default_video
    val_every = min(val_every or default_val, video_iterations)
    pairs = [parse_direction(d) for d in directions]
    output_dir = claim_output_dir(output_dir, "demo", overwrite=overwrite, data_dir=data_dir)
    started = time.time()
    # Every stage is its own process, forked from one that imports the stages' libraries while the data is built.
    with StageLauncher(("train_text", "train_video")) as launcher:
        if data_dir is None:
            data_dir = output_dir / f"data_{scale}_seed{seed}"
            if not (data_dir / "ego2exo.json").is_file():
                _stage(f"1. synthetic Ego2Exo ({scale}, seed {seed}) -> {data_dir}")
                write_synthetic(data_dir, scale=scale, seed=seed)
        _stage(f"2. build the dataset (text + pooled) from {data_dir}")
        load_ego2exo(data_dir, "text")
        print(summarize(load_ego2exo(data_dir, "pooled")))

        results, run_dirs = {}, {}
        for source, target in pairs:
            direction = f"{source}->{target}"
            direction_dir = output_dir / f"{source}_{target}"
            _stage(f"3. {direction}: text stage ({text_model}, {text_steps} steps) -> target pseudo-labels")
            text_dir = direction_dir / "text"
            text_metrics = run_text_stage(launcher, data_dir, source, target, text_dir, text_model, text_steps, seed)
            pseudo_labels = text_dir / text_metrics["pseudo_labels"]["file"]
            results[direction] = {"pseudo_label_acc": _pair(text_metrics["target_train_analysis"])}
            run_dirs[direction] = {}
            for method in METHODS:
                _stage(f"4. {direction}: video stage, {method} ({video_iterations} iterations)")
                run_dir = direction_dir / method
                metrics = run_video_stage(launcher, data_dir, source, target, method, run_dir, pseudo_labels,
                                          video_iterations, val_every, seed)  # fmt: skip
                results[direction][method] = _pair(metrics["target_val"])
                run_dirs[direction][method] = run_dir
            labels, predicted = target_val_predictions(direction_dir / "lagtran", data_dir, f"{target}_val")
            plot_confusion(
                labels,
                predicted,
                f"LaGTran {direction}: target val ({target}_val)",
                output_dir / f"confusion_{source}_{target}.png",
            )

    _stage("5. results")
    plot_training_curves(run_dirs, output_dir / "training_curves.png")
    atomic_write_text(output_dir / "results.json", json.dumps(results, indent=2) + "\n")
    table = results_table(results)
    minutes = (time.time() - started) / 60
    report = (
        f"""# ego2exo demo results

Synthetic Ego2Exo (`{scale}`, seed {seed}), text model `{text_model}` ({text_steps} steps), video stage
{video_iterations} iterations; last iterate, no selection on target labels. Accuracy on the *target val*
split, top-1 / mean-class (%). The pseudo-label column compares the text stage's pseudo-labels with the
true target train labels: analysis only, never used for training or selection. Run time: {minutes:.1f} min.

{table}

![training curves](training_curves.png)

"""
        + "\n".join(f"![confusion {s}->{t}](confusion_{s}_{t}.png)" for s, t in pairs)
        + f"""

Published (real Ego2Exo, Omnivore features, top-1 %; from the paper, not reproduced here):

{published_table()}
"""
    )
    atomic_write_text(output_dir / "results.md", report)
    print(table)
    print(f"\nwrote {output_dir}/results.md, results.json, training_curves.png and confusion_*.png ({minutes:.1f} min)")
    return results
