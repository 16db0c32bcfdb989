"""Shared fixtures: tiny synthetic data written once per session, an isolated HF cache, no network."""

import os
import tempfile

_SESSION_HOME = tempfile.mkdtemp(prefix="ego2exo-tests-hf-")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ["HF_HOME"] = _SESSION_HOME  # datasets cache, modules cache, hub cache: all per test session
os.environ.pop("HF_DATASETS_CACHE", None)
os.environ.pop("HF_HUB_CACHE", None)

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def tiny_data_dir(tmp_path_factory):
    """A synthetic `tiny` Ego2Exo copy in the official layout (seed 0), shared by the whole session."""
    from ego2exo_hf.data.synthetic import write_synthetic

    return write_synthetic(tmp_path_factory.mktemp("data") / "tiny", scale="tiny", seed=0)


@pytest.fixture
def tiny_copy(tiny_data_dir, tmp_path):
    """A private copy of the tiny data that a test may damage."""
    import shutil

    return shutil.copytree(tiny_data_dir, tmp_path / "tiny")


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread():
    """Tests use tiny matrices: one intra-op thread is fastest and avoids OpenMP spinning on shared CPUs."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
