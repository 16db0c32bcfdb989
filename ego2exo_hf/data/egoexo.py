"""Step 2 of `ego2exo download`: the Omnivore features of the metadata's takes, with Meta's `egoexo`.

`egoexo` is Meta's downloader (PyPI package `ego4d`, extra `ego2exo-hf[download]`); it needs the Ego-Exo4D
licence and reads AWS-style credentials (checked here before it runs, and recognised in its output)::

    egoexo -o <data_dir> --parts features/omnivore_video --uids <take_uid> ... -y

`egoexo` writes each file to `<out_dir>/<relative path of its manifest>`, which for the current release is
`features/omnivore_video/<take_uid>_<cam_id>_<stream_id>.pt`: the layout `ego2exo.json` refers to, so
files land in place. Older manifests (and the v1 documentation) put them directly under `features/`;
such files are hard-linked (or, across file systems, moved) into `features/omnivore_video/`, so that both
`egoexo`'s own resume check and ours see them. We never pass `egoexo --delete`, and `egoexo` only
rewrites files whose size differs from the remote one, so a failed or interrupted run loses nothing:
run the command again and takes whose files are present and valid are skipped.
"""

import configparser
import os
import shutil
import subprocess
from pathlib import Path

from tqdm.auto import tqdm

from ..constants import FEATURE_SUBDIR, METADATA_FILE
from ..errors import Ego2ExoError
from .metadata import check_train_takes, expected_feature_files
from .official import load_feature_file, read_metadata

FEATURE_PART = FEATURE_SUBDIR
LICENCE_HELP = (
    "Ego-Exo4D data needs a licence from Meta: fill in the form at https://ego4ddataset.com/egoexo-license/ "
    "(see https://docs.ego-exo4d-data.org/getting-started/), then store the AWS access key you receive with "
    "`aws configure` (egoexo reads the `default` profile of ~/.aws/credentials) and run this command again"
)
# What `egoexo` (boto3 and its own checks) prints when credentials are missing, wrong or expired; checked
# against ego4d 1.7.3: without a `default` profile boto3 raises ProfileNotFound, even if AWS_ACCESS_KEY_ID is set.
CREDENTIAL_ERRORS = (
    "ProfileNotFound",
    "Unable to locate credentials",
    "NoCredentialsError",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "AccessDenied",
    "Forbidden",
    "could not get manifests for all parts",
)
CONNECTION_ERRORS = ("EndpointConnectionError", "Could not connect to the endpoint URL", "NameResolutionError")


def _adopt_legacy_location(data_dir: Path, file_name: str) -> None:
    """Bring `features/<name>.pt` (older egoexo manifests) to `features/omnivore_video/<name>.pt`."""
    target = data_dir / file_name
    legacy = data_dir / "features" / Path(file_name).name
    if target.exists() or not legacy.is_file() or Path(file_name).parent.as_posix() != FEATURE_SUBDIR:
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(legacy, target)
    except OSError:
        os.replace(legacy, target)


def feature_file_ok(path) -> bool:
    """True when `path` loads as an (N, 1536) feature tensor."""
    try:
        load_feature_file(path)
    except Ego2ExoError:
        return False
    return True


def incomplete_takes(data_dir, expected: dict[str, set[str]], takes=None) -> dict[str, list[str]]:
    """`{take_uid: [missing or invalid file, ...]}` for the takes (default: all) not yet complete."""
    data_dir = Path(data_dir)
    todo = {}
    takes = sorted(expected if takes is None else takes)
    for take in tqdm(takes, desc="checking local files", unit="take", disable=len(takes) < 50):
        bad = []
        for name in sorted(expected[take]):
            _adopt_legacy_location(data_dir, name)
            if not feature_file_ok(data_dir / name):
                bad.append(name)
        if bad:
            todo[take] = bad
    return todo


def find_egoexo(egoexo: str) -> str:
    path = shutil.which(egoexo)
    if path is None:
        raise Ego2ExoError(
            f"`{egoexo}` not found: install Meta's downloader with `pip install 'ego2exo-hf[download]'` "
            "(package ego4d), or pass --egoexo PATH"
        )
    return path


