#!/usr/bin/env python
"""LaGTran video stage: train the feature classifier on source labels + target pseudo-labels.

    python train_video.py --data_dir DATA --source exo --target ego \
        --pseudo_labels runs/text_exo_ego/pseudo_labels/ego2exo_exo_ego.txt --method lagtran \
        --output_dir runs/video_exo_ego
    accelerate launch --config_file accelerate_configs/multi_gpu.yaml train_video.py ...  # same script
    python train_video.py args.yaml                     # every argument from a YAML (or JSON) file

Every argument: `python train_video.py --help`. The loop itself lives in `ego2exo_hf/training/video.py`.
"""

from ego2exo_hf.errors import exit_on_user_error
from ego2exo_hf.training.video import main

if __name__ == "__main__":
    exit_on_user_error(main)()
