"""`ego2exo_hf/arguments.py`: both stages read their options from a YAML or JSON file as from the command line."""

import json

import pytest

import train_text
from ego2exo_hf.arguments import parse_args
from ego2exo_hf.constants import DEFAULT_TEXT_MODEL
from ego2exo_hf.video.config import VideoTrainingArguments
from train_video import make_parser


def parse_video_args(argv) -> VideoTrainingArguments:
    (args,) = parse_args(make_parser(), argv)
    return args


def test_arguments_from_yaml_file(tmp_path, make_args):
    args = make_args("yaml")
    path = tmp_path / "args.yaml"
    path.write_text("".join(f"{k}: {v}\n" for k, v in vars(args).items() if v is not None))
    assert parse_video_args([str(path)]) == args
    assert parse_video_args(["--data_dir", "d", "--output_dir", "o", "--method", "source_only"]).num_iterations == 45001


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_arguments_from_a_file(tmp_path, suffix):
    values = {"data_dir": "d", "source": "ego", "target": "exo", "output_dir": str(tmp_path / "o"),
              "max_length": 64, "balanced_sampling": False, "learning_rate": 3e-5}  # fmt: skip
    path = tmp_path / f"args{suffix}"
    if suffix == ".json":
        path.write_text(json.dumps(values))
    else:
        import yaml

        path.write_text(yaml.safe_dump(values))
    model_args, data_args, training_args = parse_args(train_text.make_parser(), [str(path)])
    assert (data_args.source, data_args.target, data_args.max_length) == ("ego", "exo", 64)
    assert training_args.balanced_sampling is False and training_args.learning_rate == 3e-5
    assert model_args.model_name_or_path == DEFAULT_TEXT_MODEL
