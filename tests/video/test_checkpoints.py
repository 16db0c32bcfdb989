"""The resume fingerprint: a checkpoint resumes only the configuration that wrote it, whatever option differs."""

import json
import re
import shutil
import subprocess
import sys
from dataclasses import replace

import pytest
from video_fixture import REPO, subprocess_env, train_video_in_process

from ego2exo_hf.errors import Ego2ExoError
from ego2exo_hf.video.checkpoints import CHECKPOINT_DIR, STATE_FILE, find_checkpoint, run_fingerprint
from ego2exo_hf.video.config import VideoTrainingArguments
from ego2exo_hf.video.methods import get_method


@pytest.fixture(scope="module")
def label_files(splits, tmp_path_factory):
    """Two pseudo-label files of the same segments that differ in one label."""
    from ego2exo_hf.data import write_pseudo_labels

    folder = tmp_path_factory.mktemp("labels")
    ids, labels = splits["ego_train"]["segment_id"], list(splits["ego_train"]["label"])
    write_pseudo_labels(folder / "a.txt", ids, labels)
    write_pseudo_labels(folder / "b.txt", ids, [(labels[0] + 1) % 24, *labels[1:]])
    return folder / "a.txt", folder / "b.txt"


def _checkpoint_of(args) -> None:
    """A checkpoint folder as `save_checkpoint` leaves it, as far as `find_checkpoint` reads it."""
    folder = args.output_dir / CHECKPOINT_DIR / "checkpoint-10"
    folder.mkdir(parents=True)
    state = {"iteration": 10, "fingerprint": run_fingerprint(args), "best_score": None, "best_iteration": None}
    (folder / STATE_FILE).write_text(json.dumps(state))


def _configured(**values):
    args = VideoTrainingArguments(**values)
    return get_method(args.method, args).args


@pytest.fixture
def base(tiny_data_dir, label_files, tmp_path):
    return dict(data_dir=str(tiny_data_dir), output_dir=tmp_path, method="dann", pseudo_labels=str(label_files[0]),
                resume_from_checkpoint="latest")  # fmt: skip


def _edited_data(tiny_data_dir, tmp_path):
    copy = tmp_path / "data_copy"
    shutil.copytree(tiny_data_dir, copy)
    meta = copy / "ego2exo.json"
    meta.write_text(meta.read_text().replace("}", "} ", 1))  # same records, other bytes: another cache key
    return str(copy)


CHANGES = {  # what the resuming run changes -> the option the error must name
    "method": (lambda b, d, t: dict(method="mcc"), "method="),
    "pseudo-label file A -> B": (lambda b, d, t: dict(pseudo_labels=str(d[1])), "pseudo_labels_sha256="),
    "pseudo-label file dropped": (lambda b, d, t: dict(pseudo_labels=None), "pseudo_labels_sha256="),
    "config": (lambda b, d, t: dict(config="frames"), "config="),
    "context_window": (lambda b, d, t: dict(context_window=2), "context_window="),
    "data_dir content": (lambda b, d, t: dict(data_dir=_edited_data(b["data_dir"], t)), "data_dir_content="),
    "learning rate": (lambda b, d, t: dict(learning_rate=0.01), "learning_rate="),
}


@pytest.mark.parametrize("change", CHANGES)
def test_a_resume_with_any_other_option_is_refused(base, label_files, tmp_path, change):
    edit, named = CHANGES[change]
    _checkpoint_of(_configured(**base))
    with pytest.raises(Ego2ExoError, match="different configuration") as error:
        find_checkpoint(_configured(**{**base, **edit(base, label_files, tmp_path)}))
    message = str(error.value)
    assert named in message and "\n" not in message
    assert "drop --resume_from_checkpoint" in message  # the ways on


@pytest.mark.parametrize("saved, change, named", [
    ({"config": "frames", "head": "attention", "max_windows": 4}, {"head": "transformer"}, "head="),
    ({"config": "frames", "head": "attention", "max_windows": 4}, {"max_windows": 8}, "max_windows="),
    ({"method": "cdan"}, {"cdan_entropy": True}, "cdan_entropy="),  # a method's own option
    ({"method": "mdd", "pseudo_labels": None}, {"mdd_margin": 2.0}, "mdd_margin="),
])  # fmt: skip
def test_one_option_changed_is_named_alone(base, saved, change, named):
    _checkpoint_of(_configured(**{**base, **saved}))
    with pytest.raises(Ego2ExoError) as error:
        find_checkpoint(_configured(**{**base, **saved, **change}))
    differences = str(error.value).split("configuration: ")[1].split("; ")[0]
    assert differences.startswith(named) and differences.count("(now") == 1


def test_a_resume_may_change_bookkeeping_and_move_nothing_else(base, tmp_path):
    args = _configured(**base)
    _checkpoint_of(args)
    longer = replace(args, num_iterations=500, logging_steps=7, report_to="none", eval_batch_size=64,
                     checkpoint_every=3, save_total_limit=5)  # fmt: skip
    assert find_checkpoint(longer).iteration == 10


def test_every_option_enters_the_fingerprint_unless_it_says_otherwise(base):
    from dataclasses import fields

    fingerprint = run_fingerprint(_configured(**base))
    for option in fields(VideoTrainingArguments):
        kind = option.metadata.get("fingerprint", "value")
        key = {"file": f"{option.name}_sha256", "data": f"{option.name}_content"}.get(kind, option.name)
        assert (key in fingerprint) == (kind is not None), option.name


