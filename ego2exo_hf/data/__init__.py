"""Data layer: official-format reader, `datasets` builder, synthetic stand-in, export, pseudo-labels.

Attributes load on first use: `ego2exo_hf.data.pseudo_labels` alone does not pull in `datasets` or torch.
"""

from .._lazy import lazy_attributes

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


__getattr__, __dir__ = lazy_attributes(__name__, _ATTRIBUTES)
