"""How much a feature classifier loses across views on synthetic (or real) data.

    python benchmarks/view_gap.py --data_dir /tmp/ego2exo_full      # e.g. written by benchmarks/build.py

A linear probe trained on one view's train split is scored on the other view's val split, next to a probe
trained on that view's own train labels. Prints one JSON object on the last line.
"""

import argparse
import json
import sys
from pathlib import Path

import torch

TESTS = Path(__file__).parents[1] / "tests"
sys.path[:0] = [str(TESTS), str(TESTS / "data")]  # the test module and the fixture module it imports
from test_synthetic import _fit_probe  # noqa: E402  (the same probe as the test at tiny scale)

from ego2exo_hf import load_ego2exo  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data_dir", required=True)
    args = parser.parse_args()
    torch.set_num_threads(1)
    dataset = load_ego2exo(args.data_dir, "pooled").with_format("torch")
    tensors = {split: dataset[split][:] for split in dataset}
    result = {}
    for view, other in (("ego", "exo"), ("exo", "ego")):
        target = tensors[f"{other}_val"]
        accuracy = {}
        for name, train in (("cross_view", view), ("own_view", other)):
            predict = _fit_probe(tensors[f"{train}_train"]["features"], tensors[f"{train}_train"]["label"])
            accuracy[name] = round(100 * (predict(target["features"]) == target["label"]).float().mean().item(), 1)
        accuracy["gap"] = round(accuracy["own_view"] - accuracy["cross_view"], 1)
        print(f"{view} train -> {other} val: {accuracy}")
        result[f"{view}->{other}"] = accuracy
    print(json.dumps(result))


if __name__ == "__main__":
    main()
