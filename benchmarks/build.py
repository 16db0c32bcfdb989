"""Speed and memory of building the `pooled` config against a bare loop over the feature files.

    python benchmarks/build.py [--scale full] [--data_dir DIR] [--num_proc N]

Without `--data_dir`, synthetic data of `--scale` is written once to /tmp/ego2exo_<scale> and reused.
The page cache is warmed first by reading every feature file once, so both sides read from memory. Then,
each in a fresh process (import time excluded, peak RSS from `getrusage`):
(a) the bare loop: `json.load` the metadata, `torch.load` each feature file once and average the rows of
    each of its segments (no validation, no Arrow), run before and after the build; the faster run is the floor;
(b) `load_ego2exo(data_dir, "pooled", cache_dir=<fresh folder>)`: parse and validate the metadata, read
    and check every feature file, pool, write the Arrow cache and open the four splits.
Prints one JSON object on the last line.
"""

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

SEGMENTS_KEY = "segments"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def bare_loop(data_dir) -> dict:
    """The floor: parse ego2exo.json, one `torch.load` per feature file, the mean of each segment's rows.

    No validation, no Arrow: `json.load`, group the clips by feature file, load, pool into one matrix.
    """
    import numpy as np
    import torch

    from ego2exo_hf.constants import METADATA_FILE, SPLITS

    torch.set_num_threads(1)
    start = time.perf_counter()
    with open(Path(data_dir) / METADATA_FILE) as f:
        meta = json.load(f)
    groups = defaultdict(list)
    for split in SPLITS:
        for clip in meta[split]["clips"]:
            groups[clip["feature_file_name"]].append(clip["feature_indices"])
    parsed = time.perf_counter()
    pooled = np.empty((sum(map(len, groups.values())), 1536), dtype=np.float32)
    row = 0
    for file_name, segments in groups.items():
        table = torch.load(Path(data_dir) / file_name, weights_only=True).reshape(-1, 1536).numpy()
        for indices in segments:
            pooled[row] = table[indices].mean(axis=0, dtype=np.float32)
            row += 1
    end = time.perf_counter()
    return {"seconds": end - start, "load_pool_s": end - parsed, SEGMENTS_KEY: row, "peak_rss_mb": peak_rss_mb()}


def build(data_dir, num_proc=None) -> dict:
    """`load_ego2exo(..., "pooled")` into a fresh cache folder, from the call to the opened splits."""
    import torch

    from ego2exo_hf.data import load_ego2exo

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory(prefix="ego2exo-build-bench-") as cache_dir:
        start = time.perf_counter()
        dataset = load_ego2exo(data_dir, "pooled", cache_dir=cache_dir, num_proc=num_proc)
        seconds = time.perf_counter() - start
        num_segments = sum(len(split) for split in dataset.values())
        cache_mb = sum(p.stat().st_size for p in Path(cache_dir).rglob("*") if p.is_file()) / 2**20
    return {"seconds": seconds, SEGMENTS_KEY: num_segments, "peak_rss_mb": peak_rss_mb(), "cache_mb": cache_mb}


def in_fresh_process(what: str, data_dir, num_proc=None) -> dict:
    """Run `bare_loop` or `build` in a new interpreter, so that its peak RSS is its own."""
    command = [sys.executable, __file__, "--child", what, "--data_dir", str(data_dir)]
    if num_proc:
        command += ["--num_proc", str(num_proc)]
    env = dict(os.environ, TQDM_DISABLE="1", HF_DATASETS_DISABLE_PROGRESS_BARS="1")
    out = subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def warm_page_cache(data_dir) -> dict:
    """Read every feature file once so that all timed runs read from the page cache."""
    start, total = time.perf_counter(), 0
    for path in sorted(Path(data_dir).rglob("*.pt")):
        with open(path, "rb") as f:
            while block := f.read(1 << 24):
                total += len(block)
    return {"feature_gb": total / 1e9, "warm_read_s": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=["tiny", "demo", "full"], default="full")
    parser.add_argument("--data_dir", help="an existing Ego2Exo folder (default: synthetic, written once)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--num_proc", type=int, default=None, help="builder processes (default: one)")
    parser.add_argument("--child", choices=["bare", "build"], help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        result = bare_loop(args.data_dir) if args.child == "bare" else build(args.data_dir, args.num_proc)
        result["children_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(json.dumps(result))
        return

    data_dir = Path(args.data_dir or f"/tmp/ego2exo_{args.scale}")
    if not (data_dir / "ego2exo.json").is_file():
        from ego2exo_hf.data import write_synthetic

        print(f"writing synthetic `{args.scale}` data to {data_dir} (once)", file=sys.stderr)
        write_synthetic(data_dir, scale=args.scale, seed=args.seed)
    figures = {"scale": args.scale if not args.data_dir else None, "data_dir": str(data_dir)}
    figures.update(warm_page_cache(data_dir))
    bare_before = in_fresh_process("bare", data_dir)
    built = in_fresh_process("build", data_dir, args.num_proc)
    bare_after = in_fresh_process("bare", data_dir)
    bare_s = min(bare_before["seconds"], bare_after["seconds"])
    figures.update(
        segments=built[SEGMENTS_KEY],
        num_proc=args.num_proc,
        build_s=round(built["seconds"], 2),
        build_segments_per_s=round(built[SEGMENTS_KEY] / built["seconds"], 1),
        build_peak_rss_mb=round(built["peak_rss_mb"], 1),
        build_worker_peak_rss_mb=round(built["children_peak_rss_mb"], 1) if args.num_proc else None,
        arrow_cache_mb=round(built["cache_mb"], 1),
        bare_s_before=round(bare_before["seconds"], 2),
        bare_s_after=round(bare_after["seconds"], 2),
        bare_load_pool_s=round(min(bare_before["load_pool_s"], bare_after["load_pool_s"]), 2),
        bare_segments_per_s=round(bare_before[SEGMENTS_KEY] / bare_s, 1),
        bare_peak_rss_mb=round(max(bare_before["peak_rss_mb"], bare_after["peak_rss_mb"]), 1),
        ratio_vs_bare=round(built["seconds"] / bare_s, 3),
        ratio_vs_bare_load_pool=round(built["seconds"] / min(bare_before["load_pool_s"], bare_after["load_pool_s"]), 3),
        machine=f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
        page_cache="warmed (every feature file read once before the timed runs)",
    )
    assert built[SEGMENTS_KEY] == bare_before[SEGMENTS_KEY], "the build and the bare loop saw different segments"
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
