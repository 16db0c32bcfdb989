"""ego2exo-hf: the Ego2Exo benchmark and LaGTran on the Hugging Face stack."""

__version__ = "0.1.0"
