"""The torch-free names in constants.py are the registries' names, so a parser never offers what cannot run."""

from ego2exo_hf import constants


def test_method_names_are_the_method_registry():
    from ego2exo_hf.video.methods import METHODS

    assert constants.METHOD_NAMES == tuple(METHODS)


def test_heads_are_the_temporal_pooling_registry():
    from ego2exo_hf.models.temporal import POOLING

    assert constants.HEADS == tuple(POOLING)


def test_selections_are_last_plus_the_criteria():
    from ego2exo_hf.video.selection import CRITERIA

    assert set(constants.SELECTIONS) == {"last", *CRITERIA} and constants.SELECTIONS[0] == "last"


def test_dataset_configs_are_the_builder_configs():
    from ego2exo_hf.data.builder import Ego2Exo

    assert constants.DATASET_CONFIGS == tuple(config.name for config in Ego2Exo.BUILDER_CONFIGS)


def test_scales_are_the_synthetic_scales():
    from ego2exo_hf.data.synthetic import SCALES

    assert constants.SCALES == tuple(SCALES)


def test_artefact_names_are_the_ones_written():
    from ego2exo_hf.text import pseudo_labeller

    assert pseudo_labeller.PSEUDO_LABELLER_FILE == constants.PSEUDO_LABELLER_FILE


def test_video_arguments_offer_exactly_the_registered_choices():
    from typing import get_args

    from ego2exo_hf.video.config import VideoTrainingArguments

    hints = VideoTrainingArguments.__dataclass_fields__
    for option, names in (("method", constants.METHOD_NAMES), ("head", constants.HEADS),
                          ("selection", constants.SELECTIONS), ("source_sampling", constants.SOURCE_SAMPLINGS)):
        assert get_args(hints[option].type) == names, option  # fmt: skip
