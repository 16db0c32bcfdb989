"""The numbers and words the synthetic Ego2Exo is built from: real class and take statistics, caption vocabulary."""

# Segments per class of the real train splits, in class-id order: REAL_EGO_TRAIN_COUNTS[c] counts the lines of
# ../shared/data/ego2exo_captions/ego_train.txt whose 4th `;` field (the category id) is c, REAL_EXO_TRAIN_COUNTS
# the same in exo_train.txt (4100 and 4986 segments). The synthetic writer gives each class these exo shares.
# REAL_CLASS_COUNTS (ego + exo) are the relative class frequencies the keystep chain reproduces.
# fmt: off
REAL_EGO_TRAIN_COUNTS = [521, 28, 394, 105, 3, 22, 225, 137, 3, 205, 437, 6,
                         33, 148, 5, 195, 41, 75, 135, 785, 3, 526, 3, 65]
REAL_EXO_TRAIN_COUNTS = [638, 33, 480, 128, 3, 25, 273, 166, 3, 250, 531, 7,
                         40, 180, 6, 237, 48, 91, 164, 958, 3, 642, 2, 78]
# fmt: on
REAL_CLASS_COUNTS = [ego + exo for ego, exo in zip(REAL_EGO_TRAIN_COUNTS, REAL_EXO_TRAIN_COUNTS)]

