"""A tiny BERT (random weights, WordPiece vocabulary trained on the fly) for tests: no network, about a second.

`make_tiny_bert(path)` saves a base `BertModel` and its tokenizer to `path`, loadable with the Auto classes like
any Hub checkpoint. Importable by every test module (`from text_model_fixture import make_tiny_bert`).
"""

import string
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
from transformers import BertConfig, BertModel, BertTokenizer

from ego2exo_hf.constants import CLASS_NAMES

TEXT_SCRIPT = Path(__file__).resolve().parents[1] / "train_text.py"
FAST = ["--max_steps", "12", "--learning_rate", "1e-3", "--per_device_train_batch_size", "16", "--eval_steps", "4",
        "--save_steps", "4", "--report_to", "none", "--disable_tqdm", "true"]  # fmt: skip
SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
_WORDS = """the a his her with right left hand hands picks places holds moves puts down takes opens closes pours
adds stirs cuts chops slices boils heats washes rinses wipes mixes serves fries flips on in near of to from
knife spoon bowl plate cup pan pot lid skillet stove tap water milk tea coffee noodles pasta salad dough onion
tomato egg oil sauce sugar towel countertop table sink board kettle mug jar bottle cabinet drawer recipe paper"""


def _corpus(repeats: int = 20) -> list[str]:
    return [" ".join(CLASS_NAMES).lower(), _WORDS] * repeats


def make_tiny_bert(path, vocab_size: int = 400, hidden_size: int = 32, seed: int = 0) -> Path:
    """Write a 2-layer, 32-wide `BertModel` plus a WordPiece `BertTokenizer` to `path` and return it."""
    import torch

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    wordpiece = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    wordpiece.normalizer = normalizers.BertNormalizer(lowercase=True)
    wordpiece.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    wordpiece.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=list(string.ascii_lowercase + string.digits + string.punctuation),
    )
    wordpiece.train_from_iterator(_corpus(), trainer=trainer)
    tokenizer = BertTokenizer(vocab=wordpiece.get_vocab(), model_max_length=128)
    tokenizer.save_pretrained(path)

    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=2 * hidden_size,
        max_position_embeddings=128,
        pad_token_id=tokenizer.pad_token_id,
    )
    BertModel(config).save_pretrained(path)
    return path


def stage_args(data_dir, model, output_dir, *extra) -> list[str]:
    """train_text.py's words for a fast run on tiny data."""
    return ["--data_dir", str(data_dir), "--model_name_or_path", str(model), "--output_dir", str(output_dir),
            *FAST, *extra]  # fmt: skip
