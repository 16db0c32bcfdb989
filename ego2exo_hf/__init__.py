"""ego2exo-hf: the Ego2Exo benchmark and LaGTran on the Hugging Face stack.

Attributes load on first use, so `import ego2exo_hf` (and every `--help`) stays fast; `FeatureClassifier` is
registered with the Transformers Auto classes as soon as `transformers`' Auto models are imported.
"""

from ._auto_registration import register_when_transformers_loads
from ._lazy import lazy_attributes

__version__ = "0.1.0"

_ATTRIBUTES = {
    "CLASS_NAMES": ".constants",
    "NUM_CLASSES": ".constants",
    "Ego2ExoError": ".errors",
    "load_ego2exo": ".data",
    "read_pseudo_labels": ".data",
    "segment_id": ".data",
    "write_synthetic": ".data",
    "FeatureClassifier": ".models",
    "FeatureClassifierConfig": ".models",
    "CaptionPseudoLabeller": ".text.pseudo_labeller",
}
__all__ = list(_ATTRIBUTES)


__getattr__, __dir__ = lazy_attributes(__name__, _ATTRIBUTES)

register_when_transformers_loads()
