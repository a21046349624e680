"""What an experiment is: :class:`ExperimentSpec`, its grid of settings and its trials.

The CLI builds a spec from its flags, the Experiments page from its widgets; it is written to the
experiment's folder as ``experiment.json`` and the runner reads it back. Values travel as JSON
numbers, so a float arrives exactly as it was chosen (no text in between).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genre.atomic import read_json, write_text
from genre.data.params import FeatureParams, knobs
from genre.errors import GenreError, ParameterError, TrainingError
from genre.learn.config import ModelConfig, TrainConfig, check_features

EXPERIMENT_FILE = "experiment.json"
KEEP_MODELS = {  # what an experiment keeps of its trials' models (~20 MB each) once it ends
    "all": "every trial's model",
    "best": "only the best trial's model (the best point's best seed)",
    "none": "no model: the records keep every trial's metrics and curves",
}
CONFIGS = {"features": FeatureParams, "model": ModelConfig, "train": TrainConfig}
# Settings an experiment sets itself (or that would make the trials not comparable): declared with vary=False.
NOT_VARIED = {name for cls in CONFIGS.values() for name, (_, k) in knobs(cls).items() if not k.vary}


@dataclass(frozen=True)
class Variable:
    """A setting an experiment can vary: ``NAME=V1,V2`` on the command line."""

    name: str
    config: str  # a key of CONFIGS
    parse: Callable[[str], Any]
    is_tuple: bool = False  # hidden_units: a JSON list read back as a tuple


def _parse_for(f: dataclasses.Field) -> Callable[[str], Any]:
    kind = str(f.type)
    if "tuple[int" in kind:  # hidden_units: 512-256-64
        return lambda text: tuple(int(u) for u in text.split("-"))
    if kind == "bool":
        return _boolean
    base = {"int": int, "float": float}.get(kind.split(" | ")[0], str)
    if kind.endswith("| None"):  # noise_snr=none,20
        return lambda text: None if text.strip().lower() in ("none", "off", "") else base(text)
    return base


def _boolean(text: str) -> bool:
    value = text.strip().lower()
    if value not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
        raise ValueError(f"{text!r} is not true or false")
    return value in ("true", "1", "yes", "on")


def _variables() -> dict[str, Variable]:
    return {f.name: Variable(f.name, where, _parse_for(f), "tuple[" in str(f.type))
            for where, cls in CONFIGS.items() for f in dataclasses.fields(cls) if f.name not in NOT_VARIED}


# Each value of a --vary is checked on its own here, on the defaults, except where a rule spans settings:
# augment_copies needs a transform, which the base config (checked with every point later) may give.
_PROBES = {"train": TrainConfig(time_mask=1)}
VARIABLES: dict[str, Variable] = _variables()  # every FeatureParams/ModelConfig/TrainConfig field, but NOT_VARIED


def cell(value) -> str:
    """A value as the CLI and the CSV tables write it (layers as ``512-256-64``, None as empty)."""
    if isinstance(value, (tuple, list)):
        return "-".join(map(str, value))
    if isinstance(value, float):  # exact (repr round-trips), and short: 4.0 as 4
        return (repr(value).removesuffix(".0") if math.isfinite(value) else "")
    return "" if value is None else str(value)


def check_value(name: str, value) -> Any:
    """``value`` for the setting ``name`` if its config takes it, else a ParameterError that says why."""
    if name not in VARIABLES:
        raise ParameterError(f"cannot vary {name!r}: choose from {', '.join(sorted(VARIABLES))}")
    var = VARIABLES[name]
    if var.is_tuple and isinstance(value, list):
        value = tuple(value)
    try:
        _PROBES.get(var.config, CONFIGS[var.config]()).replace(**{name: value})
    except (GenreError, TypeError) as exc:
        raise ParameterError(f"--vary {name}={cell(value)}: {exc}") from None
    return value


def parse_vary(text: str) -> tuple[str, list]:
    """``"n_mfcc=13,20"`` -> ``("n_mfcc", [13, 20])``; each value checked by building its config.

    Raises
    ------
    ParameterError
        Unknown name, a value that does not parse, one its config refuses, or one given twice.
    """
    name, sep, values = text.partition("=")
    name = name.strip()
    if not sep or not values.strip():
        raise ParameterError(f"--vary takes NAME=V1,V2,...; got {text!r}")
    if name not in VARIABLES:
        raise ParameterError(f"cannot vary {name!r}: choose from {', '.join(sorted(VARIABLES))}")
    parsed = []
    for raw in values.split(","):
        try:
            value = VARIABLES[name].parse(raw.strip())
        except ValueError:
            raise ParameterError(f"--vary {name}: {raw.strip()!r} is not a valid value") from None
        parsed.append(check_value(name, value))
    if len(set(map(repr, parsed))) != len(parsed):
        raise ParameterError(f"--vary {name}: a value is given twice")
    return name, parsed


def grid(varies) -> list[dict]:
    """Every combination of the varied settings (one empty point when nothing varies)."""
    names = [n for n, _ in varies]
    if len(set(names)) != len(names):
        raise ParameterError("a setting is varied twice: give all its values in one --vary")
    return [dict(zip(names, combo)) for combo in itertools.product(*(values for _, values in varies))]


def configs_for(point: dict, base: dict[str, Any]) -> tuple[FeatureParams, ModelConfig, TrainConfig]:
    """The three configs of a grid point: ``base`` configs with the point's settings applied."""
    parts = {where: {k: v for k, v in point.items() if VARIABLES[k].config == where} for where in CONFIGS}
    return tuple(base[where].replace(**parts[where]) for where in CONFIGS)  # type: ignore[return-value]


