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


def split_name(domain: str, part: str) -> str:
    """`split_name("ego", "train") == "ego_train"`."""
    return f"{domain}_{part}"
