#!/usr/bin/env python
"""LaGTran text stage: fine-tune a caption classifier on the source view's captions, pool it with an n-gram model,
and pseudo-label the target view's captions.

    python train_text.py --data_dir DATA --source exo --target ego --output_dir runs/text_exo_ego
    python train_text.py args.yaml                                   # the same arguments from a YAML/JSON file
    accelerate launch --config_file accelerate_configs/cpu.yaml train_text.py ...

The output folder is the pseudo-labeller (transformer, tokenizer, `ngram_classifier/`, `pseudo_labeller.json`) with
`pseudo_labels/ego2exo_<source>_<target>.txt` (official format) and `.parquet`, `metrics.json` and a model card.
"""

import json
import logging
import sys

from ego2exo_hf.arguments import ArgumentParser, parse_args
from ego2exo_hf.errors import exit_on_user_error

logger = logging.getLogger("train_text")


def make_parser(prog: str | None = None, training_arguments=None) -> ArgumentParser:
    """The parser of this script, also behind `ego2exo train-text`. With the default, torch-free
    `TextTrainingArguments` it answers `--help` at once; `CaptionTrainingArguments` reads every option."""
    from ego2exo_hf.text.config import DataArguments, ModelArguments, TextTrainingArguments

    dataclass_types = (ModelArguments, DataArguments, training_arguments or TextTrainingArguments)
    epilog = "Every other transformers.TrainingArguments option is accepted too (e.g. --activation_checkpointing true)."
    return ArgumentParser(dataclass_types, prog=prog, description=__doc__.split("\n\n")[0], epilog=epilog)


def parse_arguments(argv=None, prog: str | None = None) -> tuple:
    """`(ModelArguments, DataArguments, CaptionTrainingArguments)` from command-line words (default `sys.argv`) or one
    argument file: `--help` and the stage's own checks first, before torch loads, then every option."""
    parse_args(make_parser(prog), argv, allow_unknown=True)
    from ego2exo_hf.text.training_args import CaptionTrainingArguments

    return parse_args(make_parser(prog, CaptionTrainingArguments), argv)


def main(argv=None, prog: str | None = None) -> dict:
    """Run the stage from command-line words or one argument file; returns the metrics (also in `metrics.json`)."""
    return train(*parse_arguments(argv, prog))


