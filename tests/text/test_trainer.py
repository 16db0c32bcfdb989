"""`ego2exo_hf/text/trainer.py`: the class-balanced sampler, the trainer's sampler switch, named progress bars."""

import collections

import datasets
import numpy as np
import pytest
from transformers import TrainingArguments

from ego2exo_hf.text.backbone import load_text_model
from ego2exo_hf.text.data import tokenize
from ego2exo_hf.text.trainer import CaptionTrainer, ClassBalancedSampler


def test_balanced_sampler_draws_classes_uniformly():
    labels = [0] * 800 + [1] * 150 + [2] * 40 + [3] * 9 + [4]
    lengths = np.random.default_rng(0).integers(3, 128, size=len(labels)).tolist()
    for with_lengths in (None, lengths):
        sampler = ClassBalancedSampler(labels, with_lengths, batch_size=16, seed=0)
        draws = [i for _ in range(10) for i in sampler]
        assert len(draws) == 10 * len(labels)
        freq = collections.Counter(labels[i] for i in draws)
        shares = np.array([freq[c] for c in range(5)]) / len(draws)
        np.testing.assert_allclose(shares, 0.2, atol=0.02)
    first_batch = [lengths[i] for i in list(sampler)[:16]]
    assert max(first_batch) - min(first_batch) <= 20  # batches of similar length
    natural = ClassBalancedSampler(labels, power=0.0, seed=0)
    assert collections.Counter(labels[i] for i in natural)[0] > 0.7 * len(labels)
    sqrt_balanced = collections.Counter(labels[i] for i in ClassBalancedSampler(labels, power=0.5, seed=0))
    assert sqrt_balanced[0] / len(labels) == pytest.approx(np.sqrt(800) / np.sqrt([800, 150, 40, 9, 1]).sum(), abs=0.04)


def test_trainer_sampler_switch(tiny_bert, tmp_path):
    from torch.utils.data import RandomSampler

    tokenizer, model = load_text_model(str(tiny_bert))
    dataset = datasets.Dataset.from_dict({"text_caption": ["a b", "c"] * 8, "label": [0, 1] * 8})
    dataset = tokenize(dataset, tokenizer, max_length=16)
    args = TrainingArguments(output_dir=str(tmp_path), report_to="none", save_strategy="no")
    for balanced, expected in ((True, ClassBalancedSampler), (False, RandomSampler)):
        trainer = CaptionTrainer(
            model=model, args=args, train_dataset=dataset, processing_class=tokenizer, balanced_sampling=balanced
        )
        assert isinstance(trainer._get_train_sampler(), expected)


def test_every_phase_has_a_named_progress_bar(tiny_bert, tmp_path, capsys):
    from ego2exo_hf.text.trainer import fit_linear_probe

    tokenizer, model = load_text_model(str(tiny_bert))
    dataset = datasets.Dataset.from_dict({"text_caption": ["a b", "c"] * 8, "label": [0, 1] * 8})
    dataset = tokenize(dataset, tokenizer, max_length=16)
    args = TrainingArguments(output_dir=str(tmp_path), report_to="none", save_strategy="no", max_steps=2,
                             per_device_train_batch_size=4, eval_strategy="steps", eval_steps=2,
                             dataloader_pin_memory=False)  # fmt: skip
    trainer = CaptionTrainer(model=model, args=args, train_dataset=dataset, eval_dataset=dataset,
                             processing_class=tokenizer)  # fmt: skip
    fit_linear_probe(trainer, dataset, power=0.5, steps=2)
    trainer.train()
    bars = capsys.readouterr().err
    for name in ("linear probe: features", "fine-tuning", "validation"):
        assert f"{name}: 100%" in bars, bars[-2000:]
