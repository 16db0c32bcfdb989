"""`ego2exo_hf/cli.py`: every user-caused fault of the reliability review ends in one line: `error: ...`, exit code 2,
no traceback, nothing written. Run in-process (parse-only failures cost milliseconds). docs/reliability.md lists the
same cases; a test keeps the two in step."""

import json
import re
from pathlib import Path

import pytest

from ego2exo_hf.cli import main as cli_main

DOCS = Path(__file__).parents[1] / "docs" / "reliability.md"


def _video(data, tmp, *extra, method="source_only"):
    return ["train-video", "--data_dir", data, "--output_dir", tmp / "video", "--method", method, *extra]


def _text(data, tmp, *extra):
    return ["train-text", "--data_dir", data, "--output_dir", tmp / "text", *extra]


def _argument_file(tmp, name, text):
    path = tmp / name
    path.write_text(text)
    return path


def _pseudo_labels(data, tmp, split="ego_train", encoding="utf-8", text=None):
    """A pseudo-label file for `split` with every segment labelled 0 (or `text`)."""
    meta = json.loads((Path(data) / "ego2exo.json").read_text())
    path = tmp / f"labels_{split}.txt"
    body = text if text is not None else "".join(f"{c['id']} 0\n" for c in meta[split]["clips"])
    path.write_bytes(body.encode(encoding) if isinstance(body, str) else body)
    return path


def _model_without_weights(tmp):
    folder = tmp / "model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "ego2exo_feature_classifier"}))
    return folder


