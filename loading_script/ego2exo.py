"""Classic Hugging Face loading script for Ego2Exo (for `datasets<4`, which still runs loading scripts).

    datasets.load_dataset("loading_script/ego2exo.py", "pooled", data_dir="path/to/data_dir")

With `datasets>=4` use the Parquet export instead (`ego2exo export`, then `load_dataset(<folder>, "pooled")`)
or the package directly (`ego2exo_hf.load_ego2exo`). The builder lives in the `ego2exo_hf` package; this
script only exposes it under the name `datasets` looks for.
"""

from ego2exo_hf.data.builder import Ego2Exo as _Ego2ExoBuilder


class Ego2Exo(_Ego2ExoBuilder):
    """Ego2Exo: ego/exo keystep segments with captions and Omnivore features (configs: text, pooled, frames)."""
