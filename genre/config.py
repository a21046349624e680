"""Frozen configuration dataclasses with the notebook's defaults.

The same objects serve the CLI, the app, the feature store's cache key and the bundle JSON.
Each has ``validate()``, which raises :class:`~genre.errors.ParameterError` with a message
that says what was wrong and what is allowed, and ``to_dict`` / ``from_dict`` for JSON.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from .errors import ParameterError


class _Config:
    """JSON round-trip shared by the config dataclasses."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls, data: dict[str, Any]):
        """Build from a dict, ignoring unknown keys; validates the result."""
        if not isinstance(data, dict):
            raise ParameterError(f"{cls.__name__} must be a JSON object, got {type(data).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        kwargs = {k: v for k, v in data.items() if k in names}
        for key in ("hidden_units", "exclude"):
            if key in kwargs and isinstance(kwargs[key], list):
                kwargs[key] = tuple(kwargs[key])
        try:
            obj = cls(**kwargs)
        except TypeError as exc:
            raise ParameterError(f"bad {cls.__name__}: {exc}") from None
        return obj.validate()

    def replace(self, **changes):
        """A validated copy with ``changes`` applied."""
        return dataclasses.replace(self, **changes).validate()  # type: ignore[type-var]


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ParameterError(message)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


EXCERPTS = {  # where a track's segments come from -> what the app and the CLI's help say
    "start": "the first `duration` seconds (the notebook's)",
    "middle": "`duration` seconds from the middle of the track (past intros)",
    "whole": "the whole track, cut into segments of the same length, at most `max_segments` spread over it",
}


@dataclass(frozen=True)
class FeatureParams(_Config):
    """How MFCCs are extracted: the notebook's constants, made parameters."""

    sample_rate: int = 22050  # Hz; every clip is resampled to this
    duration: float = 30.0  # seconds of each track that are cut into segments
    num_segments: int = 5  # segments per `duration`; each becomes one training row
    n_mfcc: int = 13  # coefficients per frame
    n_fft: int = 2048  # FFT window, samples
    hop_length: int = 512  # hop between frames, samples
    files_per_genre: int = -1  # -1 means all files
    excerpt: str = "start"  # one of EXCERPTS
    max_segments: int = 30  # with excerpt="whole": at most this many segments per track
    exclude: tuple[str, ...] = ()  # genre folders left out (e.g. "unlabelled")

    def validate(self) -> "FeatureParams":
        _require(_is_int(self.sample_rate) and 1000 <= self.sample_rate <= 192000,
                 f"sample_rate must be an integer from 1000 to 192000 Hz, got {self.sample_rate!r}")
        _require(isinstance(self.duration, (int, float)) and not isinstance(self.duration, bool)
                 and math.isfinite(self.duration) and 0 < self.duration <= 3600,
                 f"duration must be a number of seconds in (0, 3600], got {self.duration!r}")
        _require(_is_int(self.num_segments) and 1 <= self.num_segments <= 1000,
                 f"num_segments must be an integer from 1 to 1000, got {self.num_segments!r}")
        _require(_is_int(self.n_fft) and 16 <= self.n_fft <= 65536,
                 f"n_fft must be an integer from 16 to 65536, got {self.n_fft!r}")
        _require(_is_int(self.hop_length) and 1 <= self.hop_length <= self.n_fft,
                 f"hop_length must be an integer from 1 to n_fft ({self.n_fft}), got {self.hop_length!r}")
        _require(_is_int(self.n_mfcc) and 1 <= self.n_mfcc <= 128,
                 f"n_mfcc must be an integer from 1 to 128, got {self.n_mfcc!r}")
        _require(_is_int(self.files_per_genre) and (self.files_per_genre == -1 or self.files_per_genre >= 1),
                 f"files_per_genre must be -1 (all files) or a positive integer, got {self.files_per_genre!r}")
        _require(self.excerpt in EXCERPTS, f"excerpt must be one of {', '.join(EXCERPTS)}, got {self.excerpt!r}")
        _require(_is_int(self.max_segments) and 1 <= self.max_segments <= 10000,
                 f"max_segments must be an integer from 1 to 10000, got {self.max_segments!r}")
        _require(isinstance(self.exclude, tuple) and all(isinstance(g, str) and g for g in self.exclude),
                 f"exclude must be a tuple of genre folder names, got {self.exclude!r}")
        _require(self.segment_samples >= 1,
                 f"a segment would have no samples: sample_rate*duration // num_segments = {self.segment_samples}")
        return self

    @property
    def samples_per_track(self) -> int:
        return int(self.sample_rate * self.duration)

    @property
    def segment_samples(self) -> int:
        """Samples in one segment: ``sample_rate*duration // num_segments`` (the notebook's)."""
        return self.samples_per_track // self.num_segments

    @property
    def frames_per_segment(self) -> int:
        """Frames a segment must have to be kept: ``ceil(segment_samples / hop_length)``."""
        return math.ceil(self.segment_samples / self.hop_length)

    @property
    def input_shape(self) -> tuple[int, int]:
        """Shape of one training row: (frames, n_mfcc)."""
        return (self.frames_per_segment, self.n_mfcc)

    def frames_of(self, n_samples: int) -> int:
        """Frames librosa's centred STFT gives for ``n_samples`` samples."""
        return 1 + (n_samples + 2 * (self.n_fft // 2) - self.n_fft) // self.hop_length

    def problems(self) -> list[str]:
        """Why these parameters would give no training rows (empty list: they are fine)."""
        if self.frames_of(self.segment_samples) != self.frames_per_segment:
            return [
                f"segment length {self.segment_samples} is a multiple of hop_length {self.hop_length}, so "
                f"librosa yields {self.frames_of(self.segment_samples)} frames instead of the "
                f"{self.frames_per_segment} the notebook's rule keeps: every segment would be dropped. "
                "Change hop_length, duration or the number of segments."
            ]
        return []

    def describe(self) -> str:
        """The parameters in one line of words, every one that changes the features or the files."""
        where = {"start": f"{self.num_segments} segments of the first {self.duration:g} s",
                 "middle": f"{self.num_segments} segments of the middle {self.duration:g} s",
                 "whole": f"up to {self.max_segments} segments of {self.segment_samples / self.sample_rate:.2f} s "
                          "spread over the whole track"}[self.excerpt]
        return (f"{self.n_mfcc} MFCCs, n_fft {self.n_fft}, hop {self.hop_length}, {where} at {self.sample_rate} Hz, "
                + ("all files" if self.files_per_genre == -1 else f"{self.files_per_genre} files per genre")
                + (f", without {', '.join(self.exclude)}" if self.exclude else ""))

    def identity(self) -> dict[str, Any]:
        """The parameters as a dict without the later ones left at their defaults, so that the cache
        keys and store names of features made before those parameters existed stay the same."""
        d = self.to_dict()
        for name in ("excerpt", "max_segments", "exclude"):
            if d[name] == getattr(FeatureParams, name) or (name == "exclude" and not d[name]):
                del d[name]
        if self.excerpt != "whole":
            d.pop("max_segments", None)  # it changes nothing then
        return d

    def cache_key(self) -> dict[str, Any]:
        """The parameters that change the features (files_per_genre and exclude change the file list instead)."""
        d = self.identity()
        d.pop("files_per_genre")
        d.pop("exclude", None)
        return d


@dataclass(frozen=True)
class ModelConfig(_Config):
    """The network: the notebook's dense one by default, or a kind of :data:`genre.model.MODEL_KINDS`.

    Each kind reads its own knobs (``MODEL_KINDS[kind].knobs``); the others are ignored by it. The
    regularisation, the learning rate and standardisation apply to every kind.
    """

    kind: str = "dense"  # dense (the notebook's), cnn, lstm: see genre.model.MODEL_KINDS
    hidden_units: tuple[int, ...] = (512, 256, 64)  # dense: one Dense+ReLU layer each
    filters: int = 32  # cnn: filters of each of the three Conv2D blocks
    lstm_units: int = 64  # lstm: units of each of the two LSTM layers
    dense_units: int = 64  # cnn, lstm: the Dense+ReLU layer before the output
    dropout: float = 0.3  # after every hidden Dense layer
    l1: float = 0.0  # L1 kernel regularisation of every hidden layer (0: off)
    l2: float = 0.001  # L2 kernel regularisation of every hidden layer (0: off)
    learning_rate: float = 1e-4  # Adam
    standardize: bool = False  # scale each coefficient by the training rows' mean and std (stored in the model)

    def validate(self) -> "ModelConfig":
        from .model import MODEL_KINDS

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
        from .model import MODEL_KINDS

        names = (*MODEL_KINDS[self.kind].knobs, "l1", "l2", "learning_rate", "standardize")
        return {"kind": self.kind, **{n: getattr(self, n) for n in names}}


AUGMENT_FIELDS = ("augment_copies", "pitch_shift", "time_stretch", "noise_snr", "time_mask", "coef_mask")


@dataclass(frozen=True)
class TrainConfig(_Config):
    """How the network is trained and evaluated."""

    epochs: int = 50
    batch_size: int = 32
    test_size: float = 0.3  # fraction held out for testing (of tracks, or of segments)
    split: str = "track"  # a mode of genre.splits.SPLIT_MODES: track (default), segment (the notebook's), kfold, lists
    seed: int = 0
    patience: int | None = None  # early stopping on validation loss; None: off
    val_size: float = 0.15  # with early stopping only: fraction of training tracks held out to stop on
    folds: int = 5  # split="kfold": how many folds
    fold: int = 0  # split="kfold": the fold this run tests (0 .. folds-1)
    lists: str | None = None  # split="lists": folder of train.txt, valid.txt (optional), test.txt
    # Audio augmentation of the training tracks only (genre.augment): K altered copies of each.
    augment_copies: int = 0  # K; 0: off (the transforms below then change nothing)
    pitch_shift: float = 0.0  # each copy shifted by a random amount in [-this, +this] semitones
    time_stretch: float = 0.0  # ... and stretched at a random rate in [1-this, 1+this]
    noise_snr: float | None = None  # ... with white noise this many dB below the signal; None: no noise
    time_mask: int = 0  # SpecAugment: one band of up to this many frames masked in each copy's rows
    coef_mask: int = 0  # ... and one band of up to this many coefficients

    def validate(self) -> "TrainConfig":
        _require(_is_int(self.epochs) and 1 <= self.epochs <= 10000,
                 f"epochs must be an integer from 1 to 10000, got {self.epochs!r}")
        _require(_is_int(self.batch_size) and 1 <= self.batch_size <= 65536,
                 f"batch_size must be an integer from 1 to 65536, got {self.batch_size!r}")
        _require(isinstance(self.test_size, (int, float)) and 0 < self.test_size < 1,
                 f"test_size must be a fraction in (0, 1), got {self.test_size!r}")
        from .splits import SPLIT_MODES

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


def run_name(model_config: ModelConfig, train_config: TrainConfig, backend: str = "tensorflow") -> str:
    """A run's default name: its network, split and backend, then each setting that differs from the defaults.

    Two runs that differ in anything but the dataset's features get different names, e.g.
    ``dense-track-tf-lr0.001`` and ``dense-track-jax-lr0.001``; a k-fold run names its fold (``kfold2of5``).
    """
    mc, tc = model_config, train_config
    split = f"kfold{tc.fold}of{tc.folds}" if tc.split == "kfold" else tc.split
    parts = [mc.kind, split, BACKEND_TAGS.get(backend, backend)]
    default_mc, default_tc = ModelConfig(kind=mc.kind), TrainConfig()
    parts += [_tag(k, v) for k, v in mc.knobs().items() if k != "kind" and v != getattr(default_mc, k)]
    parts += [_tag(k, getattr(tc, k)) for k in ("epochs", "batch_size", "test_size", "seed", "patience",
                                                 "augment_copies")
              if getattr(tc, k) != getattr(default_tc, k) and not (k == "test_size" and tc.split in ("kfold", "lists"))]
    return "-".join(parts)


__all__ = ["AUGMENT_FIELDS", "BACKEND_TAGS", "EXCERPTS", "FeatureParams", "ModelConfig", "TrainConfig", "run_name"]
