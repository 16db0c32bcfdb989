"""Data layer: official-format reader, `datasets` builder, synthetic stand-in, export, pseudo-labels."""

from .builder import Ego2Exo, load_ego2exo
from .official import read_metadata, segment_id
from .pseudo_labels import read_pseudo_labels, write_pseudo_labels
from .synthetic import write_synthetic

__all__ = [
    "Ego2Exo",
    "load_ego2exo",
    "read_metadata",
    "read_pseudo_labels",
    "segment_id",
    "write_pseudo_labels",
    "write_synthetic",
]
