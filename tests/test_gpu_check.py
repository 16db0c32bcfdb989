"""benchmarks/gpu_check.py runs on CPU: the stages on CPU, one line for each skipped GPU part, the table."""

import subprocess
import sys

from text_model_fixture import make_tiny_bert
from video_fixture import REPO, subprocess_env


def test_gpu_check_runs_on_cpu_and_says_what_it_skips(tmp_path):
    bert = make_tiny_bert(tmp_path / "bert")
    result = subprocess.run([sys.executable, str(REPO / "benchmarks" / "gpu_check.py"), "--iterations", "20",
                             "--text_model", str(bert), "--text_steps", "4", "--output_dir", str(tmp_path / "runs")],
                            capture_output=True, text=True, env=subprocess_env(), timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "no CUDA device: skipping the GPU parts" in out
    assert "skipped: accelerate launch on 1 GPU" in out and "skipped: benchmark under Ray" in out
    assert "| text stage | wall s" in out and "| video lagtran | ms/iteration" in out and "| video cdan |" in out
