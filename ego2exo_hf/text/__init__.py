"""Building blocks of the text stage (`train_text.py`): arguments, captions, the caption Trainer, the n-gram model,
pooling, and the pseudo-labeller that ties them into one artefact."""
