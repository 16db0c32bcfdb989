"""Model and dataset cards, rendered from the Jinja templates in `templates/` with `huggingface_hub` (no torch).

The model cards carry a `model-index` (their accuracies as `EvalResult`s, which the Hub shows and indexes); the
dataset card carries the `configs:` block that lets plain `datasets.load_dataset(folder, "pooled")` read the export.
"""

from pathlib import Path

from huggingface_hub import DatasetCard, DatasetCardData, EvalResult, ModelCard, ModelCardData

from . import constants as C
from .utils import atomic_write_text

TEMPLATES = Path(__file__).with_name("templates")
PAPER_URL = "https://arxiv.org/abs/2403.05535"
PROJECT_URL = "https://github.com/ego2exo-hf/ego2exo-hf"
TAGS = ["ego2exo", "lagtran", "video-domain-adaptation"]
DEFAULT_LIMITATIONS = "Trained on Ego-Exo4D cooking takes only; accuracy on other activities or cameras is unknown."
ORACLE = (
    "ORACLE selection: the iterate was chosen by top-1 on *target* val, using target labels, so the target numbers "
    "are an upper bound, not a valid domain-adaptation result."
)


def _pct(value) -> str:
    return "-" if value is None else f"{value:.2f}"


def _per_class(values) -> list:
    """Per-class accuracies in class order, from the metric's list or a {class name: accuracy} dict."""
    if isinstance(values, dict):
        return [values.get(name) for name in C.CLASS_NAMES]
    return list(values) + [None] * (C.NUM_CLASSES - len(values))


def _tables(shown: dict) -> dict:
    """Template variables `results` (one row per entry) and `per_class` of {row label: metrics dict}."""
    keys = ("top1", "top5", "mean_class")
    results = [{"split": label, **{k: _pct(m.get(k)) for k in keys}} for label, m in shown.items()]
    columns = {label: _per_class(m["per_class"]) for label, m in shown.items() if m.get("per_class")}
    rows = [(name, [_pct(column[i]) for column in columns.values()]) for i, name in enumerate(C.CLASS_NAMES)]
    return {"results": results, "per_class": {"splits": list(columns), "rows": rows} if columns else None}


def _eval_results(task_type: str, direction: str, entries, suffix: str = "") -> list[EvalResult]:
    """Top-1 and mean-class `EvalResult`s of `(dataset split, label, metrics)` entries."""
    return [
        EvalResult(
            task_type=task_type,
            dataset_type=C.HUB_DATASET_REPO,
            dataset_name=f"Ego2Exo {direction}",
            dataset_split=split,
            metric_type="accuracy",
            metric_name=f"{label} {name}{suffix}",
            metric_value=round(float(values[key]), 2),
        )
        for split, label, values in entries
        for key, name in (("top1", "top-1"), ("mean_class", "mean-class"))
        if values.get(key) is not None
    ]


def _write_model_card(output_dir, card_data: dict, **content) -> Path:
    """Render `templates/model_card.md`; `card_data`: the `ModelCardData` fields that differ between the stages."""
    content.setdefault("limitations", DEFAULT_LIMITATIONS)
    card_data = ModelCardData(license="mit", library_name="transformers", datasets=[C.HUB_DATASET_REPO], **card_data)
    template = TEMPLATES / "model_card.md"
    card = ModelCard.from_template(
        card_data, template_path=template, project_url=PROJECT_URL, paper_url=PAPER_URL, citation=C.CITATION, **content
    )
    return atomic_write_text(Path(output_dir) / "README.md", str(card).rstrip("\n") + "\n")


def _on_off(flag, on: str = "on", off: str = "off") -> str:
    return on if flag else off


