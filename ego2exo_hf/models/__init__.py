"""Models of the package, registered with the Transformers Auto classes on import."""

from transformers import AutoConfig, AutoModel, AutoModelForSequenceClassification

from .feature_classifier import FeatureClassifier, FeatureClassifierConfig

AutoConfig.register(FeatureClassifierConfig.model_type, FeatureClassifierConfig, exist_ok=True)
AutoModel.register(FeatureClassifierConfig, FeatureClassifier, exist_ok=True)
AutoModelForSequenceClassification.register(FeatureClassifierConfig, FeatureClassifier, exist_ok=True)

__all__ = ["FeatureClassifier", "FeatureClassifierConfig"]
