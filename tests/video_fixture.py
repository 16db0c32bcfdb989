"""Helpers for the tests that launch the video stage in fresh processes (importable by every test module)."""

import contextlib
import io
import os
import socket
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def TWO_CPU_PROCESSES() -> list[str]:  # noqa: N802 (reads as the command it returns)
    """`accelerate launch` of 2 processes on a free port (not 29500: other jobs may hold it); add the script."""
    return [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
            "--main_process_port", str(_free_port())]  # fmt: skip


def subprocess_env(**extra) -> dict:
    """The environment of a launched stage: the repository importable, one thread, no dataset progress bars."""
    return {**os.environ, "HF_DATASETS_DISABLE_PROGRESS_BARS": "1", "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1",
            **extra}  # fmt: skip


def train_video_in_process(argv) -> tuple[int, str]:
    """train_video.py's entry point in this process (its libraries are loaded already): (exit code, stderr)."""
    from ego2exo_hf.errors import exit_on_user_error
    from train_video import main as train_video

    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        try:
            exit_on_user_error(train_video)(argv)
        except SystemExit as exit_:
            return exit_.code, stderr.getvalue()
    return 0, stderr.getvalue()
