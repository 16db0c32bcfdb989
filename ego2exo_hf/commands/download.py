"""`ego2exo download`: ego2exo.json from the Hub, then the Omnivore features of its takes with Meta's `egoexo`.

Two steps, both resumable: the metadata (`data.metadata`: copied in atomically, its sha256 recorded and checked
on later runs), then the feature files of exactly the takes it references (`data.egoexo`: takes whose files are
present and valid are skipped and files already downloaded are never deleted: after a failure, run it again).
"""

from ..constants import EGOEXO_PARTS, FEATURE_SUBDIR
from .options import add_command, positive_int


def add_parser(subparsers):
    parser = add_command(subparsers, "download", run, "download ego2exo.json and the Omnivore features of its takes",
                         description="Fetch ego2exo.json from the Hub, then the Omnivore features of its takes with "
                         "Meta's `egoexo` (Ego-Exo4D licence and AWS credentials needed). Resumable.")  # fmt: skip
    parser.add_argument("--data_dir", required=True, help="where the official layout is written")
    parser.add_argument("--revision", default=None, help="revision of the Hub dataset (default main)")
    parser.add_argument("--metadata", metavar="PATH", help="use this local ego2exo.json instead of the Hub's")
    parser.add_argument("--parts", nargs="+", default=[FEATURE_SUBDIR], metavar="PART", choices=EGOEXO_PARTS,
                        help="egoexo parts (default: the features; videos: takes, downscaled_takes/448)")  # fmt: skip
    parser.add_argument("--batch_size", type=positive_int, default=20, help="take UIDs per egoexo call (default 20)")
    parser.add_argument("--skip_features", action="store_true", help="only fetch the metadata")
    parser.add_argument("--egoexo", default="egoexo", help="the egoexo executable (default egoexo)")
    return parser


def run(args) -> int:
    from ..data.egoexo import download_features
    from ..data.metadata import download_metadata
    from ..errors import Ego2ExoError
    from ..utils import ensure_writable_dir

    data_dir = ensure_writable_dir(args.data_dir)
    download_metadata(data_dir, revision=args.revision, metadata=args.metadata)
    if args.skip_features:
        return 0
    missing = download_features(data_dir, parts=args.parts, batch_size=args.batch_size, egoexo=args.egoexo)
    if missing:
        raise Ego2ExoError(
            f"{sum(map(len, missing.values()))} feature files are still missing after `egoexo` finished "
            "(listed above): run the command again; if they stay missing, Ego-Exo4D may not publish them"
        )
    return 0
