"""`ego2exo_hf/text/data.py`: the stratified held-out slice keeps every class in train."""

import collections

from ego2exo_hf.text.data import stratified_heldout


def test_stratified_heldout_keeps_every_class_in_train():
    labels = [0] * 50 + [1] * 20 + [2] * 3 + [3]
    train, heldout = stratified_heldout(labels, 0.1, seed=0)
    assert sorted(train + heldout) == list(range(len(labels)))
    held = collections.Counter(labels[i] for i in heldout)
    assert held == {0: 5, 1: 2}
    assert {labels[i] for i in train} == {0, 1, 2, 3}
