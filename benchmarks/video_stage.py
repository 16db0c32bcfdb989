"""Speed of the video stage's training loop against a bare PyTorch loop and a per-sample `torch.load` loader.

    python benchmarks/video_stage.py [--scale full] [--iterations 2000] [--data_dir DIR]

(1) `train_video.py`'s own loop (accelerate, paired class-balanced sampler, tqdm, logging), as timed by the
    loop itself (`train_ms_per_iteration`: validation and checkpoints excluded);
(a) the floor: a bare loop over the same in-memory tensors, same model, optimiser, schedule and batch
    (64 + 64 gathered from one [source; target] tensor and forwarded in one call, as the original's
    `feat_lagtran.py`), indices from `torch.randint`;
(b) the original's data path: a 4-worker `DataLoader` per domain whose `__getitem__` `torch.load`s the
    segment's whole take feature file and averages its rows;
(1) and (a) run `--repeats` times, alternated; the figures are medians (the ratio: of the paired ratios).
(c) with `--methods` / `--heads`: the same loop for other methods, and on window sequences through each head;
    for a method with extra modules, also their floor: forward, backward and SGD step of those modules alone on
    64 + 64 hidden rows (e.g. CDAN's reference discriminator, 1024 -> 1024 -> 1024 -> 1).
Prints one JSON object on the last line.
"""

import argparse
import itertools
import json
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch
from torch.nn import functional as F
from torch.utils.data import DataLoader, Dataset

import train_video
from ego2exo_hf.data import load_ego2exo, write_pseudo_labels, write_synthetic
from ego2exo_hf.models import FeatureClassifier, FeatureClassifierConfig
from ego2exo_hf.video.adaptation import ConditionalDiscriminator
from ego2exo_hf.video.config import VideoTrainingArguments
from ego2exo_hf.video.loop import build_optimizer, inv_schedule
from ego2exo_hf.video.methods import get_method, get_method_class


class PerSampleFeatures(Dataset):
    """The original's loader: every sample re-reads its take's feature file."""

    def __init__(self, data_dir, split):
        self.data_dir = Path(data_dir)
        self.rows = split.select_columns(["feature_file_name", "feature_indices", "label"]).to_list()

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        row = self.rows[i]
        table = torch.load(self.data_dir / row["feature_file_name"], weights_only=True).reshape(-1, 1536)
        return table[row["feature_indices"]].mean(0), row["label"]


def train_step(model, optimizer, scheduler, features, labels):
    logits = model(features).logits  # [source rows | target rows], one forward
    loss = sum(F.cross_entropy(part, y) for part, y in zip(logits.chunk(2), labels.chunk(2)))
    loss.backward()
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)


def new_model(args):
    model = FeatureClassifier(FeatureClassifierConfig()).train()
    optimizer = build_optimizer(model, [], args)
    return model, optimizer, inv_schedule(optimizer)


def bare_loop_ms(args, source, target, iterations, batch):
    model, optimizer, scheduler = new_model(args)
    features, labels = torch.cat([source[0], target[0]]), torch.cat([source[1], target[1]])
    num_source = len(source[1])
    for it in range(iterations + 20):
        if it == 20:  # warm-up done
            start = time.perf_counter()
        rows = torch.cat([torch.randint(num_source, (batch,)), torch.randint(len(target[1]), (batch,)) + num_source])
        train_step(model, optimizer, scheduler, features[rows], labels[rows])
    return 1000 * (time.perf_counter() - start) / iterations


def per_sample_ms(args, data_dir, splits, iterations, batch, workers=4):
    model, optimizer, scheduler = new_model(args)
    loaders = [
        DataLoader(PerSampleFeatures(data_dir, splits[name]), batch_size=batch, shuffle=True, drop_last=True,
                   num_workers=workers, persistent_workers=True)
        for name in ("exo_train", "ego_train")
    ]  # fmt: skip
    streams = [itertools.chain.from_iterable(itertools.repeat(loader)) for loader in loaders]
    warmup = 2
    for it in range(iterations + warmup):
        if it == warmup:  # workers started, first batches out
            start = time.perf_counter()
        (xs, ys), (xt, yt) = next(streams[0]), next(streams[1])
        train_step(model, optimizer, scheduler, torch.cat([xs, xt]), torch.cat([ys, yt]))
    return 1000 * (time.perf_counter() - start) / iterations


def extra_modules_ms(args, name, iterations=200):
    """A method's extra modules alone (None if it has none): forward, backward, SGD step on 2 x batch rows."""
    modules = get_method(name, replace(args, method=name, pseudo_labels=None)).modules()
    if not modules:
        return None
    optimizer = torch.optim.SGD([p for m in modules for p in m.parameters()], lr=0.01, momentum=0.9,
                                nesterov=True, fused=True)  # fmt: skip
    hidden = torch.randn(2 * args.batch_size, args.hidden_dim)
    probabilities = torch.randn(2 * args.batch_size, 24).softmax(dim=1)
    for it in range(iterations + 20):
        if it == 20:
            start = time.perf_counter()
        module = modules[0]
        output = module(hidden, probabilities) if isinstance(module, ConditionalDiscriminator) else module(hidden)
        output.sum().backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    return 1000 * (time.perf_counter() - start) / iterations


