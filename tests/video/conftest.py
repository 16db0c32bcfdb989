"""Fixtures of the video-stage tests: the tiny data as pooled splits, correct pseudo-labels, argument factory."""

import pytest

from ego2exo_hf.video.config import VideoTrainingArguments

ITERATIONS = 200  # tiny data: ~100 source / ~100 target train segments, 72 val segments
SMALL = dict(batch_size=16, val_every=50, checkpoint_every=100, logging_steps=25, report_to="none")


@pytest.fixture(scope="module")
def splits(tiny_data_dir):
    from ego2exo_hf.data import load_ego2exo

    return load_ego2exo(tiny_data_dir, "pooled")


@pytest.fixture(scope="module")
def pseudo_labels(splits, tmp_path_factory):
    """Correct pseudo-labels for exo -> ego (the true ego train labels) in the official format."""
    from ego2exo_hf.data import write_pseudo_labels

    path = tmp_path_factory.mktemp("pl") / "ego2exo_exo_ego.txt"
    write_pseudo_labels(path, splits["ego_train"]["segment_id"], splits["ego_train"]["label"])
    return path


@pytest.fixture(scope="module")
def make_args(tiny_data_dir, pseudo_labels, tmp_path_factory):
    def make(name, **overrides):
        values = dict(
            data_dir=str(tiny_data_dir),
            output_dir=str(tmp_path_factory.mktemp(name)),
            source="exo",
            target="ego",
            pseudo_labels=str(pseudo_labels),
            num_iterations=ITERATIONS,
            **SMALL,
        )
        values.update(overrides)
        return VideoTrainingArguments(**values)

    make.iterations = ITERATIONS
    return make