def has_default_aws_profile() -> bool:
    """Whether boto3 finds the `default` profile `egoexo` asks for (`aws configure` writes it)."""
    files = [
        os.environ.get("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials"),
        os.environ.get("AWS_CONFIG_FILE", "~/.aws/config"),
    ]
    parser = configparser.ConfigParser()
    try:
        parser.read([Path(f).expanduser() for f in files])
    except configparser.Error:
        return True  # unusual but maybe valid for boto3: let egoexo decide
    return parser.has_section("default") or parser.has_section("profile default")


def run_egoexo(egoexo: str, data_dir, parts, uids) -> subprocess.CompletedProcess:
    """One `egoexo` call for a batch of take UIDs; its output is captured and returned."""
    cmd = [egoexo, "-o", str(data_dir), "--parts", *parts, "--uids", *uids, "-y"]
    return subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True)


def _tail(text: str, lines: int = 8) -> str:
    return "\n".join("    " + line for line in text.strip().splitlines()[-lines:])


def download_features(data_dir, *, parts=(FEATURE_PART,), batch_size=20, egoexo="egoexo") -> dict:
    """Step 2: fetch the features (and/or videos) of the metadata's takes; return `{take: [missing file]}`.

    Takes whose feature files are present and valid are skipped. Video parts cannot be checked here, so
    when one is asked for every take is passed on and `egoexo` skips the files it already has.
    """
    data_dir = Path(data_dir)
    meta = read_metadata(data_dir)
    check_train_takes(meta, data_dir / METADATA_FILE)
    expected = expected_feature_files(meta)
    with_features, todo = FEATURE_PART in parts, {}
    if with_features:
        todo = incomplete_takes(data_dir, expected)
        complete = len(expected) - len(todo)
        print(f"{len(expected)} takes in the metadata, {complete} with all their feature files")
    wanted = sorted(todo) if with_features and set(parts) == {FEATURE_PART} else sorted(expected)
    if not wanted:
        print("nothing to download")
        return {}
    exe = find_egoexo(egoexo)
    if not has_default_aws_profile():
        raise Ego2ExoError(f"no `default` profile in ~/.aws/credentials or ~/.aws/config. {LICENCE_HELP}")

    failed: list[str] = []
    batches = [wanted[i : i + batch_size] for i in range(0, len(wanted), batch_size)]
    with tqdm(total=len(wanted), desc="egoexo", unit="take") as bar:
        for batch in batches:
            result = run_egoexo(exe, data_dir, parts, batch)
            output = f"{result.stdout}\n{result.stderr}"
            if any(marker in output for marker in CONNECTION_ERRORS):
                raise Ego2ExoError(
                    f"`egoexo` cannot reach Ego-Exo4D's S3 storage:\n{_tail(output, 2)}\nCheck the connection "
                    "and run this command again; files already downloaded are kept"
                )
            if any(marker in output for marker in CREDENTIAL_ERRORS):
                raise Ego2ExoError(
                    f"`egoexo` could not access Ego-Exo4D (credentials missing, wrong or expired):\n"
                    f"{_tail(output, 2)}\n{LICENCE_HELP}. Files already downloaded are kept"
                )
            if result.returncode != 0:
                failed.extend(batch)
                code = result.returncode
                tqdm.write(f"egoexo exited with code {code} for {len(batch)} takes:\n{_tail(output)}")
            bar.update(len(batch))

    missing = incomplete_takes(data_dir, expected, takes=wanted) if with_features else {}
    if with_features:
        report_missing(missing)
    if failed:
        raise Ego2ExoError(
            f"`egoexo` failed for {len(failed)} takes: {' '.join(failed)}. Files already downloaded are "
            f"kept: run `ego2exo download --data_dir {data_dir}` again to fetch the rest"
        )
    return missing


def report_missing(missing: dict[str, list[str]], limit: int = 20) -> None:
    if not missing:
        print("all feature files are present and valid")
        return
    files = [name for names in missing.values() for name in names]
    print(f"{len(files)} feature files of {len(missing)} takes are still missing or invalid:")
    for name in files[:limit]:
        print(f"  {name}")
    if len(files) > limit:
        print(f"  ... and {len(files) - limit} more (`ego2exo verify` lists them all)")
