"""The text stage's arguments: `CaptionTrainingArguments` is `TrainingArguments` with the stage's options and
defaults; every `TrainingArguments` option reaches the Trainer from the command line or an argument file; the
stage's own checks return before torch loads."""

import subprocess
import sys

import pytest
import yaml
from text_model_fixture import TEXT_SCRIPT

import train_text
from ego2exo_hf.errors import Ego2ExoError
from ego2exo_hf.text.config import TextTrainingArguments, cpu_bf16_applies
from ego2exo_hf.text.training_args import CaptionTrainingArguments

STAGE_DEFAULTS = {
    "learning_rate": 2e-4,
    "num_train_epochs": 5.0,
    "per_device_train_batch_size": 8,
    "per_device_eval_batch_size": 64,
    "weight_decay": 3e-4,
    "warmup_steps": 0.06,
    "eval_steps": 0.2,
    "save_steps": 0.2,
    "save_total_limit": 1,
    "logging_steps": 10,
    "seed": 42,
    "eval_strategy": "steps",
    "save_strategy": "steps",
    "load_best_model_at_end": True,
    "metric_for_best_model": "top1",
}


def test_stage_defaults(tmp_path):
    import importlib.util

    import torch

    _, _, args = train_text.parse_arguments(["--data_dir", "d", "--output_dir", str(tmp_path)])
    assert isinstance(args, CaptionTrainingArguments) and isinstance(args, TextTrainingArguments)
    values = args.to_dict()
    assert {name: values[name] for name in STAGE_DEFAULTS} == STAGE_DEFAULTS
    assert args.report_to == (["tensorboard"] if importlib.util.find_spec("tensorboard") else [])
    assert args.dataloader_pin_memory is torch.cuda.is_available()  # pinning only helps copies to a GPU
    assert args.bf16 is args.use_cpu is args.cpu_bf16_autocast is cpu_bf16_applies()
    _, _, args = train_text.parse_arguments(["--data_dir", "d", "--output_dir", str(tmp_path), "--cpu_bf16", "false"])
    assert not (args.bf16 or args.use_cpu or args.cpu_bf16_autocast)


def _trainer_args(tiny_bert, training_args):
    """The args the stage's `CaptionTrainer` runs with."""
    import datasets

    from ego2exo_hf.text.backbone import load_text_model
    from ego2exo_hf.text.data import tokenize
    from ego2exo_hf.text.trainer import CaptionTrainer

    tokenizer, model = load_text_model(str(tiny_bert))
    dataset = tokenize(datasets.Dataset.from_dict({"text_caption": ["a b", "c"], "label": [0, 1]}), tokenizer, 16)
    trainer = CaptionTrainer(model=model, args=training_args, train_dataset=dataset, eval_dataset=dataset,
                             processing_class=tokenizer)  # fmt: skip
    return trainer.args


@pytest.mark.parametrize("source", ["command line", "yaml"])
def test_every_training_option_reaches_the_trainer(source, tiny_bert, tmp_path):
    values = {"data_dir": "d", "output_dir": str(tmp_path / "o"), "adam_beta2": 0.98, "learning_rate": 3e-5,
              "activation_checkpointing": True, "eval_strategy": "epoch", "save_strategy": "epoch"}  # fmt: skip
    if source == "yaml":
        (tmp_path / "args.yaml").write_text(yaml.safe_dump(values))
        words = [str(tmp_path / "args.yaml")]
    else:
        words = [word for key, value in values.items() for word in (f"--{key}", str(value))]
    _, _, training_args = train_text.parse_arguments(words)
    args = _trainer_args(tiny_bert, training_args)
    assert (args.adam_beta2, args.activation_checkpointing, args.learning_rate) == (0.98, True, 3e-5)
    assert (args.eval_strategy, args.save_strategy) == ("epoch", "epoch")
    assert (args.per_device_train_batch_size, args.weight_decay, args.seed) == (8, 3e-4, 42)  # the stage's defaults


def test_stage_errors_return_before_torch_loads(tmp_path):
    """`--help` and the stage's own checks are answered by the torch-free parser."""
    code = (
        "import sys, train_text\n"
        "from ego2exo_hf.errors import Ego2ExoError\n"
        "try:\n    train_text.parse_arguments(['--data_dir', 'd', '--output_dir', 'o', '--learning_rate', '-1'])\n"
        "except Ego2ExoError as err:\n    print(err)\n"
        "print('torch' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=TEXT_SCRIPT.parent)  # fmt: skip
    assert done.stdout.splitlines() == ["--learning_rate must be at least 1e-12, got -1.0", "False"], done.stderr


def test_training_arguments_keep_the_stage_defaults_and_pass_other_options_through(tmp_path):
    words = ["--data_dir", "d", "--output_dir", str(tmp_path), "--activation_checkpointing", "true", "--max_steps", "5"]
    _, _, training_args = train_text.parse_arguments(words)
    assert training_args.activation_checkpointing is True and training_args.max_steps == 5
    assert (training_args.learning_rate, training_args.per_device_train_batch_size) == (2e-4, 8)
    assert training_args.load_best_model_at_end and training_args.metric_for_best_model == "top1"
    with pytest.raises(
        Ego2ExoError, match="unknown option '--activaton_checkpointing' \\(did you mean '--activation_checkpointing'"
    ):
        train_text.parse_arguments([*words[:4], "--activaton_checkpointing", "true"])
    path = tmp_path / "args.yaml"
    path.write_text(f"data_dir: d\noutput_dir: {tmp_path}\nlearning_rat: 0.1\n")
    with pytest.raises(Ego2ExoError, match="unknown key 'learning_rat' \\(did you mean 'learning_rate'"):
        train_text.parse_arguments([str(path)])
