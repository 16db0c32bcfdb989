"""`ego2exo_hf/video/config.py`: `VideoTrainingArguments` refuses options that do not go together, in one line."""

import pytest

from ego2exo_hf.errors import Ego2ExoError
from train_video import main as train_video


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(head="attention"), "--head and --max_windows apply to --config frames"),
        (dict(max_windows=4), "--head and --max_windows apply to --config frames"),
        (dict(config="frames", context_window=1), "--context_window applies to --config pooled"),
        (dict(config="frames", max_windows=0), "--max_windows must be at least 1"),
        (dict(config="frames", head="lstm"), "head"),
    ],
)
def test_head_arguments_are_checked(overrides, message, make_args):
    with pytest.raises(Ego2ExoError, match=message):
        make_args("bad-head", **overrides)


def test_bad_arguments_in_process(make_args):
    with pytest.raises(Ego2ExoError, match="--hub_model_id"):
        make_args("hub", push_to_hub=True)
    with pytest.raises(Ego2ExoError, match="no checkpoint"):
        train_video(make_args("nockpt", resume_from_checkpoint="latest"))
