"""What the `ego2exo` sub-commands synth, build, export and pseudo-label run (their options are in cli.py)."""

from collections import Counter
from pathlib import Path

from .constants import CLASS_NAMES, SPLITS


def run_synth(args) -> int:
    from .data.synthetic import write_synthetic

    path = write_synthetic(
        args.output_dir, scale=args.scale, seed=args.seed, overwrite=args.overwrite, view_shift=args.view_shift
    )
    print(f"wrote synthetic Ego2Exo ({args.scale}, seed {args.seed}, view shift {args.view_shift}) to {path}")
    return 0


def summarize(dataset) -> str:
    """Split sizes and the most frequent classes of a built DatasetDict."""
    lines = []
    for split in SPLITS:
        part = dataset[split]
        counts = Counter(part["label"][:])
        top = ", ".join(f"{CLASS_NAMES[c]} {n}" for c, n in counts.most_common(3))
        captioned = sum(bool(t) for t in part["text_caption"][:])
        lines.append(
            f"{split:>10}: {len(part):5d} segments, {len(counts):2d} classes, {captioned:5d} captioned; top: {top}"
        )
    return "\n".join(lines)


def run_build(args) -> int:
    from .data.builder import load_ego2exo

    dataset = load_ego2exo(args.data_dir, args.config, cache_dir=args.cache_dir, num_proc=args.num_proc)
    print(f"Ego2Exo `{args.config}` built from {args.data_dir}")
    print(summarize(dataset))
    return 0


def run_export(args) -> int:
    from .data.export import export_dataset, push_dataset
    from .hub import check_hub_access

    if args.push_to_hub:
        check_hub_access(args.push_to_hub, repo_type="dataset")
    out = export_dataset(args.data_dir, args.output_dir, configs=args.configs, cache_dir=args.cache_dir,
                         num_proc=args.num_proc, overwrite=args.overwrite)  # fmt: skip
    print(f"wrote {', '.join(args.configs)} to {out}; load it with datasets.load_dataset({str(out)!r}, 'pooled')")
    if args.push_to_hub:
        push_dataset(out, args.push_to_hub)
        print(f"pushed to https://huggingface.co/datasets/{args.push_to_hub}")
    return 0


def run_pseudo_label(args) -> int:
    """Pseudo-label one caption split with a saved text-stage pseudo-labeller; the same files the stage wrote."""
    from .data.builder import load_ego2exo
    from .text.pseudo_labeller import CaptionPseudoLabeller
    from .utils import check_output_file

    check_output_file(args.output_file, args.data_dir)  # before the work, not after
    labeller = CaptionPseudoLabeller.from_pretrained(args.model)
    split = load_ego2exo(args.data_dir, "text", cache_dir=args.cache_dir)[args.split]
    probabilities = labeller.predict_split(split, args.data_dir, args.split)
    counts = labeller.write(probabilities, split["segment_id"], args.output_file, args.confidence_threshold)
    parquet = Path(args.output_file).with_suffix(".parquet")
    print(f"wrote {args.output_file} ({counts['kept']} of {counts['count']} segments) and {parquet}; "
          f"mean confidence {counts['mean_confidence']:.3f}")  # fmt: skip
    return 0
