"""Step 1 of `ego2exo download`, and what the metadata says about the takes.

`ego2exo.json` comes from the Hugging Face dataset repo (`huggingface_hub.hf_hub_download`, so the Hub cache,
`HF_HUB_OFFLINE` and `--revision` behave as everywhere else in the ecosystem) or from a local copy
(`--metadata PATH`). It is copied into `<data_dir>` atomically and its sha256 is recorded in
`<data_dir>/.ego2exo_checksums.json`; later runs (and `ego2exo verify`) refuse a local copy that no longer
matches. The take-list helpers read the metadata's records and the benchmark's 249 train takes (package data).
"""

import json
import shutil
import sys
from importlib import resources
from pathlib import Path

from huggingface_hub import constants as hub_constants
from huggingface_hub import hf_hub_download
from huggingface_hub.errors import (
    EntryNotFoundError,
    GatedRepoError,
    HfHubHTTPError,
    LocalEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from ..constants import HUB_DATASET_REPO, METADATA_FILE, SPLITS
from ..errors import Ego2ExoError, first_line
from ..utils import atomic_path, atomic_write_text, sha256_file

CHECKSUM_FILE = ".ego2exo_checksums.json"


def read_checksums(data_dir) -> dict:
    path = Path(data_dir) / CHECKSUM_FILE
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise Ego2ExoError(f"{path} cannot be read ({err}); delete it and run `ego2exo download`") from err


def check_metadata_checksum(data_dir) -> str | None:
    """Check `<data_dir>/ego2exo.json` against the sha256 recorded at download; return it (None if none)."""
    path = Path(data_dir) / METADATA_FILE
    recorded = read_checksums(data_dir).get(METADATA_FILE, {}).get("sha256")
    if recorded is None or not path.is_file():
        return None
    actual = sha256_file(path)
    if actual != recorded:
        raise Ego2ExoError(
            f"{path} changed since it was downloaded (sha256 {actual[:12]}..., recorded {recorded[:12]}... "
            f"in {Path(data_dir) / CHECKSUM_FILE}): it was modified or corrupted. Delete it and run "
            f"`ego2exo download --data_dir {data_dir}` again (add --metadata PATH to use your own copy)"
        )
    return actual


def fetch_metadata_from_hub(revision=None) -> Path:
    """Path of `ego2exo.json` in the Hub cache: downloaded if needed, from the cache alone when offline."""
    what = f"{METADATA_FILE} of the dataset repo {HUB_DATASET_REPO} (revision {revision or 'main'})"
    try:
        return Path(hf_hub_download(HUB_DATASET_REPO, METADATA_FILE, repo_type="dataset", revision=revision))
    except LocalEntryNotFoundError as err:
        if hub_constants.is_offline_mode():
            raise Ego2ExoError(
                f"HF_HUB_OFFLINE is set and {what} is not in the Hugging Face cache: unset HF_HUB_OFFLINE "
                "and run this command once with a connection, or pass --metadata PATH to use a local copy"
            ) from err
        raise Ego2ExoError(
            f"cannot reach the Hugging Face Hub and {what} is not in the cache: check the connection, "
            "or pass --metadata PATH to use a local copy"
        ) from err
    except (RevisionNotFoundError, EntryNotFoundError) as err:
        raise Ego2ExoError(f"{what} not found on the Hub ({type(err).__name__}): check --revision") from err
    except (RepositoryNotFoundError, GatedRepoError) as err:
        raise Ego2ExoError(f"{what}: repository not accessible ({type(err).__name__}); log in?") from err
    except HfHubHTTPError as err:
        raise Ego2ExoError(f"{what}: download failed ({first_line(err, limit=sys.maxsize)})") from err


def install_metadata(data_dir, source, *, origin: str) -> Path:
    """Copy `source` to `<data_dir>/ego2exo.json` atomically and record its sha256 (no-op if unchanged)."""
    data_dir = Path(data_dir)
    target = data_dir / METADATA_FILE
    current = check_metadata_checksum(data_dir)  # raises if the local copy was tampered with
    digest = sha256_file(source)
    if target.is_file() and (current or sha256_file(target)) == digest:
        print(f"{target} is up to date (sha256 {digest[:12]}...)")
    else:
        if target.is_file():
            print(f"replacing {target} with {origin} (sha256 {digest[:12]}...)")
        with atomic_path(target) as tmp:
            shutil.copyfile(source, tmp)
        print(f"wrote {target} from {origin}")
    checksums = read_checksums(data_dir)
    checksums[METADATA_FILE] = {"sha256": digest, "source": origin}
    atomic_write_text(data_dir / CHECKSUM_FILE, json.dumps(checksums, indent=2) + "\n")
    return target


def download_metadata(data_dir, *, revision=None, metadata=None) -> Path:
    """Step 1: put `ego2exo.json` into `data_dir` (from `metadata` if given, else from the Hub)."""
    if metadata is not None:
        source = Path(metadata)
        if not source.is_file():
            raise Ego2ExoError(f"--metadata {source}: no such file")
        return install_metadata(data_dir, source, origin=str(source.resolve()))
    origin = f"hf://datasets/{HUB_DATASET_REPO}/{METADATA_FILE}@{revision or 'main'}"
    try:
        source = fetch_metadata_from_hub(revision)
    except Ego2ExoError as err:
        # Hub and cache out of reach: a verified local copy will do, unless another revision was asked for.
        local = Path(data_dir) / METADATA_FILE
        recorded = read_checksums(data_dir).get(METADATA_FILE, {}).get("source")
        if check_metadata_checksum(data_dir) is None or (revision is not None and recorded != origin):
            raise
        print(f"warning: {err}; keeping the verified copy {local}", file=sys.stderr)
        return local
    return install_metadata(data_dir, source, origin=origin)


# ----------------------------------------------------------------------------------------------- take lists
def parse_take_ids(text: str) -> list[str]:
    """The take UIDs of a take list's text (one per line, blank lines skipped)."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def official_train_takes() -> list[str]:
    """The 249 train take UIDs of the benchmark (package data)."""
    return parse_take_ids(resources.files("ego2exo_hf").joinpath("resources/train_take_ids.txt").read_text())


def expected_feature_files(meta: dict[str, list[dict]]) -> dict[str, set[str]]:
    """`{take_uid: {feature_file_name, ...}}` over all splits of `read_metadata`'s output."""
    files: dict[str, set[str]] = {}
    for records in meta.values():
        for record in records:
            files.setdefault(record["take_uid"], set()).add(record["feature_file_name"])
    return files


def check_train_takes(meta: dict[str, list[dict]], path) -> None:
    """Warn when the train takes of the metadata are not the 249 of the benchmark."""
    found = {r["take_uid"] for split in SPLITS if split.endswith("_train") for r in meta[split]}
    official = set(official_train_takes())
    if found != official:
        missing, extra = sorted(official - found), sorted(found - official)
        print(
            f"warning: the train takes of {path} are not the {len(official)} "
            f"of the Ego2Exo benchmark ({len(missing)} missing, e.g. {missing[:2]}; {len(extra)} extra, e.g. "
            f"{extra[:2]}): results on this copy are not comparable to the published ones",
            file=sys.stderr,
        )
