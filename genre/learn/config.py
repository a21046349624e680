"""The network's and training's settings: :class:`ModelConfig`, :class:`TrainConfig`, frozen, validated.

Validation reads the kinds of network (:data:`genre.learn.model.MODEL_KINDS`) and the split modes
(:data:`genre.learn.splits.SPLIT_MODES`) from their one table each; :func:`run_name` names a run by what
sets it apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from genre.data.params import FeatureParams, _Config, _is_int, _is_number, _require, knob
from genre.errors import TrainingError
from genre.learn.model import MODEL_KINDS, check_input
from genre.learn.splits import SPLIT_MODES

WIDTHS = (8, 16, 32, 64, 128, 256)  # the app's choices of filters and units (CNN, LSTM)


@dataclass(frozen=True)
class ModelConfig(_Config):
    """The network: the notebook's dense one by default, or a kind of :data:`genre.learn.model.MODEL_KINDS`.

    Each kind reads its own knobs (``MODEL_KINDS[kind].knobs``); the others are ignored by it. The
    regularisation, the learning rate and standardisation apply to every kind.
    """

    kind: str = knob("dense", label="Network", options=tuple(MODEL_KINDS), aliases=("--model",),
                     help="; ".join(f"{k}: {v.label}, knobs {', '.join(v.knobs)}" for k, v in MODEL_KINDS.items()))
    hidden_units: tuple[int, ...] = knob((512, 256, 64), label="Hidden layers", key="layers", aliases=("--units",),
                                         help="dense: one Dense+ReLU layer each, e.g. 512,256,64")
    filters: int = knob(32, label="Filters per block", options=WIDTHS, help="cnn: filters of each of the three "
                        "Conv2D blocks")
    lstm_units: int = knob(64, label="LSTM units", options=WIDTHS, help="lstm: units of each of the two LSTM layers")
    dense_units: int = knob(64, label="Dense units", options=WIDTHS, help="cnn, lstm: the Dense+ReLU layer before "
                            "the output")
    dropout: float = knob(0.3, label="Dropout", low=0.0, high=0.8, help="after every hidden Dense layer")
    l1: float = knob(0.0, label="L1", options=(0.0, 1e-5, 1e-4, 1e-3, 1e-2),
                     help="L1 kernel regularisation of every hidden layer (0: off)")
    l2: float = knob(0.001, label="L2", options=(0.0, 1e-4, 1e-3, 1e-2),
                     help="L2 kernel regularisation of every hidden layer (0: off)")
    learning_rate: float = knob(1e-4, label="Learning rate", key="lr", aliases=("--lr",),
                                options=(1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2), help="Adam's learning rate")
    standardize: bool = knob(False, label="Standardize inputs",
                             help="scale each coefficient by the training rows' mean and std (kept in the model)")

    def validate(self) -> "ModelConfig":
        _require(self.kind in MODEL_KINDS, f"kind must be one of {', '.join(MODEL_KINDS)}, got {self.kind!r}")
        _require(isinstance(self.hidden_units, (tuple, list)) and 0 < len(self.hidden_units) <= 8
                 and all(_is_int(u) and 1 <= u <= 8192 for u in self.hidden_units),
                 f"hidden_units must be 1 to 8 layer sizes from 1 to 8192, got {self.hidden_units!r}")
        for name in ("filters", "lstm_units", "dense_units"):
            value = getattr(self, name)
            _require(_is_int(value) and 1 <= value <= 4096, f"{name} must be an integer from 1 to 4096, got {value!r}")
        _require(isinstance(self.dropout, (int, float)) and 0 <= self.dropout < 1,
                 f"dropout must be in [0, 1), got {self.dropout!r}")
        for name in ("l1", "l2"):
            value = getattr(self, name)
            _require(_is_number(value) and 0 <= value <= 1, f"{name} must be in [0, 1], got {value!r}")
        _require(_is_number(self.learning_rate) and 0 < self.learning_rate <= 1,
                 f"learning_rate must be in (0, 1], got {self.learning_rate!r}")
        _require(isinstance(self.standardize, bool), f"standardize must be true or false, got {self.standardize!r}")
        return self

    def knobs(self) -> dict[str, Any]:
        """The settings this kind of network reads, and the shared ones: what a run's summary shows."""
        names = (*MODEL_KINDS[self.kind].knobs, "l1", "l2", "learning_rate", "standardize")
        return {"kind": self.kind, **{n: getattr(self, n) for n in names}}


