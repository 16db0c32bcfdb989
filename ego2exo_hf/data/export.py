"""Export the built dataset to Parquet with a dataset card, for script-free `datasets.load_dataset`."""

import math
from pathlib import Path

from huggingface_hub import DatasetCard, DatasetCardData

from ..constants import CITATION, CLASS_NAMES, HUB_DATASET_REPO, SPLITS
from ..utils import atomic_directory
from .builder import load_ego2exo

MAX_SHARD_BYTES = 500 * 2**20
DEFAULT_EXPORT_CONFIGS = ("text", "pooled")


def _size_category(n: int) -> str:
    bounds = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K")]
    return next((name for bound, name in bounds if n < bound), "100K<n<1M")


def _card(configs, split_sizes: dict, default: str) -> DatasetCard:
    yaml_configs = [
        {
            "config_name": config,
            **({"default": True} if config == default else {}),
            "data_files": [{"split": split, "path": f"{config}/{split}-*.parquet"} for split in SPLITS],
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
        size_categories=[_size_category(sum(split_sizes.values()))],
        configs=yaml_configs,
    )
    sizes = "\n".join(f"| {split} | {n} |" for split, n in split_sizes.items())
    classes = ", ".join(f"{i} {name}" for i, name in enumerate(CLASS_NAMES))
    content = f"""---
{card_data.to_yaml()}
---

# Ego2Exo

Video domain adaptation between egocentric (`ego`) and exocentric (`exo`) views of Ego-Exo4D cooking takes:
keystep segments with one of 24 labels, natural-language captions for train segments, and Omnivore video
features (1536-d per 32-frame window). Exported by [ego2exo-hf](https://github.com/ego2exo-hf/ego2exo-hf)
from `{HUB_DATASET_REPO}`'s `ego2exo.json` (or the synthetic stand-in) and the Ego-Exo4D features.

```python
import datasets
ds = datasets.load_dataset("<this repo or folder>", "pooled")   # configs: {", ".join(configs)}
```

- `text`: segment metadata, `label` (ClassLabel), `text_caption` (empty on val splits), `annotator_texts`.
- `pooled`: plus `features`, the mean Omnivore feature of the segment's windows (1536 float32).
- `frames`: plus `frame_features`, the per-window features (num_windows x 1536).

| split | segments |
|---|---|
{sizes}

Classes: {classes}.

## Licence
The metadata come from the LaGTran release (MIT). Features and videos are Ego-Exo4D data: their use is
governed by Meta's Ego-Exo4D licence (https://ego-exo4d-data.org/); agree to it before use.

## Citation
```bibtex
{CITATION}
```
"""
    return DatasetCard(content)


def export_dataset(data_dir, out_dir, configs=DEFAULT_EXPORT_CONFIGS, cache_dir=None, num_proc=None) -> Path:
    """Write `<out_dir>/<config>/<split>-XXXXX-of-YYYYY.parquet` and `<out_dir>/README.md` (with `configs:`).

    The folder appears only when complete.
    """
    default = "pooled" if "pooled" in configs else configs[0]
    split_sizes = {}
    with atomic_directory(out_dir) as tmp:
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
        _card(list(configs), split_sizes, default).save(tmp / "README.md")
    return Path(out_dir)


def push_dataset(out_dir, repo_id: str, private=None):
    """Upload an exported folder as a Hub dataset repo; then `load_dataset(repo_id, config)` works."""
    from ..hub import push_folder

    return push_folder(out_dir, repo_id, repo_type="dataset", commit_message="Upload Ego2Exo", private=private)
