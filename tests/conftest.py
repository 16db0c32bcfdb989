"""Shared fixtures: tiny synthetic data written once per session, an isolated HF cache, no network; a tiny BERT
and one run of train_text.py (session); the video stage's pooled splits, pseudo-labels and argument factory."""

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

# The longest test modules, longest first (pytest --durations, BENCHMARKS.md "Test suite"). `make test` runs
# `-n 2 --dist loadscope --no-loadscope-reorder`: xdist hands the modules (and test classes) out in collection
# order, so these start at once on both workers instead of one worker running the grid tests alone at the end.
LONGEST_FIRST = ("tests/test_executors.py", "tests/test_demo.py", "tests/test_gpu_check.py",
                 "tests/test_train_video.py", "tests/video/test_adaptation.py", "tests/text/test_pseudo_labeller.py",
                 "tests/test_hub.py", "tests/video/test_checkpoints.py", "tests/test_train_text.py",
                 "tests/test_benchmark.py")  # fmt: skip


def pytest_collection_modifyitems(config, items):
    stale = [module for module in LONGEST_FIRST if not (config.rootpath / module).is_file()]
    assert not stale, f"tests/conftest.py LONGEST_FIRST names modules that are gone: {stale}"
    rank = {module: place for place, module in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))  # stable: the rest keep their order


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


# ------------------------------------------------------------------------------------------- the text stage
@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory):
    from text_model_fixture import make_tiny_bert

    return make_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="session")
def text_run(tiny_data_dir, tiny_bert, tmp_path_factory):
    """One real run of the script (exo -> ego) in a fresh process."""
    import subprocess
    import sys

    from text_model_fixture import TEXT_SCRIPT, stage_args

    output_dir = tmp_path_factory.mktemp("run") / "text_exo_ego"
    args = stage_args(tiny_data_dir, tiny_bert, output_dir, "--source", "exo", "--target", "ego")
    result = subprocess.run([sys.executable, str(TEXT_SCRIPT), *args], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    return output_dir, result


# ------------------------------------------------------------------------------------------ the video stage
ITERATIONS = 200  # tiny data: ~100 source / ~100 target train segments, 72 val segments
SMALL = dict(batch_size=16, val_every=50, checkpoint_every=100, logging_steps=25, report_to="none")


@pytest.fixture(scope="module")
def splits(tiny_data_dir):
    """The tiny data as pooled splits."""
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
    """`make_args(name, **overrides)`: `VideoTrainingArguments` for a short exo -> ego run on the tiny data."""
    from ego2exo_hf.video.config import VideoTrainingArguments
    from ego2exo_hf.video.methods import get_method_class

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
        method = get_method_class(values.get("method", VideoTrainingArguments.method))
        if method.pseudo_labels == "unused" and "pseudo_labels" not in overrides:
            values["pseudo_labels"] = None  # only a method that uses them is given the text stage's labels
        return VideoTrainingArguments(**values)

    make.iterations = ITERATIONS
    return make
