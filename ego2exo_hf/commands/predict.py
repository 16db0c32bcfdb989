"""`ego2exo predict`: the keysteps of a split, predicted by a trained feature classifier."""

from .options import add_command, add_data_options, positive_int


def add_parser(subparsers):
    parser = add_command(subparsers, "predict", run,
                         "predict the keysteps of a split with a feature classifier (folder or Hub id)")  # fmt: skip
    parser.add_argument("--model", required=True, help="train_video.py output folder or Hub repo id")
    add_data_options(parser, split="ego_val")
    parser.add_argument("--output_file", "--out", help="write the predictions as a Parquet file")
    parser.add_argument("--batch_size", type=positive_int, default=1024, help="rows per batch (default 1024)")
    return parser


def run(args) -> int:
    from collections import Counter

    import numpy as np

    from ..utils import check_output_file
    from ..video.prediction import load_feature_classifier, predict_split, write_predictions

    if args.output_file:
        check_output_file(args.output_file, args.data_dir)  # before the work, not after
    model = load_feature_classifier(args.model)
    table, metrics = predict_split(model, args.data_dir, args.split, cache_dir=args.cache_dir,
                                   batch_size=args.batch_size)  # fmt: skip
    print(f"{args.split}: {len(table)} segments predicted with {args.model}")
    if len(table):
        common = Counter(table["prediction_name"][:]).most_common(3)
        mean_confidence = float(np.mean(table["confidence"][:]))
        print(f"mean confidence {mean_confidence:.3f}; most predicted: " + ", ".join(f"{n} {c}" for n, c in common))
    if metrics is not None:
        print(f"accuracy: top-1 {metrics['top1']:.2f}%, top-5 {metrics['top5']:.2f}%, "
              f"mean-class {metrics['mean_class']:.2f}%")  # fmt: skip
    if args.output_file:
        print(f"wrote {write_predictions(table, args.output_file)}")
    return 0