@dataclass(frozen=True)
class Trial:
    settings: dict
    seed: int
    fold: int | None

    @property
    def label(self) -> str:
        """The trial's run name: its grid point, seed and fold (``dropout=0.5 seed=1 fold=0``)."""
        parts = [f"{k}={cell(v)}" for k, v in self.settings.items()] + [f"seed={self.seed}"]
        return " ".join(parts + ([f"fold={self.fold}"] if self.fold is not None else []))


def plan(points: list[dict], *, repeats: int, split: str, folds: int) -> list[Trial]:
    """Every trial: each grid point × ``repeats`` seeds (0, 1, ...) × each fold when ``split="kfold"``."""
    if not (isinstance(repeats, int) and 1 <= repeats <= 100):
        raise ParameterError(f"repeats must be an integer from 1 to 100, got {repeats!r}")
    fold_ids = list(range(folds)) if split == "kfold" else [None]
    return [Trial(p, seed, fold) for p in points for seed in range(repeats) for fold in fold_ids]


@dataclass(frozen=True)
class Work:
    """What one trial trains: the time of an epoch grows with ``size`` (training rows × frames × coefficients)."""

    backend: str  # the Keras backend it runs on ("auto" resolved)
    kind: str  # the network
    epochs: int
    size: float


def now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True)
class ExperimentSpec:
    """An experiment: the base configs, the grid, the repeats, the backend and the workers.

    ``train`` carries the split (``split``, ``folds``, ``lists``) and the epochs; each trial takes its
    seed and fold from the plan. Unvaried settings are the base's, exactly.
    """

    dataset: str
    varies: tuple[tuple[str, tuple], ...] = ()  # (setting, its values), in the grid's order
    features: FeatureParams = field(default_factory=FeatureParams)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    repeats: int = 3
    backend: str = "auto"  # genre.jobs.runs.BACKENDS; "auto": each trial's network's faster backend
    workers: int | None = None  # trials at once on this machine; None: half the cores
    keep_models: str = "all"  # one of KEEP_MODELS: the records keep every trial's metrics whatever this says
    created: str = ""

    @classmethod
    def build(cls, dataset: str | Path, varies=(), *, base: dict[str, Any] | None = None, repeats: int = 3,
              split: str | None = None, folds: int | None = None, lists: str | None = None,
              epochs: int | None = None, backend: str = "auto", workers: int | None = None,
              keep_models: str = "all") -> ExperimentSpec:
        """A validated spec from the base configs and the experiment's own settings (None: the base's).

        With ``split="lists"`` and no lists, GTZAN's fault-filtered split when the dataset is GTZAN.
        """
        base = {**{k: c() for k, c in CONFIGS.items()}, **(base or {})}
        changes = {k: v for k, v in (("split", split), ("folds", folds), ("epochs", epochs)) if v is not None}
        train = base["train"].replace(**changes, lists=lists if lists is not None else base["train"].lists)
        if train.split == "lists" and train.lists is None:
            from genre.data.dataset import scan_dataset
            from genre.learn.splits import default_lists

            found = scan_dataset(dataset, exclude=base["features"].exclude)
            train = train.replace(lists=default_lists(found.genres, [p.name for f in found.files for p in f]))
        spec = cls(dataset=str(Path(dataset).resolve()), varies=tuple((n, tuple(v)) for n, v in varies),
                   features=base["features"], model=base["model"], train=train, repeats=repeats, backend=backend,
                   workers=workers, keep_models=keep_models, created=now())
        return spec.validate()

    @property
    def base(self) -> dict[str, Any]:
        return {"features": self.features, "model": self.model, "train": self.train}

    def validate(self) -> ExperimentSpec:
        from genre.jobs.runs import BACKENDS

        if self.backend not in BACKENDS:
            raise ParameterError(f"backend must be one of {', '.join(BACKENDS)}, got {self.backend!r}")
        if self.workers is not None and not (isinstance(self.workers, int) and self.workers >= 1):
            raise ParameterError(f"workers must be at least 1, got {self.workers!r}")
        if self.keep_models not in KEEP_MODELS:
            raise ParameterError(f"keep_models must be one of {', '.join(KEEP_MODELS)}, got {self.keep_models!r}")
        for name, values in self.varies:
            for value in values:
                check_value(name, value)
        for fp, mc, tc in self.configs():  # every trial's settings checked before any work
            if fp.problems():
                raise ParameterError(" ".join(fp.problems()))
            try:
                check_features(fp, mc, tc)
            except TrainingError as exc:
                raise ParameterError(f"a trial on {fp.kind.label} with the {mc.kind} network: {exc}") from None
        return self

    def trials(self) -> list[Trial]:
        return plan(grid(self.varies), repeats=self.repeats, split=self.train.split, folds=self.train.folds)

    def configs(self) -> list[tuple[FeatureParams, ModelConfig, TrainConfig]]:
        """Each trial's configs, its seed and fold set."""
        out = []
        for trial in self.trials():
            fp, mc, tc = configs_for(trial.settings, self.base)
            out.append((fp, mc, tc.replace(seed=trial.seed, fold=trial.fold or 0)))
        return out

    def work(self, n_tracks: int) -> list:
        """What each trial trains on a dataset of ``n_tracks`` tracks (:class:`Work`, for an estimate)."""
        from genre.data.features import segments_per_track
        from genre.jobs.runs import resolve_backend

        out = []
        for fp, mc, tc in self.configs():
            held = 1 / tc.folds if tc.split == "kfold" else tc.test_size
            segments = segments_per_track(fp)
            rows = n_tracks * segments * (1 - held) * (1 + tc.augment_copies)
            out.append(Work(resolve_backend(self.backend, mc.kind), mc.kind, tc.epochs, rows * math.prod(fp.input_shape)))
        return out

    def varied(self) -> list[str]:
        """The settings varied over more than one value."""
        return [name for name, values in self.varies if len(values) > 1]

    def fixed(self) -> dict[str, Any]:
        """The unvaried settings that differ from the defaults (and those varied over one value)."""
        out = {name: values[0] for name, values in self.varies if len(values) == 1}
        for config in self.base.values():
            default = type(config)()
            out.update({f.name: getattr(config, f.name) for f in dataclasses.fields(config)
                        if f.name in VARIABLES and f.name not in dict(self.varies) and f.name != "epochs"
                        and getattr(config, f.name) != getattr(default, f.name)})
        return out

    def to_dict(self) -> dict[str, Any]:
        """``experiment.json``: the spec, plus what the record view reads (split, folds, lists, trials)."""
        return {"dataset": self.dataset, "varies": [[n, list(v)] for n, v in self.varies], "repeats": self.repeats,
                "split": self.train.split, "folds": self.train.folds, "lists": self.train.lists,
                "backend": self.backend, "workers": self.workers, "keep_models": self.keep_models,
                "created": self.created,
                "trials": len(self.trials()), "base": {k: c.to_dict() for k, c in self.base.items()}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExperimentSpec:
        if not isinstance(data, dict) or "dataset" not in data:
            raise ParameterError("not an experiment's spec (experiment.json needs at least its dataset)")
        base = {k: c.from_dict(data.get("base", {}).get(k, {})) for k, c in CONFIGS.items()}
        train = base["train"]
        for key in ("split", "folds", "lists"):  # records before the spec kept them beside the base
            if key in data and key not in data.get("base", {}).get("train", {}):
                train = train.replace(**{key: data[key]})
        varies = tuple((n, tuple(tuple(v) if VARIABLES.get(n, Variable(n, "", str)).is_tuple and isinstance(v, list)
                                 else v for v in values)) for n, values in data.get("varies", []))
        return cls(dataset=data["dataset"], varies=varies, features=base["features"], model=base["model"],
                   train=train, repeats=int(data.get("repeats", 1)), backend=data.get("backend", "tensorflow"),
                   workers=data.get("workers"), keep_models=data.get("keep_models", "all"),
                   created=data.get("created", "")).validate()

    def write(self, folder: str | Path) -> Path:
        """``experiment.json`` in ``folder`` (made if needed), atomically."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        write_text(folder / EXPERIMENT_FILE, json.dumps(self.to_dict(), indent=1))
        return folder / EXPERIMENT_FILE

    @classmethod
    def read(cls, folder: str | Path) -> ExperimentSpec:
        data = read_json(Path(folder) / EXPERIMENT_FILE)
        if data is None:
            raise ParameterError(f"{folder} has no readable {EXPERIMENT_FILE}")
        return cls.from_dict(data)