AUGMENT_FIELDS = ("augment_copies", "pitch_shift", "time_stretch", "noise_snr", "time_mask", "coef_mask")


@dataclass(frozen=True)
class TrainConfig(_Config):
    """How the network is trained and evaluated."""

    epochs: int = knob(50, label="Epochs", low=1, high=1000)
    batch_size: int = knob(32, label="Batch size", key="batch", options=(8, 16, 32, 64, 128, 256))
    test_size: float = knob(0.3, label="Test fraction", low=0.1, high=0.5,
                            help="fraction held out for testing (of tracks, or of segments)")
    split: str = knob("track", label="Split", options=tuple(SPLIT_MODES), vary=False,
                      help="; ".join(f"{k}: {v.label}" for k, v in SPLIT_MODES.items()))
    seed: int = knob(0, label="Seed", low=0, high=10**6, vary=False)
    patience: int | None = knob(None, label="Patience (epochs)", low=1, high=100,
                                help="early stopping on validation loss; none: off")
    val_size: float = knob(0.15, cli=False, app=False)  # with early stopping only: training tracks held out to stop on
    folds: int = knob(5, label="Folds", low=2, high=20, vary=False, help="--split kfold: number of folds")
    fold: int = knob(0, label="Test fold", low=0, high=19, vary=False, help="--split kfold: the fold tested (0-based)")
    lists: str | None = knob(None, label="Lists folder", vary=False,
                             help="--split lists: folder of train.txt, valid.txt (optional), test.txt")
    # Audio augmentation of the training tracks only (genre.learn.augment): K altered copies of each.
    augment_copies: int = knob(0, label="Augmented copies per track", key="aug_copies", low=0, high=10,
                               help="K altered copies per training track; 0: off")
    pitch_shift: float = knob(0.0, label="Pitch shift (± semitones)", key="pitch", low=0.0, high=6.0,
                              help="each copy shifted by a random amount within +-this many semitones")
    time_stretch: float = knob(0.0, label="Time stretch (± rate)", key="stretch", low=0.0, high=0.3,
                               help="each copy stretched at a random rate within 1 +- this")
    noise_snr: float | None = knob(None, label="Noise SNR (dB)", low=0, high=60,
                                   help="white noise this many dB below the signal; none: no noise")
    time_mask: int = knob(0, label="Time mask (frames)", low=0, high=40,
                          help="SpecAugment: one band of up to this many frames masked in each copy's rows")
    coef_mask: int = knob(0, label="Coefficient mask", low=0, high=8,
                          help="SpecAugment: one band of up to this many coefficients")

    def validate(self) -> "TrainConfig":
        _require(_is_int(self.epochs) and 1 <= self.epochs <= 10000,
                 f"epochs must be an integer from 1 to 10000, got {self.epochs!r}")
        _require(_is_int(self.batch_size) and 1 <= self.batch_size <= 65536,
                 f"batch_size must be an integer from 1 to 65536, got {self.batch_size!r}")
        _require(isinstance(self.test_size, (int, float)) and 0 < self.test_size < 1,
                 f"test_size must be a fraction in (0, 1), got {self.test_size!r}")
        _require(self.split in SPLIT_MODES, f"split must be one of {', '.join(SPLIT_MODES)}, got {self.split!r}")
        _require(_is_int(self.folds) and 2 <= self.folds <= 100, f"folds must be an integer from 2 to 100, got {self.folds!r}")
        _require(_is_int(self.fold) and 0 <= self.fold < self.folds,
                 f"fold must be an integer from 0 to folds-1 ({self.folds - 1}), got {self.fold!r}")
        _require(self.split != "lists" or (isinstance(self.lists, str) and self.lists),
                 "split='lists' needs lists: a folder of train.txt, test.txt and optionally valid.txt")
        _require(_is_int(self.seed) and self.seed >= 0, f"seed must be a non-negative integer, got {self.seed!r}")
        _require(self.patience is None or (_is_int(self.patience) and self.patience >= 1),
                 f"patience must be a positive integer or None, got {self.patience!r}")
        _require(isinstance(self.val_size, (int, float)) and 0 < self.val_size < 1,
                 f"val_size must be a fraction in (0, 1), got {self.val_size!r}")
        _require(_is_int(self.augment_copies) and 0 <= self.augment_copies <= 20,
                 f"augment_copies must be an integer from 0 to 20, got {self.augment_copies!r}")
        _require(_is_number(self.pitch_shift) and 0 <= self.pitch_shift <= 12,
                 f"pitch_shift must be from 0 to 12 semitones, got {self.pitch_shift!r}")
        _require(_is_number(self.time_stretch) and 0 <= self.time_stretch <= 0.5,
                 f"time_stretch must be a rate range from 0 to 0.5 (rates 0.5 to 1.5), got {self.time_stretch!r}")
        _require(self.noise_snr is None or (_is_number(self.noise_snr) and -10 <= self.noise_snr <= 100),
                 f"noise_snr must be from -10 to 100 dB, or None for no noise, got {self.noise_snr!r}")
        for name in ("time_mask", "coef_mask"):
            value = getattr(self, name)
            _require(_is_int(value) and 0 <= value <= 1000, f"{name} must be an integer from 0 to 1000, got {value!r}")
        _require(self.augment_copies == 0 or self.augmentation() is not None,
                 "augment_copies needs at least one transform (pitch_shift, time_stretch, noise_snr, time_mask or "
                 "coef_mask): copies left unaltered would only repeat the training rows")
        return self

    def augmentation(self) -> dict[str, Any] | None:
        """The augmentation settings (the augmented rows' cache key), or None when nothing is augmented."""
        d = {name: getattr(self, name) for name in AUGMENT_FIELDS}
        transforms = (self.pitch_shift, self.time_stretch, self.noise_snr is not None, self.time_mask, self.coef_mask)
        if not self.augment_copies or not any(transforms):
            return None
        return d


