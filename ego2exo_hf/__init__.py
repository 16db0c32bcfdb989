"""ego2exo-hf: the Ego2Exo benchmark and LaGTran on the Hugging Face stack."""

__version__ = "0.1.0"

from .constants import CLASS_NAMES, NUM_CLASSES  # noqa: E402
from .data import load_ego2exo, read_pseudo_labels, segment_id, write_synthetic  # noqa: E402
from .errors import Ego2ExoError  # noqa: E402
from .models import FeatureClassifier, FeatureClassifierConfig  # noqa: E402  (registers the Auto classes)

__all__ = [
    "CLASS_NAMES",
    "NUM_CLASSES",
    "Ego2ExoError",
    "FeatureClassifier",
    "FeatureClassifierConfig",
    "load_ego2exo",
    "read_pseudo_labels",
    "segment_id",
    "write_synthetic",
]