def write_text_model_card(output_dir, *, settings: dict, metrics: dict) -> Path:
    """`<output_dir>/README.md` of the text stage: a caption classifier that is also a complete pseudo-labeller."""
    s, source, target = settings, settings["source"], settings["target"]
    direction, base, label_file = f"{source}->{target}", s["model_name_or_path"], Path(s["pseudo_label_file"])
    heldout, analysis = metrics.get("source_heldout"), metrics.get("target_train_analysis")
    shown = {"source held-out": heldout} if heldout else {}
    if analysis:
        shown["target train pseudo-labels (analysis, uses target labels)"] = analysis
    task = "text-classification"
    eval_results = _eval_results(task, direction, [(f"{source}_train", "source held-out", heldout)] if heldout else [])
    if analysis:
        entry = [(f"{target}_train", "target train pseudo-label", analysis)]
        eval_results += _eval_results(task, direction, entry, " (analysis, uses target labels)")

    combination = metrics.get("combination", {})
    context = combination.get("ngram_context_weight", s.get("ngram_context_weight", 0.0))
    position = combination.get("ngram_position_weight", s.get("ngram_position_weight", 0.0))
    reads = (
        f"; it also reads the previous and next caption of the same take in the same view, weight {context}, "
        f"and the position in the take, weight {position}"
        if context or position
        else ""
    )
    chosen = "chosen on the held-out source slice" if heldout else "the default (no held-out slice)"
    labeller = (
        f"one fine-tuned transformer pooled log-linearly with a TF-IDF n-gram classifier (`{C.NGRAM_DIR}/`{reads}), "
        f"n-gram weight {combination.get('ngram_weight', 0.0)}, {chosen}"
        if s.get("ngram_ensemble")
        else "the fine-tuned transformer's probabilities alone (n-gram pooling off)"
    )
    fraction = s.get("heldout_fraction") or 0
    balancing = _on_off(s["balanced_sampling"], f"on (power {s.get('balancing_power')})")
    return _write_model_card(
        output_dir,
        dict(
            pipeline_tag=task,
            metrics=["accuracy"],
            base_model=None if Path(base).exists() else base,
            tags=[*TAGS, task, "pseudo-labelling", f"ego2exo-{source}-{target}"],
            model_name=f"ego2exo-text-{source}-{target}",
            eval_results=eval_results or None,
        ),
        stage="text",
        direction=direction,
        target=target,
        title=f"Ego2Exo caption classifier, {direction} (LaGTran text stage)",
        summary=(
            f"A keystep classifier of segment captions fine-tuned on the *{source}* train captions of Ego2Exo. Its "
            f"predictions on the *{target}* train captions are the target pseudo-labels of the video stage "
            f"(`{label_file.parent.as_posix()}/`). This folder is a complete pseudo-labeller: the transformer and "
            f"its tokenizer, `{C.NGRAM_DIR}/` and `{C.PSEUDO_LABELLER_FILE}` (the pooling and context weights)."
        ),
        details={
            "direction (source->target)": direction,
            "base model": base,
            "method": "LaGTran text stage: source captions -> classifier -> target pseudo-labels",
            "training": (
                f"max length {s['max_length']}, lr {s['learning_rate']}, {s['num_train_epochs']} epochs (max_steps "
                f"{s['max_steps']}), batch {s['per_device_train_batch_size']}, class-balanced sampling {balancing}, "
                f"linear-probe warm start {_on_off(s['linear_probe'])}, word embeddings "
                f"{_on_off(s['freeze_word_embeddings'], 'frozen', 'trained')}, "
                f"{_on_off(s['bf16'], 'bf16 autocast', 'float32')}"
            ),
            "pseudo-labeller": labeller,
            "model selection": (
                f"best {s['metric_for_best_model']} on a stratified {fraction:.0%} held-out slice of the source train "
                "captions (never target labels)"
                if fraction
                else "no held-out slice: the last checkpoint (never target labels)"
            ),
            "pseudo-labels": (
                f"`{label_file.as_posix()}` (official format, confidence >= {s['confidence_threshold']}) and a "
                f"Parquet table with probabilities (`{label_file.with_suffix('.parquet').as_posix()}`)"
            ),
        },
        **_tables(shown),
        published=C.PUBLISHED_TEXT_RESULTS.get(direction),
    )


