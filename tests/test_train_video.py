"""`train_video.py` end to end: metrics by hand, resume, oracle selection and push, 2 processes, heads, bad input."""

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from video_fixture import REPO, TWO_CPU_PROCESSES, subprocess_env, train_video_in_process

from ego2exo_hf.constants import NUM_CLASSES
from ego2exo_hf.data import load_ego2exo
from ego2exo_hf.errors import Ego2ExoError
from ego2exo_hf.models import FeatureClassifier
from ego2exo_hf.models.temporal import POOLING
from ego2exo_hf.video.checkpoints import CHECKPOINT_DIR
from train_video import main as train_video


@pytest.fixture(scope="module")
def lagtran_run(make_args):
    """An uninterrupted lagtran run with source-val selection (reference for resume)."""
    args = make_args("lagtran", selection="source_val")
    return args, train_video(args)


def read_log(output_dir):
    return [json.loads(line) for line in (Path(output_dir) / "training_log.jsonl").read_text().splitlines()]


def test_lagtran_beats_source_only_and_metrics_match_hand_computation(lagtran_run, make_args, splits):
    args, metrics = lagtran_run
    baseline = train_video(make_args("source_only", method="source_only", num_iterations=100))
    assert metrics["target_val"]["top1"] > baseline["target_val"]["top1"] + 10  # tiny, 100 iterations: +18 now
    assert set(metrics) >= {"source_val", "target_val", "method", "source", "target", "num_iterations", "selection"}
    assert (metrics["method"], metrics["source"], metrics["target"]) == ("lagtran", "exo", "ego")
    assert metrics["selection"] == "source_val" and metrics["selected_iteration"] in (50, 100, 150, 200)

    out = Path(args.output_dir)
    assert json.loads((out / "metrics.json").read_text()) == metrics
    model = FeatureClassifier.from_pretrained(out).eval()
    for name, split in (("source_val", "exo_val"), ("target_val", "ego_val")):
        table = splits[split].with_format("torch", columns=["features", "label"])[:]
        with torch.no_grad():
            predicted = model(table["features"]).logits.argmax(-1).numpy()
        truth = table["label"].numpy()
        per_class = [100 * np.mean(predicted[truth == c] == c) for c in range(NUM_CLASSES) if (truth == c).any()]
        assert metrics[name]["num_examples"] == len(truth)
        assert metrics[name]["top1"] == pytest.approx(100 * np.mean(predicted == truth))
        assert metrics[name]["mean_class"] == pytest.approx(np.mean(per_class))
        assert len(metrics[name]["per_class"]) == NUM_CLASSES

    log = read_log(out)
    assert [r["iteration"] for r in log] == list(range(25, make_args.iterations + 1, 25))
    validated = [r for r in log if "target_val_top1" in r]
    assert [r["iteration"] for r in validated] == [50, 100, 150, 200]
    assert {"loss", "source_val_top1", "source_val_mean_class", "target_val_mean_class"} <= set(validated[0])
    assert all(r["source_examples_per_iteration"] == r["target_examples_per_iteration"] == 16 for r in log)
    card = (out / "README.md").read_text()
    assert "lagtran" in card and "ego2exo_exo_ego.txt" in card and "best top-1 on source val" in card


def test_resume_gives_the_same_final_model_and_metrics(lagtran_run, make_args):
    reference_args, reference = lagtran_run
    args = make_args("resumed", selection="source_val", num_iterations=100)  # "killed" after checkpoint 100
    train_video(args)
    checkpoints = Path(args.output_dir) / "checkpoints"
    (checkpoints / ".checkpoint-150.tmp").mkdir()  # what a crash while saving leaves behind: ignored
    with open(Path(args.output_dir) / "training_log.jsonl", "a") as log:
        log.write('{"iteration": 125, "lo')  # a line cut off by the kill: dropped on resume
    resumed = train_video(replace(args, num_iterations=make_args.iterations, resume_from_checkpoint="latest"))

    drop = ("train_ms_per_iteration",)
    assert {k: v for k, v in resumed.items() if k not in drop} == {k: v for k, v in reference.items() if k not in drop}
    ref_model = FeatureClassifier.from_pretrained(reference_args.output_dir)
    new_model = FeatureClassifier.from_pretrained(args.output_dir)
    for (name, a), b in zip(ref_model.state_dict().items(), new_model.state_dict().values()):
        assert torch.equal(a, b), name
    assert read_log(args.output_dir) == read_log(reference_args.output_dir)
    assert sorted(p.name for p in checkpoints.iterdir() if not p.name.startswith(".")) == [
        "checkpoint-100", "checkpoint-200"
    ]  # fmt: skip


