"""`ego2exo train-text` and `ego2exo train-video`: the two training scripts (installed as modules), whose own
parsers read the options, so the script and the sub-command accept the same words."""

import importlib

STAGE_SCRIPTS = {"train-text": "train_text", "train-video": "train_video"}
STAGE_HELP = {
    "train-text": "text stage: source caption classifier -> target pseudo-labels (= python train_text.py)",
    "train-video": "video stage: the feature classifier (= python train_video.py)",
}


def add_parser(subparsers):
    for name, help in STAGE_HELP.items():  # listed in `ego2exo --help`; parsed by the script (see run)
        subparsers.add_parser(name, help=help, add_help=False)


def run(command: str, words: list[str]) -> int:
    """Hand the words after `ego2exo <command>` to the script's `main`."""
    script = importlib.import_module(STAGE_SCRIPTS[command])
    script.main(words, prog=f"ego2exo {command}")
    return 0