def write_video_model_card(output_dir, *, settings: dict, metrics: dict, target_labels: str, uses_target=True) -> Path:
    """`<output_dir>/README.md` of the video stage: results, method, direction, pseudo-label provenance, selection.
    `uses_target`: whether the method drew target rows into its batches."""
    s, source, target, method = settings, settings["source"], settings["target"], settings["method"]
    direction, oracle = f"{source}->{target}", s["selection"] == "target_val_oracle"
    iteration = metrics.get("selected_iteration", s["num_iterations"])
    selection = {
        "last": f"last iterate (iteration {s['num_iterations']})",
        "source_val": f"best top-1 on source val (iteration {iteration})",
        "target_val_oracle": f"ORACLE: best top-1 on *target* val (iteration {iteration}), uses target labels",
    }.get(s["selection"], f"{s['selection']} (iteration {iteration})")
    source_val, target_val = metrics["source_val"], metrics["target_val"]
    entries = [(f"{target}_val", "target val", target_val), (f"{source}_val", "source val", source_val)]
    feature_dim, hidden_dim = s.get("feature_dim", C.FEATURE_DIM), s.get("hidden_dim", 256)
    target_batch = f" + {s['batch_size']} target" if uses_target else ""
    return _write_model_card(
        output_dir,
        dict(
            pipeline_tag="video-classification",
            metrics=["accuracy"],
            tags=[*TAGS, "feature-classifier", method],
            model_name=f"ego2exo-{method}-{source}-{target}",
            eval_results=_eval_results("video-classification", direction, entries, " [ORACLE selection]" * oracle),
        ),
        stage="video",
        direction=direction,
        method=method,
        target=target,
        title=f"LaGTran video stage, Ego2Exo {direction} ({method})" + " [ORACLE selection on target val]" * oracle,
        summary=(
            f"A feature classifier (Linear {feature_dim}->{hidden_dim}, BatchNorm, ReLU, Linear {hidden_dim}->"
            f"{C.NUM_CLASSES}) on mean-pooled Omnivore Swin-L video features of keystep segments, predicting "
            f"{C.NUM_CLASSES} cooking keysteps."
        ),
        warning=ORACLE if oracle else "",
        details={
            "Direction": f"{source} (labelled source) -> {target} (target)",
            "Method": method,
            "Target training labels": target_labels,
            "Data": f"`{Path(s['data_dir']).name}`, Ego2Exo layout ({C.HUB_DATASET_REPO}), pooled Omnivore features",
            "Model selection": selection,
            "Training": (
                f"{s['num_iterations']} iterations of {s['batch_size']} source (class-balanced){target_batch} "
                f"segments; SGD Nesterov momentum {s['momentum']}, weight decay {s['weight_decay']}, lr "
                f"{s['learning_rate']} x {s['classifier_lr_multiplier']:g} (classifier), inv schedule (gamma "
                f"{s['lr_gamma']}, power {s['lr_power']}); seed {s['seed']}"
            ),
        },
        **_tables({f"source val ({source}_val)": source_val, f"target val ({target}_val)": target_val}),
        published=C.PUBLISHED_RESULTS.get(method, {}).get(direction),
    )


def write_dataset_card(output_dir, *, configs: list[str], split_sizes: dict, default: str | None = None) -> Path:
    """`<output_dir>/README.md` of a Parquet export; `configs:` maps each config's splits to `<config>/<split>-*`."""
    configs, total = list(configs), sum(split_sizes.values())
    default = default or ("pooled" if "pooled" in configs else configs[0])
    bounds = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K")]
    yaml_configs = [
        {
            "config_name": config,
            **({"default": True} if config == default else {}),
            "data_files": [{"split": split, "path": f"{config}/{split}-*.parquet"} for split in split_sizes],
        }
        for config in configs
    ]
    card_data = DatasetCardData(
        license="other",
        license_name="ego-exo4d-license",
        license_link="https://ego-exo4d-data.org/",
        pretty_name="Ego2Exo",
        task_categories=["video-classification", "text-classification"],
        tags=["ego2exo", "ego-exo4d", "domain-adaptation", "lagtran"],
        size_categories=[next((name for bound, name in bounds if total < bound), "100K<n<1M")],
        configs=yaml_configs,
    )
    card = DatasetCard.from_template(
        card_data,
        template_path=TEMPLATES / "dataset_card.md",
        project_url=PROJECT_URL,
        source_repo=C.HUB_DATASET_REPO,
        configs=configs,
        default=default,
        split_sizes=split_sizes,
        classes=", ".join(f"{i} {name}" for i, name in enumerate(C.CLASS_NAMES)),
        citation=C.CITATION,
    )
    return atomic_write_text(Path(output_dir) / "README.md", str(card).rstrip("\n") + "\n")