def test_oracle_selection_is_labelled_and_push_reaches_the_upload(make_args, monkeypatch):
    calls = []
    push = lambda folder, repo_id, **kw: calls.append((Path(folder), repo_id))  # noqa: E731
    monkeypatch.setattr("ego2exo_hf.hub.push_folder", push)
    monkeypatch.setattr("ego2exo_hf.hub.check_hub_access", lambda repo_id, **kw: None)
    args = make_args("oracle", selection="target_val_oracle", num_iterations=100, push_to_hub=True,
                     hub_model_id="someone/ego2exo-video")  # fmt: skip
    metrics = train_video(args)
    assert metrics["selection"] == "target_val_oracle" and "upper bound" in metrics["oracle"]
    card = (Path(args.output_dir) / "README.md").read_text()
    assert "[ORACLE selection on target val]" in card and "upper bound" in card
    assert calls == [(Path(args.output_dir), "someone/ego2exo-video")]
    assert {"config.json", "model.safetensors", "README.md", "metrics.json"} <= {
        p.name for p in Path(args.output_dir).iterdir()
    }


def test_two_cpu_processes_match_one(make_args, tmp_path):
    args = make_args("two_procs", num_iterations=100)
    single = train_video(replace(args, output_dir=str(tmp_path / "single")))
    command = [
        *TWO_CPU_PROCESSES(), str(REPO / "train_video.py"),
        "--data_dir", args.data_dir, "--output_dir", args.output_dir,
        "--pseudo_labels", args.pseudo_labels, "--num_iterations", "100", "--batch_size", "16",
        "--val_every", "50", "--checkpoint_every", "100", "--logging_steps", "25",
    ]  # fmt: skip
    done = subprocess.run(command, env=subprocess_env(ACCELERATE_USE_CPU="1"), capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    double = json.loads((Path(args.output_dir) / "metrics.json").read_text())
    # The same global batches and BatchNorm statistics over the global batch: the same model, up to float rounding.
    one, two = (FeatureClassifier.from_pretrained(d).state_dict() for d in (tmp_path / "single", args.output_dir))
    for name, tensor in one.items():
        torch.testing.assert_close(two[name], tensor, rtol=1e-4, atol=1e-4, msg=name)  # plain BN: 0.8 apart
    for name in ("source_val", "target_val"):
        assert double[name]["num_examples"] == single[name]["num_examples"] == 72  # whole split, exactly once
        assert double[name]["top1"] == pytest.approx(single[name]["top1"], abs=1e-6)
        assert double[name]["mean_class"] == pytest.approx(single[name]["mean_class"], abs=1e-6)
    log = read_log(args.output_dir)
    assert all(r["source_examples_per_iteration"] == r["target_examples_per_iteration"] == 16 for r in log)
    assert (Path(args.output_dir) / "runs").is_dir()  # TensorBoard tracker
    assert done.stdout.count("target val (ego_val)") == 1  # printed by the main process only
    # Each rank's random states are inside the checkpoint, none left behind in a temporary folder (rank 0 used
    # to move the folder before rank 1 had written, and rank 1 then crashed on a loaded machine).
    saved = Path(args.output_dir) / CHECKPOINT_DIR
    assert {"random_states_0.pkl", "random_states_1.pkl"} <= {p.name for p in (saved / "checkpoint-100").iterdir()}
    assert not list(saved.glob(".*.tmp"))


def _bad_pseudo_labels(path, splits, kind):
    ids, labels = list(splits["ego_train"]["segment_id"]), list(splits["ego_train"]["label"])
    if kind == "missing":
        ids, labels = ids[1:], labels[1:]
    elif kind == "unknown":
        ids, labels = ids + [12345], labels + [0]
    elif kind == "out_of_range":
        labels[0] = NUM_CLASSES
    path.write_text("".join(f"{i} {label}\n" for i, label in zip(ids, labels)))
    return path


BAD_INPUTS = {
    "missing_ids": ("pl:missing", [], "no pseudo-label for this target segment"),
    "unknown_ids": ("pl:unknown", [], "not in the split"),
    "label_out_of_range": ("pl:out_of_range", [], "outside 0..23"),
    "pseudo_label_file_missing": ("pl:absent", [], "not found"),
    "feature_width": (None, ["--feature_dim", "768"], "1536-d but the model expects 768"),
    "same_domains": (None, ["--target", "exo"], "--source and --target are both 'exo'"),
    "lagtran_without_pseudo_labels": ("pl:none", [], "needs --pseudo_labels"),
    "resume_other_configuration": (None, ["--learning_rate", "0.01", "--resume_from_checkpoint", "latest"],
                                   "different configuration: learning_rate=0.003"),
}  # fmt: skip


FRESH_PROCESS = "pseudo_label_file_missing"  # this one runs as a user would, in a new interpreter


@pytest.fixture(scope="module")
def bad_runs(lagtran_run, splits, pseudo_labels, tmp_path_factory):
    """Run train_video.py's entry point once per bad input (one in a fresh process, the others in this one, which
    has the stage's libraries loaded already) and collect (returncode, stderr)."""
    reference_args, _ = lagtran_run
    root = tmp_path_factory.mktemp("bad")
    outcomes = {}
    for name, (pl, extra, _) in BAD_INPUTS.items():
        output_dir = reference_args.output_dir if name == "resume_other_configuration" else str(root / name)
        argv = ["--data_dir", reference_args.data_dir, "--output_dir", output_dir, "--num_iterations", "20",
                "--batch_size", "16", "--report_to", "none"]  # fmt: skip
        if pl is None:
            argv += ["--pseudo_labels", str(pseudo_labels)]
        elif pl == "pl:absent":
            argv += ["--pseudo_labels", str(root / "nowhere.txt")]
        elif pl != "pl:none":
            argv += ["--pseudo_labels", str(_bad_pseudo_labels(root / f"{name}.txt", splits, pl[3:]))]
        if name == "resume_other_configuration":
            argv += ["--selection", "source_val"]
        if name == FRESH_PROCESS:
            result = subprocess.run([sys.executable, str(REPO / "train_video.py"), *argv, *extra],
                                    env=subprocess_env(), capture_output=True, text=True, timeout=300)  # fmt: skip
            outcomes[name] = (result.returncode, result.stderr)
            continue
        outcomes[name] = train_video_in_process([*argv, *extra])
    return outcomes


@pytest.mark.parametrize("name", BAD_INPUTS)
def test_bad_input_gives_one_line_error(bad_runs, name):
    returncode, stderr = bad_runs[name]
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert returncode != 0
    assert lines and lines[-1].startswith("error: "), stderr[-2000:]
    assert "Traceback" not in stderr and sum("error" in line.lower() for line in lines) == 1, stderr[-2000:]
    assert BAD_INPUTS[name][2] in lines[-1]


def test_a_non_finite_loss_stops_the_run_with_one_line(make_args):
    args = make_args("diverges", learning_rate=1e12, num_iterations=50)
    with pytest.raises(Ego2ExoError, match="the training loss became (nan|inf) at iteration"):
        train_video(args)
    assert not (Path(args.output_dir) / "model.safetensors").exists()


@pytest.mark.parametrize("head", ["mean", "attention", "transformer"])
def test_training_and_prediction_with_a_head(head, make_args, tiny_data_dir):
    from ego2exo_hf.models import FeatureClassifier
    from ego2exo_hf.video.prediction import predict_split
    from train_video import main as train_video

    args = make_args(f"head-{head}", method="lagtran", num_iterations=30, val_every=15, config="frames", head=head,
                     max_windows=6)  # fmt: skip
    metrics = train_video(args)
    model = FeatureClassifier.from_pretrained(args.output_dir).eval()
    assert (model.config.head, model.config.max_windows) == (head, 6)
    assert isinstance(model.pooling, POOLING[head])
    if head != "mean":  # the learned head moved off its mean-pooling start
        assert any(p.abs().sum() > 0 for p in model.pooling.parameters() if p.ndim == 2 and p.shape[0] in (1, 1536))
    table, predicted = predict_split(model, tiny_data_dir, "ego_val", batch_size=7)
    assert predicted["top1"] == metrics["target_val"]["top1"]
    assert len(table) == len(load_ego2exo(tiny_data_dir, "pooled")["ego_val"])