def train(model_args, data_args, training_args) -> dict:
    """Run the stage with parsed arguments (`training_args`: `CaptionTrainingArguments`); returns the metrics."""
    import numpy as np
    import transformers
    from transformers import DataCollatorWithPadding, EarlyStoppingCallback, set_seed

    from ego2exo_hf.cards import write_text_model_card
    from ego2exo_hf.constants import split_name
    from ego2exo_hf.data.pseudo_labels import pseudo_label_file_name
    from ego2exo_hf.hub import check_hub_access, push_folder, write_metrics
    from ego2exo_hf.metrics import load_accuracy_metric
    from ego2exo_hf.text.backbone import load_text_model, resolve_checkpoint
    from ego2exo_hf.text.data import CAPTION_COLUMN, caption_context, load_caption_splits, stratified_heldout, tokenize
    from ego2exo_hf.text.pseudo_labeller import CaptionPseudoLabeller, fit_pooling
    from ego2exo_hf.text.trainer import CaptionTrainer, fit_linear_probe, make_compute_metrics
    from ego2exo_hf.utils import atomic_write_text, check_output_dir, claim_output_dir

    # Setup logging.
    logging.basicConfig(
        format="%(asctime)s - %(levelname)s - %(name)s - %(message)s",
        datefmt="%m/%d/%Y %H:%M:%S",
        handlers=[logging.StreamHandler(sys.stdout)],
    )
    log_level = training_args.get_process_log_level()
    for name in ("train_text", "ego2exo_hf"):
        logging.getLogger(name).setLevel(log_level)
    transformers.utils.logging.set_verbosity(log_level)
    precision = "bf16 autocast on the CPU (--cpu_bf16 false: float32)" if training_args.cpu_bf16_autocast else None
    logger.info("training precision: %s", precision or ("bf16" if training_args.bf16 else "float32"))

    # Check the output folder, the Hub and the model before the data load.
    source, target = data_args.source, data_args.target
    direction, source_split, target_split = f"{source}->{target}", *(split_name(d, "train") for d in (source, target))
    push_to_hub, training_args.push_to_hub = training_args.push_to_hub, False  # the finished folder is pushed below
    repo_id = training_args.hub_model_id or f"ego2exo-text-{source}-{target}"
    if push_to_hub:
        check_hub_access(repo_id)
    output_options = dict(overwrite=training_args.overwrite, data_dir=data_args.data_dir)
    check_output_dir(training_args.output_dir, "train-text", **output_options)
    model_path = resolve_checkpoint(model_args.model_name_or_path, model_args.model_cache_dir)

    # Load data: source captions (a stratified slice held out for selection) and target captions, each caption
    # with the temporal context of its own view (the n-gram model reads it; no labels involved).
    source_rows, target_rows = load_caption_splits(data_args.data_dir, source, target, data_args.cache_dir)
    source_labels = np.asarray(source_rows["label"])
    train_idx, heldout_idx = stratified_heldout(source_labels, data_args.heldout_fraction, training_args.seed)
    ngram_weights = training_args.ngram_context_weight, training_args.ngram_position_weight
    use_context = training_args.ngram_ensemble and any(ngram_weights)
    source_context = caption_context(source_rows, data_args.data_dir, source_split) if use_context else None
    target_context = caption_context(target_rows, data_args.data_dir, target_split) if use_context else None

    # Load the pretrained model and tokenizer.
    set_seed(training_args.seed)  # the new classification head too
    tokenizer, model = load_text_model(model_path, model_args.model_cache_dir, model_args.attn_implementation)
    if training_args.freeze_word_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    output_dir = claim_output_dir(training_args.output_dir, "train-text", **output_options)

    # Tokenize the source captions.
    with training_args.main_process_first(desc="tokenization"):
        tokenized = tokenize(source_rows, tokenizer, data_args.max_length, data_args.preprocessing_num_workers)
    train_set, heldout_set = tokenized.select(train_idx), tokenized.select(heldout_idx)
    if len(heldout_set) == 0:  # nothing to select on: train for the budget and keep the last model
        training_args.eval_strategy, training_args.load_best_model_at_end = "no", False

    # Training: a linear-probe warm start of the head, then fine-tuning, selected on the held-out source slice.
    callbacks = []
    if training_args.load_best_model_at_end and training_args.early_stopping_patience > 0:
        callbacks.append(EarlyStoppingCallback(training_args.early_stopping_patience))
    trainer = CaptionTrainer(
        model=model,
        args=training_args,
        train_dataset=train_set,
        eval_dataset=heldout_set if len(heldout_set) else None,
        processing_class=tokenizer,
        data_collator=DataCollatorWithPadding(tokenizer),
        compute_metrics=make_compute_metrics(),
        callbacks=callbacks,
        balanced_sampling=training_args.balanced_sampling,
        balancing_power=training_args.balancing_power,
        group_by_length=training_args.group_by_length,
    )
    power = training_args.balancing_power if training_args.balanced_sampling else 0.0  # both models' class balance
    probe = {}
    if training_args.linear_probe and training_args.world_size > 1:
        logger.warning("--linear_probe is single-process only: skipped with %d processes", training_args.world_size)
    elif training_args.linear_probe and not training_args.resume_from_checkpoint:
        logger.info("linear probe: fitting the new head on frozen features")
        probe = fit_linear_probe(trainer, train_set, power)
    train_result = trainer.train(resume_from_checkpoint=training_args.resume_from_checkpoint)
    trainer.save_model()
    trainer.save_state()

    # The pseudo-labeller: the transformer pooled with an n-gram model, the weight chosen on the held-out slice.
    info = {"source": source, "target": target, "base_model": model_args.model_name_or_path}
    transformer = CaptionPseudoLabeller(trainer.model, tokenizer, max_length=data_args.max_length, info=info)
    ngram_options = dict(power=power, seed=training_args.seed, context_weight=ngram_weights[0],
                         position_weight=ngram_weights[1]) if training_args.ngram_ensemble else None  # fmt: skip
    metric = load_accuracy_metric()
    source_captions = source_rows[CAPTION_COLUMN][:]
    labeller, pooling_metrics = fit_pooling(
        transformer, source_captions, source_labels, heldout_idx, source_context, ngram_options, metric
    )
    metrics = {
        "direction": direction,
        "source": {"split": source_split, "num_train": len(train_set), "num_heldout": len(heldout_set)},
        "target": {"split": target_split, "num_segments": len(target_rows)},
        "model": {"model_name_or_path": model_args.model_name_or_path, "loaded_from": model_path,
                  "max_length": data_args.max_length, "precision": "bf16" if training_args.bf16 else "float32"},
        "train": {**train_result.metrics, **probe, "global_step": trainer.state.global_step},
        **pooling_metrics,
    }  # fmt: skip

    # Pseudo-label every target train caption with the saved artefact, exactly as `ego2exo pseudo-label` will.
    if training_args.process_index == 0:
        labeller.save_pretrained(output_dir, save_transformer=False)  # the Trainer saved the transformer
    trainer.accelerator.wait_for_everyone()
    labeller = CaptionPseudoLabeller.from_pretrained(output_dir)
    probabilities = labeller.predict_proba(target_rows[CAPTION_COLUMN][:], target_context)

    # Write the pseudo-labels, metrics and card; push.
    if training_args.process_index == 0:
        labels_file = output_dir / "pseudo_labels" / pseudo_label_file_name(source, target)
        counts = labeller.write(probabilities, target_rows["segment_id"], labels_file, data_args.confidence_threshold)
        files = {"file": str(labels_file.relative_to(output_dir)),
                 "table": str(labels_file.with_suffix(".parquet").relative_to(output_dir))}  # fmt: skip
        metrics["pseudo_labels"] = {**files, **counts}
        if min(target_rows["label"]) >= 0:  # reported for analysis only: nothing above looked at these labels
            metrics["target_train_analysis"] = {
                "uses_target_labels": True,
                "note": "accuracy of the pseudo-labels against the true target labels; never used for selection",
                **metric.compute(predictions=probabilities, references=target_rows["label"]),
            }
        write_metrics(output_dir, metrics)
        arguments = {"model": vars(model_args), "data": vars(data_args), "training": training_args.to_dict()}
        atomic_write_text(output_dir / "text_args.json", json.dumps(arguments, indent=2))
        settings = {**vars(model_args), **vars(data_args), **arguments["training"], "pseudo_label_file": files["file"]}
        write_text_model_card(output_dir, settings=settings, metrics=metrics)
        if push_to_hub:
            push_folder(output_dir, repo_id, commit_message=f"Text stage {direction}")
            metrics["hub_model_id"] = repo_id
        heldout = metrics.get("source_heldout")
        scores = heldout and f"; source held-out top-1 {heldout['top1']:.2f}, mean-class {heldout['mean_class']:.2f}"
        print(f"wrote {output_dir} (pseudo-labeller, {files['file']}, metrics.json, README.md){scores or ''}")
    return metrics


if __name__ == "__main__":
    exit_on_user_error(main)()