def check_features(params: FeatureParams, model: ModelConfig | None = None, train: TrainConfig | None = None) -> None:
    """Raise :class:`~genre.errors.TrainingError` when the network or the training cannot work on the features
    ``params`` make (a CNN or an LSTM on embeddings, which have no time axis; augmentation of embeddings)."""
    if model is not None:
        check_input(model.kind, params.input_shape)
    if train is not None and train.augmentation() is not None and not params.kind.grid:
        raise TrainingError("augmentation is for MFCC features (it masks frames and coefficients, and re-computes "
                            f"MFCCs of altered audio); these are {params.kind.label}: turn augmentation off")


BACKEND_TAGS = {"tensorflow": "tf", "jax": "jax"}  # a backend in a run's name
_NAME_TAGS = {  # a setting in a run's name, when it differs from the default: its tag
    "hidden_units": "units", "filters": "filters", "lstm_units": "lstm", "dense_units": "dense", "dropout": "dropout",
    "l1": "l1_", "l2": "l2_", "learning_rate": "lr", "standardize": "std", "epochs": "ep", "batch_size": "bs",
    "test_size": "test", "seed": "seed", "patience": "early", "augment_copies": "aug",
}


def _tag(name: str, value: Any) -> str:
    tag = _NAME_TAGS[name]
    if isinstance(value, bool):
        return tag
    if isinstance(value, (tuple, list)):
        return tag + "x".join(map(str, value))
    return f"{tag}{value:g}" if isinstance(value, float) else f"{tag}{value}"


def run_name(model_config: ModelConfig, train_config: TrainConfig, backend: str = "tensorflow",
             features: FeatureParams | None = None) -> str:
    """A run's default name: its network, split and backend, then each setting that differs from the defaults.

    Two runs that differ in anything but the dataset's MFCC settings get different names, e.g.
    ``dense-track-tf-lr0.001`` and ``dense-track-jax-lr0.001``; a k-fold run names its fold (``kfold2of5``); a run
    on other features than MFCCs names them (``logistic-musicnn-track-jax``).
    """
    mc, tc = model_config, train_config
    split = f"kfold{tc.fold}of{tc.folds}" if tc.split == "kfold" else tc.split
    on = [features.features] if features is not None and features.features != "mfcc" else []
    parts = [mc.kind, *on, split, BACKEND_TAGS.get(backend, backend)]
    default_mc, default_tc = ModelConfig(kind=mc.kind), TrainConfig()
    parts += [_tag(k, v) for k, v in mc.knobs().items() if k != "kind" and v != getattr(default_mc, k)]
    parts += [_tag(k, getattr(tc, k)) for k in ("epochs", "batch_size", "test_size", "seed", "patience",
                                                 "augment_copies")
              if getattr(tc, k) != getattr(default_tc, k) and not (k == "test_size" and tc.split in ("kfold", "lists"))]
    return "-".join(parts)


__all__ = ["AUGMENT_FIELDS", "BACKEND_TAGS", "ModelConfig", "TrainConfig", "check_features", "run_name"]
