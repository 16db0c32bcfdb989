"""`ego2exo_hf/commands/train.py`: `ego2exo train-text` and `ego2exo train-video` run the two stage scripts."""

import json
from pathlib import Path

import train_text
from ego2exo_hf.arguments import parse_args


def test_ego2exo_train_text_is_the_script(monkeypatch, tmp_path):
    """`ego2exo train-text ...` hands its words to train_text.main, whose parser is the script's own."""
    from ego2exo_hf.cli import main as cli_main

    seen = []
    monkeypatch.setattr(train_text, "main", lambda argv, prog=None: seen.append((argv, prog)))
    words = ["--data_dir", "d", "--source", "ego", "--target", "exo", "--output_dir", str(tmp_path), "--max_steps", "7",
             "--no_balanced_sampling"]  # fmt: skip
    assert cli_main(["train-text", *words]) == 0
    assert seen == [(words, "ego2exo train-text")]
    model_args, data_args, training_args = parse_args(train_text.make_parser(), words)
    assert (data_args.source, training_args.max_steps, training_args.balanced_sampling) == ("ego", 7, False)


def test_ego2exo_cli_train_video(make_args, capsys):
    from ego2exo_hf.cli import main as cli_main

    args = make_args("cli", method="source_only", num_iterations=20)
    assert cli_main(["train-video", "--data_dir", args.data_dir, "--output_dir", args.output_dir,
                     "--method", "source_only", "--num_iterations", "20", "--report_to", "none"]) == 0  # fmt: skip
    assert "target val (ego_val)" in capsys.readouterr().out
    assert json.loads((Path(args.output_dir) / "metrics.json").read_text())["method"] == "source_only"
