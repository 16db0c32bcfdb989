"""README.md is the user guide: every command in its shell blocks must at least parse with today's options.

What each command does is tested elsewhere (data, text, video, demo, predict, download tests)."""

import re
import shlex
from pathlib import Path

import pytest

import train_text
import train_video
from ego2exo_hf.arguments import parse_args
from ego2exo_hf.cli import STAGE_SCRIPTS, build_parser

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text()


def shell_commands() -> list[str]:
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", README, flags=re.S):
        block = block.replace("\\\n", " ")
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            if line:
                commands.append(line)
    return commands


def _words(command: str) -> list[str]:
    words = shlex.split(command.replace("<user>/", "user/"))
    return [w for w in words if w != "..."]


COMMANDS = shell_commands()


def test_readme_starts_with_the_two_commands():
    assert COMMANDS[:2] == ["make demo", "make test"]
    makefile = (ROOT / "Makefile").read_text()
    assert "\ndemo:" in makefile and "\ntest:" in makefile
    assert "make test" in (ROOT / ".ci" / "run").read_text()


@pytest.mark.parametrize("command", [c for c in COMMANDS if c.startswith("ego2exo ")])
def test_ego2exo_commands_parse(command):
    words = _words(command)[1:]
    if words[0] in STAGE_SCRIPTS:  # parsed by the training script itself
        script = train_text if words[0] == "train-text" else train_video
        parse_args(script.make_parser(), words[1:])
        return
    run = build_parser().parse_args(words).run
    assert callable(run) and run.__module__.startswith("ego2exo_hf.commands.")


@pytest.mark.parametrize("command", [c for c in COMMANDS if "train_text.py" in c or "train_video.py" in c])
def test_training_commands_parse(command):
    words = _words(command)
    for i, word in enumerate(words):
        if word == "--config_file":
            assert (ROOT / words[i + 1]).is_file(), words[i + 1]
    script = next(i for i, w in enumerate(words) if w.endswith(".py"))
    assert (ROOT / words[script]).is_file()
    argv = words[script + 1 :]
    if len(argv) <= 1:  # an elided command line or a single YAML file: nothing more to parse here
        return
    if "--data_dir" not in argv:
        argv += ["--data_dir", "data/synthetic", "--output_dir", "runs/x"]
    if words[script] == "train_video.py" and "--method" not in argv:
        argv += ["--pseudo_labels", "labels.txt"]  # elided in the README's short forms
    script = train_text if words[script] == "train_text.py" else train_video
    parse_args(script.make_parser(), argv)


def options_table(heading: str) -> dict:
    """`{option: default}` of the options table under a README heading (`a / b` rows hold two options)."""
    section = README.split(heading, 1)[1].split("\n## ", 1)[0]
    rows = {}
    for names, default in re.findall(r"^\| (`--[^|]+) \| ([^|]+) \|", section, flags=re.M):
        names = re.findall(r"`--(\w+)`", names)
        defaults = (
            [d.strip().strip("`") for d in default.split(" / ")] if len(names) > 1 else [default.strip().strip("`")]
        )
        rows.update(zip(names, defaults))
    return rows


@pytest.mark.parametrize(
    "heading, classes",
    [("## Text stage", ("ModelArguments", "DataArguments", "TextTrainingArguments")),
     ("## Video stage", ("VideoTrainingArguments",))],
)  # fmt: skip
def test_options_tables_list_every_option_with_its_default(heading, classes):
    from dataclasses import fields

    from ego2exo_hf.text import config as text_config
    from ego2exo_hf.video import config as video_config

    table = options_table(heading)
    expected = {}
    for name in classes:
        dtype = getattr(text_config, name, None) or getattr(video_config, name)
        for f in fields(dtype):
            default = "required" if f.name in ("data_dir", "output_dir") else f.default
            expected[f.name] = "—" if default is None else str(default)
    assert table == expected