def test_train_video_refuses_to_resume_dann_with_other_pseudo_labels(tiny_data_dir, label_files, tmp_path):
    """End to end through the script's entry point, the case found by hand: `--method dann --pseudo_labels A`, then
    B with `--resume latest`."""
    argv = ["--data_dir", str(tiny_data_dir), "--output_dir", str(tmp_path / "dann"), "--method", "dann",
            "--num_iterations", "20", "--checkpoint_every", "10", "--val_every", "10", "--batch_size", "16",
            "--report_to", "none"]  # fmt: skip
    code, stderr = train_video_in_process([*argv, "--pseudo_labels", str(label_files[0])])
    assert code == 0, stderr[-2000:]
    metrics = (tmp_path / "dann" / "metrics.json").read_text()
    code, stderr = train_video_in_process([*argv, "--pseudo_labels", str(label_files[1]), "--num_iterations", "30",
                                             "--resume_from_checkpoint", "latest"])  # fmt: skip
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert code == 2 and lines[-1].startswith("error: ") and "pseudo_labels_sha256=" in lines[-1]
    assert "Traceback" not in stderr
    assert (tmp_path / "dann" / "metrics.json").read_text() == metrics  # the earlier output intact


# ---------------------------------------------------------------- damaged checkpoints: one line, the output intact
@pytest.fixture(scope="module")
def checkpointed_run(make_args):
    """A finished 20-iteration run with a checkpoint at 10 and 20 (the selection keeps a best model)."""
    from train_video import main as train_video

    args = make_args("checkpointed", method="lagtran", num_iterations=20, val_every=10, checkpoint_every=10,
                     selection="source_val")  # fmt: skip
    train_video(args)
    return args


def _swap_weights(file):
    """Weights of another configuration (a wider hidden layer) under the checkpoint's name."""
    from safetensors.torch import save_file

    from ego2exo_hf.models import FeatureClassifier, FeatureClassifierConfig

    save_file(FeatureClassifier(FeatureClassifierConfig(hidden_dim=32)).state_dict(), str(file))


def _truncate(file):
    file.write_bytes(file.read_bytes()[: file.stat().st_size // 2])


DAMAGE = {  # what is done to checkpoint-20 -> what the one line must say
    "model weights truncated": (lambda c: _truncate(c / "model.safetensors"), "model.safetensors: unreadable weights"),
    "model weights swapped": (lambda c: _swap_weights(c / "model.safetensors"), "model.safetensors: tensor "
                              "hidden.weight is [32, 1536] but the model's configuration makes it [256, 1536]"),
    "best model truncated": (lambda c: _truncate(c / "best_model.safetensors"), "best_model.safetensors: unreadable"),
    "optimiser state truncated": (lambda c: _truncate(c / "optimizer.bin"), "checkpoint-20: damaged checkpoint"),
    "random states truncated": (lambda c: _truncate(c / "random_states_0.pkl"), "checkpoint-20: damaged checkpoint"),
    "state file not JSON": (lambda c: (c / STATE_FILE).write_text("{"), "training_state.json: damaged checkpoint"),
    "state file without iteration": (lambda c: (c / STATE_FILE).write_text('{"fingerprint": {}}'),
                                     "training_state.json: damaged checkpoint state"),
}  # fmt: skip


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_checkpoint_ends_in_one_line(checkpointed_run, tmp_path, damage):
    from train_video import main as train_video

    spoil, message = DAMAGE[damage]
    output_dir = shutil.copytree(checkpointed_run.output_dir, tmp_path / "run")
    spoil(output_dir / CHECKPOINT_DIR / "checkpoint-20")
    before = {path: path.read_bytes() for path in output_dir.rglob("*") if path.is_file()}
    args = replace(checkpointed_run, output_dir=str(output_dir), num_iterations=30, resume_from_checkpoint="latest")
    with pytest.raises(Ego2ExoError, match=re.escape(message)) as err:
        train_video(args)
    assert "\n" not in str(err.value)
    assert {path: path.read_bytes() for path in output_dir.rglob("*") if path.is_file()} == before  # nothing touched


@pytest.mark.parametrize("how", ["SIGINT", "SIGKILL"])
def test_killed_while_checkpointing_then_resumed(how, tiny_data_dir, tmp_path):
    """A checkpoint every 5 iterations, so the signal most likely lands in a save; the same command with
    `--resume_from_checkpoint latest` finishes from the last complete checkpoint, each validation logged once."""
    import signal
    import time

    command = [sys.executable, str(REPO / "train_video.py"), "--data_dir", str(tiny_data_dir), "--output_dir",
               str(tmp_path / "run"), "--method", "source_only", "--num_iterations", "400", "--checkpoint_every", "5",
               "--val_every", "50", "--batch_size", "16", "--report_to", "none"]  # fmt: skip
    first = subprocess.Popen(command, env=subprocess_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    checkpoints = tmp_path / "run" / CHECKPOINT_DIR
    deadline = time.time() + 120
    while not (checkpoints.is_dir() and len(list(checkpoints.iterdir())) >= 2) and time.time() < deadline:
        time.sleep(0.05)
    first.send_signal(getattr(signal, how))
    first.wait(timeout=60)
    assert first.returncode != 0 and not (tmp_path / "run" / "metrics.json").exists()
    code, stderr = train_video_in_process([*command[2:], "--resume_from_checkpoint", "latest"])  # the same command
    assert code == 0, stderr[-2000:]
    records = [json.loads(line) for line in (tmp_path / "run" / "training_log.jsonl").read_text().splitlines()]
    validated = [r["iteration"] for r in records if "target_val_top1" in r]
    assert validated == sorted(set(validated)) and validated[-1] == 400
