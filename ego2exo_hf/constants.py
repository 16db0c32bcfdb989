"""Single source of truth for the facts of the Ego2Exo benchmark."""

CLASS_NAMES = [
    "Clean up",
    "Prepare milk (boiled)",
    "Prepare ingredients",
    "Construct undressed salad",
    "Make dough",
    "Brew coffee (instant coffee)",
    "Prepare a skillet",
    "Make chai tea",
    "Make pasta",
    "Cook noodles in a skillet",
    "Get kitchenware & utensils",
    "Turn off the stove",
    "Check paper recipe",
    "Boil noodles in boiling water",
    "Brew coffee (manual pour-over)",
    "Make milk tea",
    "Mix noodles with sauce in a bowl",
    "Make salad",
    "Serve",
    "Cook",
    "Add spring onions",
    "Get Ingredients",
    "Add water",
    "Prepare dressing",
]
NUM_CLASSES = len(CLASS_NAMES)
ID2LABEL = dict(enumerate(CLASS_NAMES))
LABEL2ID = {name: i for i, name in enumerate(CLASS_NAMES)}

DOMAINS = ("ego", "exo")
SPLITS = ("ego_train", "ego_val", "exo_train", "exo_val")
SPLIT_LISTS = ("clips", "annotations", "metadata", "descriptions")

FEATURE_DIM = 1536  # Omnivore Swin-L video trunk
FPS = 30
WINDOW_FRAMES = 32
STRIDE_FRAMES = 16
FEATURE_SUBDIR = "features/omnivore_video"
METADATA_FILE = "ego2exo.json"
SYNTHETIC_VIEW_SHIFTS = ("transform", "swap")  # how synthetic exo features relate to ego ones (default first)
SCALES = ("tiny", "demo", "full")  # synthetic sizes (data/synthetic.py)
DATASET_CONFIGS = ("text", "pooled", "frames")  # the builder's configs (data/builder.py)
EGOEXO_PARTS = (FEATURE_SUBDIR, "takes", "downscaled_takes/448")  # what `ego2exo download` can fetch
DIRECTIONS = ("exo->ego", "ego->exo")

# Names of the video stage's choices; each is checked against its registry by tests/test_constants.py.
METHOD_NAMES = ("lagtran", "source_only", "target_supervised", "dann", "cdan", "mcc", "bnm", "mdd", "fixmatch")
HEADS = ("mean", "attention", "transformer")  # models/temporal.py POOLING
SELECTIONS = ("last", "source_val", "entropy", "snd", "dev", "target_val_oracle")  # video/selection.py CRITERIA
SOURCE_SAMPLINGS = ("balanced", "natural")  # data/samplers.py PairedBatchSampler(class_balanced=...)

# Artefact file names shared by the stages, the commands and the cards.
METRICS_FILE = "metrics.json"
TRAINING_LOG_FILE = "training_log.jsonl"
PSEUDO_LABELLER_FILE = "pseudo_labeller.json"
NGRAM_DIR = "ngram_classifier"
RESULTS_FILES = ("results.md", "results.json", "results.png")

HUB_DATASET_REPO = "Tarun23/Ego2Exo"
DEFAULT_TEXT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"

# Official split sizes (segments) of the real benchmark.
REAL_SPLIT_SIZES = {"ego_train": 4100, "exo_train": 4986, "ego_val": 3168, "exo_val": 3168}

# Published top-1 (%) on real data, Omnivore features (camera-ready table of the paper).
PUBLISHED_RESULTS = {
    "source_only": {"ego->exo": 8.39, "exo->ego": 15.66},
    "TA3N": {"ego->exo": 6.92, "exo->ego": 27.95},
    "TransVAE": {"ego->exo": 12.06, "exo->ego": 23.34},
    "lagtran": {"ego->exo": 12.34, "exo->ego": 30.76},
    "target_supervised": {"ego->exo": 17.91, "exo->ego": 33.19},
}
# Original text stage on real captions (target train top-1 / mean-class, %).
PUBLISHED_TEXT_RESULTS = {"exo->ego": (77.46, 56.10), "ego->exo": (76.82, 55.02)}

CITATION = """@article{kalluri2024lagtran,
  author  = {Kalluri, Tarun and Majumder, Bodhisattwa and Chandraker, Manmohan},
  title   = {Tell, Don't Show! Language Guidance Eases Transfer Across Domains in Images and Videos},
  journal = {ICML},
  year    = {2024},
  url     = {https://arxiv.org/abs/2403.05535},
}"""


def parse_direction(text: str) -> tuple[str, str]:
    """`exo->ego`, `exo-ego`, `exo_ego` or `exo2ego` -> ("exo", "ego")."""
    from .errors import Ego2ExoError

    for sep in ("->", "2", "-", "_"):
        source, _, target = text.partition(sep)
        if source in DOMAINS and target in DOMAINS and source != target:
            return source, target
    raise Ego2ExoError(f"--directions: cannot read {text!r}; write exo->ego or ego->exo")


def split_name(domain: str, part: str) -> str:
    """`split_name("ego", "train") == "ego_train"`."""
    return f"{domain}_{part}"
