"""Data layer: official-format reader, `datasets` builder, synthetic stand-in, export, pseudo-labels.

Attributes load on first use: `ego2exo_hf.data.pseudo_labels` alone does not pull in `datasets` or torch.
"""

import importlib

_ATTRIBUTES = {
    "Ego2Exo": ".builder",
    "load_ego2exo": ".builder",
    "read_metadata": ".official",
    "segment_id": ".official",
    "read_pseudo_labels": ".pseudo_labels",
    "write_pseudo_labels": ".pseudo_labels",
    "write_synthetic": ".synthetic",
}
__all__ = list(_ATTRIBUTES)


def __getattr__(name: str):
    if name not in _ATTRIBUTES:
        raise AttributeError(f"module 'ego2exo_hf.data' has no attribute {name!r}")
    value = getattr(importlib.import_module(_ATTRIBUTES[name], __name__), name)
    globals()[name] = value
    return value
