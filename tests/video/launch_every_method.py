"""Run under one 2-process launch: train_video.py once per method, sharing the process group.

    accelerate launch --multi_gpu --num_processes 2 launch_every_method.py DATA_DIR OUTPUT_ROOT METHOD...

One launch instead of one per method: the test pays the process start-up (torch, gloo) once.
"""

import sys

from accelerate.state import AcceleratorState

from train_video import main

data_dir, output_root, *methods = sys.argv[1:]
destroy = AcceleratorState.destroy_process_group
AcceleratorState.destroy_process_group = lambda self, group=None: None  # each run's end_training would destroy it
for method in methods:
    main(["--data_dir", data_dir, "--output_dir", f"{output_root}/{method}", "--method", method, "--num_iterations",
          "20", "--batch_size", "16", "--val_every", "20", "--report_to", "none"])  # fmt: skip
destroy(AcceleratorState())
