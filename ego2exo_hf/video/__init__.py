"""Building blocks of the video stage (`train_video.py`): arguments, data, methods, loop parts, checkpoints."""
