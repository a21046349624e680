"""genre: MFCC -> dense-network music-genre classification, as a library.

``import genre`` is cheap: it never imports TensorFlow (only training and prediction
functions do, inside themselves) nor librosa.
"""

from .config import FeatureParams, ModelConfig, TrainConfig
from .errors import (
    AudioError,
    BundleError,
    ClipTooShortError,
    DatasetError,
    FeatureStoreError,
    GenreError,
    ParameterError,
    TrainingError,
)

__version__ = "0.1.0"

__all__ = [
    "AudioError", "BundleError", "ClipTooShortError", "DatasetError", "FeatureParams",
    "FeatureStoreError", "GenreError", "ModelConfig", "ParameterError", "TrainConfig",
    "TrainingError", "__version__",
]
