#!/usr/bin/env python
"""LaGTran text stage: fine-tune a caption classifier on the source domain and pseudo-label the target.

    python train_text.py --data_dir DATA --source exo --target ego --output_dir runs/text_exo_ego
    python train_text.py args.yaml            # the same arguments from a YAML or JSON file
    accelerate launch --config_file accelerate_configs/cpu.yaml train_text.py ...

Arguments: `--model_name_or_path` (any `AutoModelForSequenceClassification` checkpoint; the default MiniLM works
offline), `--max_length`, `--balanced_sampling`, `--heldout_fraction`, `--confidence_threshold` and every
`TrainingArguments` option under its usual name (`--max_steps`, `--learning_rate`, `--push_to_hub`, ...).

The output folder holds the fine-tuned model and tokenizer, `pseudo_labels/ego2exo_<source>_<target>.txt`
(official format) and `.parquet` (with confidences and probabilities), `metrics.json` and a model card.
"""

import logging
import os
import sys

import transformers

from ego2exo_hf.errors import exit_on_user_error
from ego2exo_hf.training.text import parse_text_args, summary_line, train_text


@exit_on_user_error
def main(args=None):
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    model_args, data_args, training_args = parse_text_args(args)

    logging.basicConfig(
        format="%(asctime)s - %(levelname)s - %(name)s - %(message)s",
        datefmt="%m/%d/%Y %H:%M:%S",
        handlers=[logging.StreamHandler(sys.stdout)],
    )
    log_level = training_args.get_process_log_level()
    logging.getLogger("ego2exo_hf").setLevel(log_level)
    transformers.utils.logging.set_verbosity(log_level)

    metrics = train_text(model_args, data_args, training_args)
    print(summary_line(metrics))


if __name__ == "__main__":
    main()
