"""Take context (`--context_window`): neighbours by segment_index within the take, and never from the other view."""

import numpy as np
import torch

from ego2exo_hf.data import load_ego2exo
from ego2exo_hf.models import FeatureClassifier
from ego2exo_hf.video.context import neighbour_index, with_context
from ego2exo_hf.video.prediction import predict_split
from train_video import main as train_video


def test_neighbours_are_the_previous_and_next_segments_of_the_take():
    takes = ["a", "b", "a", "a", "b", "a"]
    indices = [4, 0, 0, 9, 3, 2]  # take a in order: rows 2 (0), 5 (2), 0 (4), 3 (9); take b: rows 1 (0), 4 (3)
    index, mask = neighbour_index(takes, indices, window=1)
    assert index[0].tolist() == [5, 3] and mask[0].all()  # row 0 (a, 4): previous 2, next 9
    assert mask[2].tolist() == [False, True] and index[2, 1] == 5  # the take's first segment has no previous one
    assert mask[1].tolist() == [False, True] and index[1, 1] == 4
    index, mask = neighbour_index(takes, indices, window=2)
    assert index[5][mask[5]].tolist() == [2, 0, 3]  # row 5 (a, 2): previous 0; next 4, 9


def test_context_never_crosses_views():
    # One take, six consecutive segments: ego has 0, 2, 4 and exo has 1, 3, 5, as the train splits interleave.
    ego = torch.tensor([[0.0], [2.0], [4.0]])
    exo = torch.tensor([[100.0], [300.0], [500.0]])
    context = with_context(ego, ["t"] * 3, [0, 2, 4], window=1)
    assert context[1].tolist() == [2.0, 2.0]  # mean of ego 0 and ego 4, not of exo 1 and exo 3 (200)
    merged = with_context(torch.cat([ego, exo]), ["t"] * 6, [0, 2, 4, 1, 3, 5], window=1)
    assert merged[1, 1].item() == 200.0  # what looking across views would give: a different result


def test_training_and_prediction_with_context(make_args, tiny_data_dir):
    args = make_args("context", method="source_only", pseudo_labels=None, num_iterations=40, val_every=20,
                     context_window=2)  # fmt: skip
    metrics = train_video(args)
    model = FeatureClassifier.from_pretrained(args.output_dir).eval()
    assert model.config.context_window == 2 and model.hidden.in_features == 2 * 1536
    table, predicted = predict_split(model, tiny_data_dir, "ego_val")
    assert predicted["top1"] == metrics["target_val"]["top1"]
    pooled = load_ego2exo(tiny_data_dir, "pooled")["ego_val"]
    own = pooled.with_format("torch", columns=["features"])["features"][:]
    expected = with_context(own, pooled["take_uid"][:], pooled["segment_index"][:], 2)
    with torch.no_grad():
        logits = model(expected).logits.numpy()
    assert np.array_equal(np.asarray(table["prediction"][:]), logits.argmax(1))