# The keystep order of the real takes, as a first-order chain: REAL_TRANSITIONS[i][j] counts the times keystep j
# follows keystep i in a real train take (consecutive segments by segment_index, ego and exo segments together:
# 8838 pairs in 248 takes), REAL_FIRST_KEYSTEPS[j] the takes that start with j. Derived from the real train labels
# (../shared/data: caption files + take list) by `python benchmarks/real_take_structure.py`, which also compares
# a synthetic copy with them. 36 % of real transitions stay on the same keystep; a take has ~6 distinct keysteps.
# fmt: off
REAL_FIRST_KEYSTEPS = [19, 1, 19, 0, 0, 0, 19, 3, 0, 0, 85, 0, 3, 8, 0, 19, 0, 0, 2, 4, 0, 64, 0, 2]
REAL_TRANSITIONS = [
    [269, 4, 92, 12, 1, 7, 29, 45, 1, 45, 128, 0, 5, 28, 1, 52, 10, 11, 24, 136, 0, 178, 0, 17],
    [4, 36, 7, 0, 0, 2, 0, 0, 0, 0, 6, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 4, 0, 0],
    [103, 2, 306, 89, 0, 9, 30, 0, 0, 0, 105, 0, 1, 0, 1, 0, 0, 30, 2, 69, 2, 84, 0, 33],
    [46, 0, 50, 53, 0, 0, 0, 0, 0, 0, 11, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 45, 0, 0],
    [1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    [13, 4, 3, 0, 0, 16, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 2, 0, 0],
    [37, 0, 19, 0, 0, 0, 175, 0, 0, 0, 63, 0, 0, 0, 0, 0, 0, 0, 2, 146, 1, 51, 0, 0],
    [38, 0, 0, 0, 0, 0, 0, 213, 0, 0, 21, 0, 0, 0, 0, 0, 0, 0, 14, 0, 0, 13, 0, 0],
    [1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    [59, 0, 0, 0, 0, 0, 0, 0, 0, 235, 25, 0, 17, 52, 0, 0, 7, 0, 15, 0, 0, 42, 0, 0],
    [90, 10, 111, 19, 1, 2, 71, 24, 1, 33, 122, 0, 3, 32, 2, 46, 12, 15, 49, 159, 2, 149, 4, 7],
    [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 7, 0, 0, 0, 0],
    [1, 0, 0, 0, 0, 0, 0, 0, 0, 17, 9, 0, 7, 6, 0, 0, 5, 1, 0, 0, 0, 27, 0, 0],
    [23, 0, 0, 0, 0, 0, 0, 0, 0, 57, 30, 0, 13, 164, 0, 0, 4, 0, 2, 0, 0, 33, 0, 0],
    [1, 1, 1, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    [65, 0, 0, 0, 0, 0, 0, 0, 0, 0, 36, 0, 0, 0, 0, 268, 0, 0, 26, 0, 0, 32, 0, 0],
    [25, 0, 0, 0, 0, 0, 0, 0, 0, 5, 5, 0, 5, 7, 0, 0, 23, 0, 2, 0, 0, 15, 0, 0],
    [15, 0, 16, 0, 0, 0, 0, 0, 0, 0, 8, 0, 6, 0, 0, 0, 0, 74, 3, 0, 0, 22, 0, 15],
    [57, 0, 6, 0, 0, 1, 4, 6, 0, 1, 20, 5, 1, 2, 0, 12, 3, 1, 39, 38, 0, 18, 0, 0],
    [215, 0, 42, 0, 0, 0, 106, 0, 0, 0, 133, 8, 0, 0, 0, 0, 0, 0, 101, 936, 1, 179, 0, 0],
    [0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0],
    [59, 3, 184, 60, 1, 9, 64, 11, 0, 62, 146, 0, 12, 29, 0, 34, 25, 14, 12, 244, 0, 179, 0, 17],
    [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2, 1, 0],
    [18, 0, 17, 0, 0, 0, 0, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0, 29, 0, 52],
]
# fmt: on

EGO_CAMERAS = ("aria01_rgb", "gp05_0")
EXO_CAMERAS = ("cam01", "cam02", "cam03", "cam04", "gp01", "gp02", "gp03", "gp04", "gp06")

# (verbs, objects) typical of each keystep, in class-id order.
CLASS_VOCAB = [
    (
        ["wipes", "rinses", "washes", "scrubs", "dries"],
        ["the sponge", "the plate", "the dishcloth", "the tissue paper", "the waste bin"],
    ),
    (["pours", "boils", "heats", "stirs"], ["the milk carton", "the milk pan", "the milk", "the saucepan of milk"]),
    (["chops", "slices", "peels", "dices"], ["the onion", "the tomato", "the garlic clove", "the ginger"]),
    (
        ["arranges", "tears", "places", "spreads"],
        ["the lettuce", "the cucumber slices", "the cherry tomatoes", "the salad bowl"],
    ),
    (["kneads", "rolls", "sprinkles", "presses"], ["the dough", "the flour", "the rolling pin", "the mixing bowl"]),
    (
        ["scoops", "stirs", "opens", "adds"],
        ["the instant coffee jar", "the coffee granules", "the mug", "the teaspoon"],
    ),
    (
        ["heats", "greases", "places", "tilts"],
        ["the skillet", "the cooking oil", "the stove burner", "the non-stick pan"],
    ),
    (
        ["adds", "crushes", "boils", "strains"],
        ["the tea leaves", "the cardamom", "the chai masala", "the tea strainer"],
    ),
    (["drains", "adds", "stirs", "salts"], ["the pasta", "the colander", "the pasta sauce", "the penne"]),
    (
        ["stir-fries", "tosses", "adds", "flips"],
        ["the noodles in the skillet", "the soy sauce", "the chopsticks", "the vegetables in the skillet"],
    ),
    (["opens", "takes out", "retrieves", "closes"], ["the cabinet", "the drawer", "the ladle", "the cutting board"]),
    (
        ["turns off", "rotates", "switches off", "checks"],
        ["the stove knob", "the burner", "the gas switch", "the flame"],
    ),
    (
        ["reads", "looks at", "flips", "holds up"],
        ["the recipe paper", "the instruction sheet", "the printed recipe", "the recipe card"],
    ),
    (
        ["drops", "boils", "stirs", "lifts"],
        ["the noodle packet", "the instant noodles", "the boiling water", "the noodle block"],
    ),
    (
        ["grinds", "pours", "folds", "rinses"],
        ["the coffee filter", "the pour-over dripper", "the gooseneck kettle", "the ground coffee"],
    ),
    (["dips", "steeps", "adds", "stirs"], ["the tea bag", "the sugar cubes", "the milk", "the tea cup"]),
    (
        ["mixes", "tosses", "coats", "stirs"],
        ["the noodles in the bowl", "the sauce", "the noodle bowl", "the sesame sauce"],
    ),
    (
        ["mixes", "tosses", "combines", "serves"],
        ["the salad", "the salad tongs", "the dressing bottle", "the salad leaves"],
    ),
    (["serves", "plates", "transfers", "carries"], ["the serving plate", "the tray", "the food", "the dining table"]),
    (["fries", "flips", "cracks", "cooks"], ["the egg", "the omelette", "the frying pan", "the spatula"]),
    (
        ["sprinkles", "garnishes", "adds", "cuts"],
        ["the spring onions", "the scallions", "the chopped green onions", "the garnish"],
    ),
    (
        ["takes", "opens", "brings", "picks"],
        ["the refrigerator", "the pantry shelf", "the grocery bag", "the egg carton"],
    ),
    (
        ["pours", "fills", "adds", "measures"],
        ["the water jug", "the measuring cup", "the tap water", "the water bottle"],
    ),
    (["whisks", "squeezes", "pours", "mixes"], ["the olive oil", "the vinegar", "the lemon", "the mustard"]),
]
SHARED_VERBS = ["picks", "places", "holds", "moves", "adjusts", "drops", "passes", "touches", "lifts", "puts down"]
SHARED_OBJECTS = [
    "the knife",
    "the spoon",
    "the bowl",
    "the lid",
    "the towel",
    "the bottle",
    "the phone",
    "the container",
    "the plate",
    "the cup",
]
PLACES = [
    "on the countertop",
    "on the chopping board",
    "near the stove",
    "in the sink",
    "on the table",
    "on the kitchen slab",
    "beside the cooker",
]
HANDS = [
    "with his right hand",
    "with his left hand",
    "with her right hand",
    "with her left hand",
    "with both hands",
    "in his right hand",
    "in her left hand",
]
# Keysteps annotators describe with overlapping words (makes text classification non-trivial).
CONFUSABLE = [[1, 15, 7], [5, 14], [8, 13, 9, 16], [3, 17, 23], [10, 21], [6, 19], [0, 22], [2, 20]]
