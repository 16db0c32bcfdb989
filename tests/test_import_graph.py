"""The package's import graph: commands on top, the library below, no circle (lazy imports inside functions count);
the stage scripts' `--help` imports no torch."""

import ast
import subprocess
import sys
from pathlib import Path

from video_fixture import REPO

import ego2exo_hf

PACKAGE = Path(ego2exo_hf.__file__).parent


def _module_name(path: Path) -> str:
    parts = ["ego2exo_hf", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Every module of the package and the package modules it imports anywhere in its body."""
    modules = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        imported = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([node.module] if node.module else [])])
                imported.update(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                                for alias in node.names)  # fmt: skip
        graph[name] = {other for other in imported if other in modules and other != name}
    return graph


def _related(a: str, b: str) -> bool:
    """A package and its own submodules (`__init__` re-exports are not layers)."""
    return a.startswith(b + ".") or b.startswith(a + ".")


def _reachable(graph, start) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for other in graph[todo.pop()]:
            if other not in seen and not _related(other, start):
                seen.add(other)
                todo.append(other)
    return seen


def test_the_graph_sees_relative_and_lazy_imports():
    graph = import_graph()
    assert "ego2exo_hf.video.sequences" in graph["ego2exo_hf.video.data"]  # a top-level relative import
    assert "ego2exo_hf.video.prediction" in graph["ego2exo_hf.commands.predict"]  # a lazy import inside run()


def test_no_circle():
    graph = import_graph()
    circles = [name for name in graph if name in _reachable(graph, name)]
    assert circles == []


def test_commands_on_top():
    graph = import_graph()
    commands = {name for name in graph if name.startswith(("ego2exo_hf.cli", "ego2exo_hf.commands"))}
    upward = {name: sorted(graph[name] & commands) for name in set(graph) - commands if graph[name] & commands}
    assert upward == {}


def test_help_imports_no_torch():
    """`train_text.py --help` and `train_video.py --help` parse before any heavy import."""
    for script in ("train_text.py", "train_video.py"):
        code = (f"import runpy, sys; sys.argv = [{script!r}, '--help']\n"
                f"try:\n    runpy.run_path({str(REPO / script)!r}, run_name='__main__')\n"
                "except SystemExit:\n    pass\nprint('torch' in sys.modules, 'datasets' in sys.modules)")  # fmt: skip
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
        assert done.stdout.strip().splitlines()[-1] == "False False", done.stderr[-2000:]
