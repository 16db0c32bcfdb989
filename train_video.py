#!/usr/bin/env python
"""LaGTran video stage: a keystep classifier on pooled segment features, trained with source labels + target
pseudo-labels in an `accelerate` loop.

    python train_video.py --data_dir DATA --source exo --target ego --method lagtran \
        --pseudo_labels runs/text_exo_ego/pseudo_labels/ego2exo_exo_ego.txt --output_dir runs/video_exo_ego
    python train_video.py args.yaml                                   # the same arguments from a YAML/JSON file
    accelerate launch --config_file accelerate_configs/multi_gpu.yaml train_video.py ...   # same script, DDP
"""

import time
from pathlib import Path

from ego2exo_hf.arguments import ArgumentParser, parse_args
from ego2exo_hf.errors import Ego2ExoError, exit_on_user_error
from ego2exo_hf.video.config import VideoTrainingArguments


def make_parser(prog: str | None = None) -> ArgumentParser:
    """The parser of this script, also behind `ego2exo train-video`."""
    return ArgumentParser(VideoTrainingArguments, prog=prog, description=__doc__.split("\n\n")[0])


def main(argv=None, prog: str | None = None) -> dict:
    """Run the stage from command-line words (default `sys.argv`), one argument file, or `VideoTrainingArguments`;
    returns the metrics (also in `metrics.json`)."""
    (args,) = (argv,) if isinstance(argv, VideoTrainingArguments) else parse_args(make_parser(prog), argv)

    # Heavy libraries load only once the arguments are known to be good (`--help` returns at once).
    import torch
    from accelerate import Accelerator
    from accelerate.logging import get_logger
    from accelerate.utils import DataLoaderConfiguration, ProjectConfiguration, set_seed
    from torch.utils.data import DataLoader
    from tqdm.auto import tqdm

    from ego2exo_hf.cards import write_video_model_card
    from ego2exo_hf.data.samplers import PairedBatchSampler
    from ego2exo_hf.hub import check_hub_access, push_folder, write_metrics
    from ego2exo_hf.metrics import load_accuracy_metric
    from ego2exo_hf.models import FeatureClassifier, FeatureClassifierConfig
    from ego2exo_hf.utils import check_output_dir, claim_output_dir
    from ego2exo_hf.video.checkpoints import find_checkpoint, load_checkpoint, run_fingerprint, save_checkpoint
    from ego2exo_hf.video.data import load_video_data
    from ego2exo_hf.video.loop import (
        BestModel,
        LossMeter,
        TrainingLog,
        build_optimizer,
        evaluate_split,
        headline,
        inv_schedule,
        trackers,
    )
    from ego2exo_hf.video.methods import get_method
    from ego2exo_hf.video.pools import whole_batch
    from ego2exo_hf.video.selection import label_free_scores, picks

    logger = get_logger("train_video")
    method = get_method(args.method, args)
    args = method.args  # checked against the method, its learning rate filled in
    if args.pseudo_labels and not Path(args.pseudo_labels).is_file():
        raise Ego2ExoError(f"pseudo-label file {args.pseudo_labels} not found (train_text.py writes it)")
    if args.push_to_hub:
        check_hub_access(args.hub_model_id)  # before training, not after
    output_options = dict(overwrite=args.overwrite, data_dir=args.data_dir)
    output_dir = check_output_dir(args.output_dir, "train-video", **output_options)  # claimed once the data have loaded
    accelerator = Accelerator(
        log_with=trackers(args.report_to),
        project_config=ProjectConfiguration(project_dir=str(output_dir), logging_dir=str(output_dir / "runs")),
        # One global batch of batch_size + batch_size rows per iteration, split across processes: the same rows
        # per iteration and one scheduler step, whatever the number of processes.
        dataloader_config=DataLoaderConfiguration(split_batches=True),
    )
    processes = accelerator.num_processes
    if args.batch_size % processes or args.batch_size // processes < 2:
        raise Ego2ExoError(
            f"--batch_size {args.batch_size} must be a multiple of the {processes} processes with at least 2 rows "
            "per process (BatchNorm)"
        )
    set_seed(args.seed)
    fingerprint = run_fingerprint(args)
    checkpoint = find_checkpoint(args) if args.resume_from_checkpoint else None
    start = checkpoint.iteration if checkpoint else 0

    # Data: the pooled features (or window sequences) of both domains in memory; target labels as the method needs them.
    with accelerator.main_process_first():
        data = load_video_data(args, method.target_labels)
    claim_output_dir(output_dir, "train-video", **output_options)
    sources = [data.source_train, data.target_train] if method.uses_target else [data.source_train]
    sampler = PairedBatchSampler(
        data.source_train.labels,
        len(data.target_train) if method.uses_target else 0,
        batch_size=args.batch_size,
        num_iterations=args.num_iterations,
        seed=args.seed,
        start=start,
        num_shards=processes,
        class_balanced=args.source_sampling == "balanced",
    )  # every iteration: batch_size (class-balanced) source rows (+ batch_size target rows)
    train_rows = type(data.source_train).concatenate(sources)  # a FeaturePool, or a SequencePool with frames
    train_loader = DataLoader(train_rows, batch_sampler=sampler, collate_fn=whole_batch,
                              generator=torch.Generator())  # its own: no draw from the global RNG (dropout, resume)
    eval_batch = max(args.eval_batch_size // processes, 1) * processes
    val_loaders = {
        name: DataLoader(getattr(data, name), batch_size=eval_batch, collate_fn=whole_batch)
        for name in ("source_val", "target_val")
    }

    # Model, optimiser, schedule: the paper's classifier (a temporal head first with frames), SGD Nesterov, "inv".
    head = {"head": args.head, "max_windows": args.max_windows} if args.config == "frames" else {}
    config = FeatureClassifierConfig(feature_dim=args.feature_dim, hidden_dim=args.hidden_dim,
                                     context_window=args.context_window, **head)  # fmt: skip
    model = FeatureClassifier(config)
    extra_modules = method.modules()  # e.g. a domain discriminator; none for the three methods of the paper
    optimizer = build_optimizer(model, extra_modules, args)
    scheduler = inv_schedule(optimizer, args.lr_gamma, args.lr_power)
    model, optimizer, scheduler, train_loader, *prepared = accelerator.prepare(
        model, optimizer, scheduler, train_loader, *val_loaders.values(), *extra_modules
    )
    val_loaders = dict(zip(val_loaders, prepared[: len(val_loaders)]))
    method.attach(prepared[len(val_loaders) :])
    metric = load_accuracy_metric(keep_in_memory=True)

    best = BestModel(args.selection)
    if checkpoint:
        load_checkpoint(accelerator, checkpoint)
        best.restore(checkpoint)
        logger.info(f"resumed from {checkpoint.path} at iteration {start}", main_process_only=True)
    accelerator.init_trackers("video_stage", config={k: v for k, v in vars(args).items() if v is not None})
    log = TrainingLog(output_dir, accelerator.is_main_process, start)

    def training_step(batch) -> tuple:
        """One optimisation step on this process's share of a paired batch."""
        loss = method.loss(model, batch, iteration)
        if not torch.isfinite(loss):
            raise Ego2ExoError(
                f"the training loss became {loss.item()} at iteration {iteration}: check the features "
                "(`ego2exo verify`) or lower --learning_rate"
            )
        accelerator.backward(loss)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.detach(), *method.split(batch)

    def validate() -> dict:
        return {name: evaluate_split(model, loader, accelerator, metric) for name, loader in val_loaders.items()}

    # Training loop.
    logger.info(
        f"{args.method} {args.direction}: {len(data.source_train)} source, {len(data.target_train)} target train "
        f"segments; iterations {start}..{args.num_iterations} on {processes} process(es)",
        main_process_only=True,
    )
    model.train()
    progress = tqdm(total=args.num_iterations, initial=start, desc=f"video {args.method} {args.direction}",
                    disable=not accelerator.is_local_main_process)  # fmt: skip
    meter, loop_seconds, tick = LossMeter(accelerator.device), 0.0, time.perf_counter()
    for iteration, batch in enumerate(train_loader, start=start + 1):
        meter.add(*training_step(batch))
        progress.update(1)
        log_now, val_now = iteration % args.logging_steps == 0, iteration % args.val_every == 0
        val_now = val_now or iteration == args.num_iterations
        checkpoint_now = iteration % args.checkpoint_every == 0
        if log_now or val_now or checkpoint_now:
            loop_seconds += time.perf_counter() - tick  # the timed loop excludes validation and checkpoints
        if log_now or val_now:
            record = {"iteration": iteration, **meter.read(accelerator), "lr": scheduler.get_last_lr()[0]}
            if val_now:
                record.update(headline(validate()))
                unwrapped = accelerator.unwrap_model(model)
                record.update(label_free_scores(unwrapped, data.target_train, data.source_val, args.seed))
                best.update(unwrapped, record, iteration)
            accelerator.log({k: v for k, v in record.items() if k != "iteration"}, step=iteration)
            log.append(record)
            progress.set_postfix(loss=f"{record['loss']:.3f}")
        if checkpoint_now:
            save_checkpoint(accelerator, args, iteration, fingerprint, best)
        if log_now or val_now or checkpoint_now:
            tick = time.perf_counter()
    progress.close()

    # Model selection (never on target labels, except the labelled oracle) and final validation.
    final_model = accelerator.unwrap_model(model)
    if best.state is not None:
        final_model.load_state_dict(best.state)
    results = validate()
    metrics = {
        **results,
        "method": args.method,
        "source": args.source,
        "target": args.target,
        "num_iterations": args.num_iterations,
        "selection": args.selection,
        "selected_iteration": best.iteration if best.state is not None else args.num_iterations,
        "selection_picks": picks(log.records),  # every criterion's pick and its target val figures (analysis)
        "train_ms_per_iteration": 1000 * loop_seconds / max(args.num_iterations - start, 1),
        "num_processes": processes,
    }
    if args.selection == "target_val_oracle":
        metrics["oracle"] = "selected with target val labels: an upper bound, not a domain-adaptation result"

    # Save, card, push.
    if accelerator.is_main_process:
        final_model.save_pretrained(output_dir)
        write_metrics(output_dir, metrics)
        write_video_model_card(output_dir, settings=vars(args), metrics=metrics, target_labels=data.target_labels,
                               uses_target=method.uses_target)  # fmt: skip
        if args.push_to_hub:
            push_folder(output_dir, args.hub_model_id, commit_message=f"Video stage {args.method} {args.direction}")
        target = metrics["target_val"]
        print(
            f"wrote {output_dir} (model.safetensors, metrics.json, README.md, training_log.jsonl); target val "
            f"({args.target}_val): top-1 {target['top1']:.2f}, mean-class {target['mean_class']:.2f}"
        )
    accelerator.wait_for_everyone()
    accelerator.end_training()
    return metrics


if __name__ == "__main__":
    exit_on_user_error(main)()
