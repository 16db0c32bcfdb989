"""The `ego2exo` sub-commands, one module each: `add_parser(subparsers)` declares the command's options with the
standard library alone and `run(args)` imports and calls the library, so every `--help` returns at once.

`train.py` is the home of `train-text` and `train-video`, whose options are parsed by the scripts themselves.
"""

COMMANDS = (
    "synth", "build", "export", "download", "verify", "train", "pseudo_label", "predict", "evaluate_pseudo_labels",
    "demo", "benchmark",
)  # fmt: skip
