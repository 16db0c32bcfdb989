"""Fixtures of the data tests: what Ego-Exo4D and the Hub serve, for the download steps (metadata, egoexo)."""

import pytest


@pytest.fixture(scope="module")
def remote(tmp_path_factory):
    """What Ego-Exo4D and the Hub serve: a synthetic copy in the official layout."""
    from ego2exo_hf.data.synthetic import write_synthetic

    return write_synthetic(tmp_path_factory.mktemp("remote"), "tiny")
