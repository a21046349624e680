"""The features' settings, :class:`FeatureParams`, and the frozen-config base every config shares.

The configs serve the CLI, the app, the feature store's cache key and the bundle JSON. Each has
``validate()``, which raises :class:`~genre.errors.ParameterError` with a message that says what was
wrong and what is allowed, and ``to_dict`` / ``from_dict`` for JSON. The network's and training's
configs (:mod:`genre.learn.config`) build on the same base.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from genre.errors import ParameterError


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


@dataclass(frozen=True)
class Knob:
    """How a config field is set from outside, declared once beside the field.

    The CLI's flag (``--`` and the field's name, dashed; older spellings in ``aliases``), the app's widget
    and URL key (``key``, else the field's name), its label, help and allowed values, and whether an
    experiment may vary it: the CLI, the app's settings and ``--vary`` all derive from this.
    """

    label: str = ""
    help: str = ""
    key: str | None = None  # the app's widget and URL key (None: the field's name; a short one in older links)
    options: tuple | None = None  # the app's choices (the config itself may take more)
    low: float | None = None  # the app's range
    high: float | None = None
    aliases: tuple[str, ...] = ()  # older CLI flags that still work
    vary: bool = True  # an experiment may vary it (not: what an experiment sets per trial, or keeps for all)
    cli: bool = True  # a flag of the commands that take this config
    app: bool = True  # a widget of the Features or Train page


def knob(default, **declared) -> Any:
    """A config field with its :class:`Knob` (``dataclasses.field`` with the knob in its metadata)."""
    return dataclasses.field(default=default, metadata={"knob": Knob(**declared)})


def knobs(cls) -> dict[str, tuple[dataclasses.Field, Knob]]:
    """Each field of config class ``cls`` with its knob (a field declared without one: a default knob)."""
    return {f.name: (f, f.metadata.get("knob", Knob())) for f in dataclasses.fields(cls)}


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ParameterError(message)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class FeatureKind:
    """One family of features: what a training row is made of. One entry of :data:`FEATURE_KINDS`."""

    label: str
    about: str
    grid: bool  # rows are frames x coefficients (a CNN or an LSTM can read them); else one vector per segment
    sample_rate: int | None  # the rate it hears (None: the sample_rate setting)
    reads: tuple[str, ...]  # the FeatureParams fields only this kind reads (beyond the segments' and the rate)
    network: bool  # computed by a neural network: in a worker process, never in the app's server


FEATURE_KINDS: dict[str, FeatureKind] = {
    "mfcc": FeatureKind("MFCCs (the notebook's)", "13 or so mel-frequency cepstral coefficients per frame: the "
                        "notebook's features, frames x coefficients per segment", True, None,
                        ("n_mfcc", "n_fft", "hop_length"), False),
    "musicnn": FeatureKind("musicnn embeddings (pretrained)", "what musicnn, a network trained on the Million Song "
                           "Dataset's tags, makes of the segment: one vector per segment (the mean over its 3 s "
                           "patches), at 16 kHz", False, 16000, ("layer",), True),
}
EMBEDDINGS = {"penultimate": 200, "mean_pool": 753, "max_pool": 753}  # musicnn's layers -> an embedding's size
MUSICNN_PATCH_SAMPLES = 186 * 256  # a segment musicnn hears at all: one 187-frame patch at hop 256 (2.98 s)

EXCERPTS = {  # where a track's segments come from -> what the app and the CLI's help say
    "start": "the first `duration` seconds (the notebook's)",
    "middle": "`duration` seconds from the middle of the track (past intros)",
    "whole": "the whole track, cut into segments of the same length, at most `max_segments` spread over it",
}


@dataclass(frozen=True)
class FeatureParams(_Config):
    """How MFCCs are extracted: the notebook's constants, made parameters."""

    sample_rate: int = knob(22050, label="Sample rate (Hz)", key="sr", options=(8000, 11025, 16000, 22050, 32000, 44100),
                            help="every clip is resampled to this")
    duration: float = knob(30.0, label="Duration (s)", low=1, high=300,
                           help="seconds of each track that are cut into segments")
    num_segments: int = knob(5, label="Segments per track", key="segments", low=1, high=30, aliases=("--segments",),
                             help="segments per duration; each becomes one training row")
    n_mfcc: int = knob(13, label="MFCC coefficients", low=1, high=40, help="coefficients per frame")
    n_fft: int = knob(2048, label="FFT window (n_fft)", options=(256, 512, 1024, 2048, 4096, 8192),
                      help="FFT window, samples")
    hop_length: int = knob(512, label="Hop length", key="hop",
                           options=(64, 128, 256, 384, 512, 768, 1024, 1536, 2048, 4096, 8192),
                           help="hop between frames, samples")
    files_per_genre: int = knob(-1, label="Files per genre", key="files", low=-1, high=10**6, vary=False,
                                help="-1: all files")
    excerpt: str = knob("start", label="Excerpt", options=tuple(EXCERPTS),
                        help="; ".join(f"{k}: {v}" for k, v in EXCERPTS.items()))
    max_segments: int = knob(30, label="Segments per track, at most", low=1, high=200,
                             help="with excerpt whole: at most this many segments per track, spread over it")
    exclude: tuple[str, ...] = knob((), vary=False, cli=False, app=False)  # genre folders left out (e.g. "unlabelled")
    features: str = knob("mfcc", label="Features", key="family", options=tuple(FEATURE_KINDS),
                         help="; ".join(f"{k}: {v.about}" for k, v in FEATURE_KINDS.items()))
    layer: str = knob("penultimate", label="musicnn layer", options=tuple(EMBEDDINGS),
                      help="musicnn: the layer a segment's embedding comes from: penultimate (200 values), "
                           "mean_pool or max_pool (753 each: its features pooled over time)")

    def __post_init__(self):
        # A kind that hears one rate (musicnn: 16 kHz) sets it: a segment is then sample_rate*duration//num_segments
        # of the samples it hears, everywhere (extraction, prediction, the page's numbers).
        rate = FEATURE_KINDS[self.features].sample_rate if self.features in FEATURE_KINDS else None
        if rate is not None and self.sample_rate != rate:
            object.__setattr__(self, "sample_rate", rate)

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
        _require(self.features in FEATURE_KINDS,
                 f"features must be one of {', '.join(FEATURE_KINDS)}, got {self.features!r}")
        _require(self.layer in EMBEDDINGS, f"layer must be one of {', '.join(EMBEDDINGS)}, got {self.layer!r}")
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
    def kind(self) -> FeatureKind:
        return FEATURE_KINDS[self.features]

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one training row: (frames, n_mfcc), or (size,) of an embedding."""
        return (self.frames_per_segment, self.n_mfcc) if self.kind.grid else (EMBEDDINGS[self.layer],)

    def keeps(self, n_samples: int) -> bool:
        """Whether a segment of ``n_samples`` samples is kept: MFCCs by the notebook's rule (exactly
        ``ceil(segment_samples / hop_length)`` frames); embeddings when the segment is whole."""
        if not self.kind.grid:
            return n_samples == self.segment_samples
        return n_samples > 0 and self.frames_of(n_samples) == self.frames_per_segment

    def frames_of(self, n_samples: int) -> int:
        """Frames librosa's centred STFT gives for ``n_samples`` samples."""
        return 1 + (n_samples + 2 * (self.n_fft // 2) - self.n_fft) // self.hop_length

    def problems(self) -> list[str]:
        """Why these parameters would give no training rows (empty list: they are fine)."""
        if not self.kind.grid:
            if self.segment_samples < MUSICNN_PATCH_SAMPLES:
                return [f"segments of {self.segment_samples / self.sample_rate:.2f} s are shorter than the 3 s musicnn "
                        "listens to: use fewer segments or a longer duration."]
            return []
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
        what = (f"{self.n_mfcc} MFCCs, n_fft {self.n_fft}, hop {self.hop_length}" if self.kind.grid else
                f"musicnn {self.layer} embeddings ({EMBEDDINGS[self.layer]} values, mean of 3 s patches)")
        return (f"{what}, {where} at {self.sample_rate} Hz, "
                + ("all files" if self.files_per_genre == -1 else f"{self.files_per_genre} files per genre")
                + (f", without {', '.join(self.exclude)}" if self.exclude else ""))

    def identity(self) -> dict[str, Any]:
        """The parameters as a dict without the later ones left at their defaults, so that the cache
        keys and store names of features made before those parameters existed stay the same."""
        d = self.to_dict()
        for name in {r for kind in FEATURE_KINDS.values() for r in kind.reads} - set(self.kind.reads):
            del d[name]  # what another kind reads and this one does not
        if self.features == "mfcc":
            del d["features"]
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


__all__ = ["EMBEDDINGS", "EXCERPTS", "FEATURE_KINDS", "FeatureKind", "FeatureParams", "Knob", "knob", "knobs"]