def method_args(args, name, output_dir):
    """`args` for method `name`: its own learning rate; the pseudo-labels only where it uses them."""
    labels = args.pseudo_labels if get_method_class(name).pseudo_labels != "unused" else None
    return replace(args, method=name, output_dir=str(output_dir), pseudo_labels=labels, learning_rate=None)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="demo", choices=["tiny", "demo", "full"])
    parser.add_argument("--data_dir", help="existing copy to use instead of writing synthetic data")
    parser.add_argument("--iterations", type=int, default=2000, help="iterations of the loop and of (a)")
    parser.add_argument("--repeats", type=int, default=3, help="alternated runs of the loop and of (a); medians")
    parser.add_argument("--per_sample_iterations", type=int, default=20, help="iterations of (b)")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1: 2-core box)")
    parser.add_argument("--methods", nargs="*", default=[], help="also time these methods' loops (vs lagtran)")
    parser.add_argument("--heads", nargs="*", default=[], help="also time --config frames with these heads (vs mean)")
    parser.add_argument("--max_windows", type=int, default=None, help="--max_windows of the --heads runs")
    opts = parser.parse_args()
    torch.set_num_threads(opts.threads)

    work = Path(tempfile.mkdtemp(prefix="ego2exo-bench-"))
    data_dir = Path(opts.data_dir) if opts.data_dir else write_synthetic(work / opts.scale, opts.scale, seed=0)
    splits = load_ego2exo(data_dir, "pooled")
    pseudo = write_pseudo_labels(work / "pl.txt", splits["ego_train"]["segment_id"], splits["ego_train"]["label"])
    args = VideoTrainingArguments(
        data_dir=str(data_dir), output_dir=str(work / "run"), source="exo", target="ego", pseudo_labels=str(pseudo),
        num_iterations=opts.iterations, val_every=10**9, checkpoint_every=10**9, logging_steps=100, report_to="none",
    )  # fmt: skip
    args = get_method_class(args.method).configure(args)  # the bare loop uses its learning rate as given

    def tensors(name):
        table = splits[name].with_format("torch", columns=["features", "label"])[:]
        return table["features"], table["label"]

    source, target = tensors("exo_train"), tensors("ego_train")
    pairs = []  # (loop, bare), alternated: a shared machine's speed drifts between runs
    for repeat in range(opts.repeats):
        bare = bare_loop_ms(args, source, target, opts.iterations, args.batch_size)
        run = replace(args, output_dir=str(work / f"run{repeat}"))
        pairs.append((train_video.main(run)["train_ms_per_iteration"], bare))
    loop, bare = (statistics.median(values) for values in zip(*pairs))
    ratios = [ours / floor for ours, floor in pairs]
    per_sample = per_sample_ms(args, data_dir, splits, opts.per_sample_iterations, args.batch_size)
    methods = {  # the same loop, another method (validation and checkpoints excluded from the timing)
        name: train_video.main(method_args(args, name, work / name))["train_ms_per_iteration"]
        for name in opts.methods
    }
    floors = {name: extra_modules_ms(args, name) for name in opts.methods}
    heads = {  # lagtran on the window sequences through each temporal head
        name: train_video.main(
            replace(args, config="frames", head=name, max_windows=opts.max_windows, output_dir=str(work / name))
        )["train_ms_per_iteration"]
        for name in opts.heads
    }
    print(json.dumps({
        "scale": opts.scale if not opts.data_dir else str(data_dir),
        "train_segments": {"exo": len(splits["exo_train"]), "ego": len(splits["ego_train"])},
        "iterations": opts.iterations,
        "per_sample_iterations": opts.per_sample_iterations,
        "threads": opts.threads,
        "ms_per_iter": round(loop, 3),
        "bare_ms_per_iter": round(bare, 3),
        "per_sample_load_ms_per_iter": round(per_sample, 1),
        "ratio_vs_bare": round(statistics.median(ratios), 3),  # median of the paired ratios
        "ratios_vs_bare": [round(r, 3) for r in ratios],
        "speedup_vs_per_sample_load": round(per_sample / loop, 1),
        "methods_ms_per_iter": {name: round(ms, 3) for name, ms in methods.items()},
        "methods_ratio_vs_lagtran": {name: round(ms / loop, 2) for name, ms in methods.items()},
        "extra_modules_alone_ms_per_iter": {name: round(ms, 3) for name, ms in floors.items() if ms is not None},
        "max_windows": opts.max_windows,
        "heads_ms_per_iter": {name: round(ms, 3) for name, ms in heads.items()},
        "heads_ratio_vs_mean": {name: round(ms / heads["mean"], 2) for name, ms in heads.items() if "mean" in heads},
        "heads_ratio_vs_pooled": {name: round(ms / loop, 2) for name, ms in heads.items()},
    }))  # fmt: skip


if __name__ == "__main__":
    main()
