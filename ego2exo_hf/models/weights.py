"""Weights that cannot be read, or do not fit the model they are loaded into, end in one line naming the tensor.

transformers reports a size mismatch as a table and a traceback, and loads a file whose tensors have other names
with random weights in their place (a warning only); a truncated file is a safetensors header error. Every path
that loads this project's weights (resume, predict, pseudo-label, `FeatureClassifier.from_pretrained`) checks the
file's header against the model first, reading no tensor data.
"""

from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open

from ..errors import Ego2ExoError, first_line

WEIGHTS_FILE = "model.safetensors"
HOW_ON = "was config.json edited, or the weights file swapped? Retrain, or restore the folder's original files"


def weight_shapes(file) -> dict[str, tuple[int, ...]]:
    """Name -> shape of every tensor in a safetensors file, from its header alone."""
    try:
        with safe_open(str(file), framework="pt") as weights:
            return {name: tuple(weights.get_slice(name).get_shape()) for name in weights.keys()}
    except (SafetensorError, OSError) as err:
        raise Ego2ExoError(f"{file}: unreadable weights, truncated or not a safetensors file ({first_line(err)})")


def check_weights(file, model: torch.nn.Module, remedy: str = HOW_ON) -> None:
    """One line (ending in `remedy`) when `file` lacks a tensor of `model`'s state dict, holds another shape, or
    holds extra tensors. `model` may live on the meta device: only its shapes are read."""
    found = weight_shapes(file)
    expected = {name: tuple(tensor.shape) for name, tensor in model.state_dict().items()}
    missing = [name for name in expected if name not in found]
    reshaped = [name for name in expected if name in found and found[name] != expected[name]]
    extra = sorted(set(found) - set(expected))
    if missing:
        problem = f"no tensor {missing[0]} ({len(missing)} of the model's {len(expected)} tensors missing)"
    elif reshaped:
        name = reshaped[0]
        problem = f"tensor {name} is {list(found[name])} but the model's configuration makes it {list(expected[name])}"
    elif extra:
        problem = f"tensor {extra[0]} is not part of the model ({len(extra)} extra tensors)"
    else:
        return
    raise Ego2ExoError(f"{file}: {problem}; {remedy}")


def check_pretrained(folder, build) -> None:
    """Check `<folder>/model.safetensors` against the model `build(config)` makes of `<folder>/config.json`,
    built on the meta device (no memory, no init). A folder without that file is left to `from_pretrained`."""
    file = Path(folder) / WEIGHTS_FILE
    if file.is_file():
        with torch.device("meta"):
            model = build()
        check_weights(file, model)