# id: (group, argv from (data_dir, tmp_path), fragment of the one line)
FAULTS = {
    # Arguments, whatever their source (command line, YAML, JSON, sub-command)
    "yaml choice typo": ("arguments", lambda d, t: ["train-video", _argument_file(
        t, "a.yaml", f"data_dir: {d}\noutput_dir: {t / 'o'}\nmethod: sourceonly\n")], "did you mean 'source_only'"),
    "json choice typo": ("arguments", lambda d, t: ["train-video", _argument_file(
        t, "a.json", json.dumps({"data_dir": str(d), "output_dir": str(t / "o"), "selection": "last_one"}))],
        "--selection must be one of"),
    "yaml unknown key": ("arguments", lambda d, t: ["train-video", _argument_file(
        t, "a.yaml", f"data_dir: {d}\noutput_dir: {t / 'o'}\nnum_iteration: 10\n")], "did you mean 'num_iterations'"),
    "yaml wrong type": ("arguments", lambda d, t: ["train-video", _argument_file(
        t, "a.yaml", f"data_dir: {d}\noutput_dir: {t / 'o'}\nnum_iterations: many\n")], "num_iterations"),
    "malformed yaml": ("arguments", lambda d, t: ["train-video", _argument_file(t, "a.yaml", "data_dir: [unclosed\n")],
                       "a.yaml"),
    "text yaml unknown key": ("arguments", lambda d, t: ["train-text", _argument_file(
        t, "a.yaml", f"data_dir: {d}\noutput_dir: {t / 'o'}\nmax_step: 10\n")], "did you mean 'max_steps'"),
    "unknown flag (video)": ("arguments", lambda d, t: _video(d, t, "--num_iteration", "5"), "--num_iterations"),
    "unknown flag (text)": ("arguments", lambda d, t: _text(d, t, "--max_step", "5"), "--max_steps"),
    "unknown flag (ego2exo)": ("arguments", lambda d, t: ["synth", "--out", t / "s", "--scael", "tiny"], "--scael"),
    "max_steps 0": ("arguments", lambda d, t: _text(d, t, "--max_steps", "0"), "--max_steps must be positive"),
    "epochs -1": ("arguments", lambda d, t: _text(d, t, "--num_train_epochs", "-1"), "--num_train_epochs must be"),
    "save_total_limit -1": ("arguments", lambda d, t: _text(d, t, "--save_total_limit", "-1"), "save_total_limit"),
    "learning rate 0 (video)": ("arguments", lambda d, t: _video(d, t, "--learning_rate", "0"), "learning_rate"),
    "learning rate 0 (text)": ("arguments", lambda d, t: _text(d, t, "--learning_rate", "0"), "learning_rate"),
    "batch size 0 (video)": ("arguments", lambda d, t: _video(d, t, "--batch_size", "0"), "batch_size"),
    "batch size 0 (text)": ("arguments", lambda d, t: _text(d, t, "--per_device_train_batch_size", "0"),
                            "per_device_train_batch_size"),
    "batch size 0 (predict)": ("arguments", lambda d, t: ["predict", "--model", t, "--data_dir", d,
                                                          "--batch_size", "0"], "--batch_size"),
    "hidden_dim 0": ("arguments", lambda d, t: _video(d, t, "--hidden_dim", "0"), "hidden_dim"),
    "num_proc 0": ("arguments", lambda d, t: ["build", "--data_dir", d, "--num_proc", "0"], "--num_proc"),
    "iterations 0": ("arguments", lambda d, t: _video(d, t, "--num_iterations", "0"), "num_iterations"),
    "same source and target": ("arguments", lambda d, t: _video(d, t, "--target", "exo"), "both 'exo'"),
    "lagtran without pseudo-labels": ("arguments", lambda d, t: _video(d, t, method="lagtran"),
                                      "needs --pseudo_labels"),
    "source_only with pseudo-labels": ("arguments", lambda d, t: _video(d, t, "--pseudo_labels", _pseudo_labels(d, t)),
                                       "source_only does not use --pseudo_labels"),
    "push without repo id": ("arguments", lambda d, t: _video(d, t, "--push_to_hub", "true"), "--hub_model_id"),
    # Files and models
    "missing text model": ("files", lambda d, t: _text(d, t, "--model_name_or_path", t / "no-such-model"),
                           "no-such-model"),
    "model folder without weights": ("files", lambda d, t: ["predict", "--model", _model_without_weights(t),
                                                            "--data_dir", d, "--split", "ego_val"], "weights"),
    "missing model folder (predict)": ("files", lambda d, t: ["predict", "--model", t / "nowhere", "--data_dir", d,
                                                              "--split", "ego_val"], "nowhere"),
    "pseudo-labels not UTF-8": ("files", lambda d, t: _video(d, t, "--pseudo_labels", _pseudo_labels(
        d, t, text=b"\xff\xfe 1 2\n"), method="lagtran"), "not UTF-8"),
    "pseudo-labels of the other direction": ("files", lambda d, t: _video(d, t, "--pseudo_labels", _pseudo_labels(
        d, t, split="exo_train"), method="lagtran"), "other direction"),
    "evaluate: labels of the other split": ("files", lambda d, t: ["evaluate-pseudo-labels", "--data_dir", d,
                                            "--pseudo_labels", _pseudo_labels(d, t, split="exo_train"),
                                            "--split", "ego_train"], "not in the split"),
    "verify report path is a folder": ("files", lambda d, t: ["verify", "--data_dir", d, "--report", t],
                                       "is a folder"),
    "export cache is a file": ("files", lambda d, t: ["export", "--data_dir", d, "--out", t / "e", "--cache_dir",
                                                      _argument_file(t, "f", "x")], "cannot be written"),
    # The Hub, offline (HF_HUB_OFFLINE=1 in the tests): refused before the work, with how to push later
    "push offline (video)": ("hub", lambda d, t: _video(d, t, "--push_to_hub", "true", "--hub_model_id", "me/v"),
                             "the Hub cannot be reached"),
    "push offline (text)": ("hub", lambda d, t: _text(d, t, "--push_to_hub", "true", "--hub_model_id", "me/t"),
                            "the Hub cannot be reached"),
    "push offline (export)": ("hub", lambda d, t: ["export", "--data_dir", d, "--out", t / "e", "--push_to_hub",
                                                   "me/d"], "the Hub cannot be reached"),
}  # fmt: skip


@pytest.mark.parametrize("case", FAULTS)
def test_fault_is_one_line_and_writes_nothing(case, tiny_data_dir, tmp_path, capsys):
    _, argv, fragment = FAULTS[case]
    argv = [str(a) for a in argv(tiny_data_dir, tmp_path)]
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    with pytest.raises(SystemExit) as exit_info:
        cli_main(argv)
    err = capsys.readouterr().err.strip()
    last = err.splitlines()[-1] if err else ""
    assert exit_info.value.code == 2, err
    assert last.startswith("error: ") and err.count("error: ") == 1 and "Traceback" not in err, err
    assert fragment in last, err
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before, "nothing may be written"


def test_docs_list_every_fault():
    listed = set(re.findall(r"^\| ([^|]+?) \|", DOCS.read_text(), flags=re.M))
    assert set(FAULTS) <= listed
