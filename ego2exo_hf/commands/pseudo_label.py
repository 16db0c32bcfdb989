"""`ego2exo pseudo-label`: pseudo-label a caption split with a saved text-stage pseudo-labeller."""

from .options import add_command, add_data_options


def add_parser(subparsers):
    parser = add_command(subparsers, "pseudo-label", run,
                         "pseudo-label a caption split with a text-stage folder or Hub repo")  # fmt: skip
    parser.add_argument("--model", required=True, help="train_text.py output folder or Hub repo id")
    add_data_options(parser, split="ego_train")
    parser.add_argument("--output_file", "--out", required=True, help="official-format .txt (a .parquet goes beside)")
    parser.add_argument("--confidence_threshold", type=float, default=0.0, help="leave out labels below (default 0)")
    return parser


def run(args) -> int:
    """The same files the text stage writes, from a saved pseudo-labeller."""
    from pathlib import Path

    from ..data.builder import load_split
    from ..text.pseudo_labeller import CaptionPseudoLabeller
    from ..utils import check_output_file

    check_output_file(args.output_file, args.data_dir)  # before the work, not after
    labeller = CaptionPseudoLabeller.from_pretrained(args.model)
    split = load_split(args.data_dir, "text", args.split, cache_dir=args.cache_dir)
    probabilities = labeller.predict_split(split, args.data_dir, args.split)
    counts = labeller.write(probabilities, split["segment_id"], args.output_file, args.confidence_threshold)
    parquet = Path(args.output_file).with_suffix(".parquet")
    print(f"wrote {args.output_file} ({counts['kept']} of {counts['count']} segments) and {parquet}; "
          f"mean confidence {counts['mean_confidence']:.3f}")  # fmt: skip
    return 0
