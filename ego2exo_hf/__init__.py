"""ego2exo-hf: the Ego2Exo benchmark and LaGTran on the Hugging Face stack.

Attributes load on first use, so `import ego2exo_hf` (and every `--help`) stays fast; `FeatureClassifier` is
registered with the Transformers Auto classes as soon as `transformers`' Auto models are imported.
"""

import importlib

from ._auto_registration import register_when_transformers_loads

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


def __getattr__(name: str):
    if name not in _ATTRIBUTES:
        raise AttributeError(f"module 'ego2exo_hf' has no attribute {name!r}")
    value = getattr(importlib.import_module(_ATTRIBUTES[name], __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted([*globals(), *_ATTRIBUTES])


register_when_transformers_loads()
