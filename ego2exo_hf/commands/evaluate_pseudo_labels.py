"""`ego2exo evaluate-pseudo-labels`: accuracy and coverage of an official-format pseudo-label file."""

from ..constants import SPLITS
from .options import add_command, add_data_options


def add_parser(subparsers):
    parser = add_command(subparsers, "evaluate-pseudo-labels", run,
                         "accuracy and coverage of an official-format pseudo-label file")  # fmt: skip
    parser.add_argument("--pseudo_labels", required=True, help="'<segment_id> <category_id>' lines")
    add_data_options(parser)
    parser.add_argument("--split", choices=SPLITS, help="split (default: the target of ego2exo_<source>_<target>.txt)")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
    return parser


def run(args) -> int:
    import json

    from ..constants import CLASS_NAMES
    from ..data.pseudo_labels import evaluate_pseudo_labels, split_from_file_name

    split = args.split or split_from_file_name(args.pseudo_labels)
    report = evaluate_pseudo_labels(args.pseudo_labels, args.data_dir, split, cache_dir=args.cache_dir)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"{report['file']} on {report['split']}: {report['num_pseudo_labels']} of {report['num_segments']} "
          f"segments pseudo-labelled (coverage {report['coverage']:.2f}%)")  # fmt: skip
    print(f"top-1 {report['top1']:.2f}%, mean-class {report['mean_class']:.2f}% (over the pseudo-labelled segments)")
    width = max(map(len, CLASS_NAMES))
    for name, accuracy in report["per_class"].items():
        shown = "    -" if accuracy is None else f"{accuracy:6.2f}%"
        print(f"  {name:<{width}}  {shown}  ({report['class_counts'][name]} segments)")
    return 0
