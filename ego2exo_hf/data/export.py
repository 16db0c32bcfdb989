"""Export the built dataset to Parquet with a dataset card, for script-free `datasets.load_dataset`."""

import math
from pathlib import Path

from ..cards import write_dataset_card
from ..constants import SPLITS
from ..utils import new_output_directory
from .builder import load_ego2exo

MAX_SHARD_BYTES = 500 * 2**20
DEFAULT_EXPORT_CONFIGS = ("text", "pooled")


def export_dataset(
    data_dir, out_dir, configs=DEFAULT_EXPORT_CONFIGS, cache_dir=None, num_proc=None, overwrite=False
) -> Path:
    """Write `<out_dir>/<config>/<split>-XXXXX-of-YYYYY.parquet` and `<out_dir>/README.md` (with `configs:`).

    The folder appears only when complete; an existing one is replaced only if it is an earlier export (or
    empty, or `overwrite`), and never if it overlaps `data_dir`.
    """
    default = "pooled" if "pooled" in configs else configs[0]
    split_sizes = {}
    with new_output_directory(out_dir, "export", overwrite=overwrite, data_dir=data_dir) as tmp:
        for config in configs:
            dataset = load_ego2exo(data_dir, config, cache_dir=cache_dir, num_proc=num_proc)
            (tmp / config).mkdir()
            for split in SPLITS:
                part = dataset[split]
                num_shards = max(1, math.ceil(part.data.nbytes / MAX_SHARD_BYTES))
                for index in range(num_shards):
                    shard = part.shard(num_shards, index, contiguous=True)
                    shard.to_parquet(str(tmp / config / f"{split}-{index:05d}-of-{num_shards:05d}.parquet"))
                split_sizes[split] = len(part)
        write_dataset_card(tmp, configs=list(configs), split_sizes=split_sizes, default=default)
    return Path(out_dir).resolve()


def push_dataset(out_dir, repo_id: str, private=None):
    """Upload an exported folder as a Hub dataset repo; then `load_dataset(repo_id, config)` works."""
    from ..hub import push_folder

    return push_folder(out_dir, repo_id, repo_type="dataset", commit_message="Upload Ego2Exo", private=private)
