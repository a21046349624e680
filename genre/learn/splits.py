"""Split modes: which rows train, which validate and which test. One entry per mode in ``SPLIT_MODES``.

Training, the CLI, the Train page and the experiment runner all read that table: a new mode is one
:class:`SplitMode` entry (its label, its warning, whether it keeps a track's rows together, and the
function that divides the ids).

- ``track`` (default): a stratified hold-out of whole tracks.
- ``segment``: the notebook's random hold-out of rows; segments of one song land on both sides.
- ``kfold``: stratified group k-fold by track (scikit-learn's ``StratifiedGroupKFold``); run ``fold``
  tests fold ``fold``, and the ``folds`` runs of one seed test every track exactly once.
- ``lists``: a predefined split from ``train.txt``, ``valid.txt`` (optional) and ``test.txt``, one
  path relative to the dataset root per line, like the fault-filtered GTZAN split shipped here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from genre.errors import TrainingError

if TYPE_CHECKING:
    from genre.learn.config import TrainConfig

GTZAN_LISTS = Path(__file__).resolve().parents[1] / "data" / "gtzan-fault-filtered"
GTZAN_GENRES = ("blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock")
LIST_FILES = ("train", "valid", "test")

SEGMENT_SPLIT_NOTE = ("The random segment split (the notebook's) puts segments of the same track in both training "
                      "and test sets, so its test accuracy overstates accuracy on unseen songs.")
KFOLD_NOTE = ("Each run tests one fold; the runs of all folds (the Experiments page, or `experiment --split kfold`) "
              "test every track exactly once.")
LISTS_NOTE = ("The sides come from list files; tracks in no list are left out, and listed files that are missing "
              "are reported.")


@dataclass
class Split:
    """Row indices of each side, and what the validation curve was computed on."""

    train: np.ndarray
    test: np.ndarray
    val: np.ndarray | None = None
    untested: tuple[int, ...] = ()  # genres with no test (or validation) data: too few tracks to stratify
    missing: tuple[str, ...] = ()  # listed files the features do not have (lists mode)
    val_source: str = "the test split"

    @property
    def stratified(self) -> bool:
        return not self.untested

    @property
    def validation_name(self) -> str:
        return self.val_source if self.val is not None else "the test split"


# A divider gets the features, the config, the ids to divide (tracks or rows) and their labels, and returns
# (train ids, test ids, validation ids or None, genres left untested, missing list entries).
Divider = Callable[..., tuple]


@dataclass(frozen=True)
class SplitMode:
    label: str  # what the Train page says
    note: str | None  # shown beside it (a warning for the segment split)
    by_track: bool  # all of a track's rows on one side (needs features that record tracks)
    divide: Divider


def held_out(n: int, size: float) -> int:
    """How many of ``n`` ids a split holds out for a fraction ``size`` (train_test_split's rounding)."""
    return int(np.ceil(size * n))


def stratified_holdout(ids: np.ndarray, labels: np.ndarray, size: float, seed: int) -> tuple[np.ndarray, np.ndarray, list]:
    """Two sides of ``ids``, stratified by ``labels`` wherever possible.

    Returns the two sides and the labels that could not be stratified (no member on the second side):
    a label with one id only goes to the first side, and the others are still split label by label,
    so one small genre never turns stratification off for all of them.
    """
    from sklearn.model_selection import train_test_split

    try:
        a, b = train_test_split(ids, test_size=size, random_state=seed, stratify=labels)
        return a, b, []
    except ValueError:  # a label with one id, or fewer held-out ids than labels
        pass
    firsts, seconds = [], []
    for label in np.unique(labels):
        members = ids[labels == label]
        if len(members) < 2:
            firsts.append(members)
            continue
        held = min(held_out(len(members), size), len(members) - 1)  # one stays on the first side
        a, b = train_test_split(members, test_size=held, random_state=seed)
        firsts.append(a)
        seconds.append(b)
    a, b = np.concatenate(firsts), np.concatenate(seconds) if seconds else ids[:0]
    missing = sorted(set(labels.tolist()) - set(labels[np.isin(ids, b)].tolist()))
    return a, b, missing


def _holdout(fs, config: TrainConfig, ids: np.ndarray, labels: np.ndarray, unit: str) -> tuple:
    if held_out(len(ids), config.test_size) >= len(ids):
        raise TrainingError(f"test_size={config.test_size:g} holds out all {len(ids)} {unit}, leaving none to "
                            "train on: use a smaller test_size or more files")
    train, test, untested = stratified_holdout(ids, labels, config.test_size, config.seed)
    return train, test, None, untested, ()


def _kfold(fs, config: TrainConfig, ids: np.ndarray, labels: np.ndarray, unit: str) -> tuple:
    import warnings

    from sklearn.model_selection import StratifiedGroupKFold

    if len(ids) < config.folds:
        raise TrainingError(f"{config.folds}-fold needs at least {config.folds} tracks, these features have {len(ids)}")
    folds = StratifiedGroupKFold(n_splits=config.folds, shuffle=True, random_state=config.seed)
    with warnings.catch_warnings():  # "the least populated class has only n members": said in `untested` instead
        warnings.simplefilter("ignore", UserWarning)
        train_rows, test_rows = list(folds.split(np.zeros(len(fs)), fs.y, groups=fs.track))[config.fold]
    train, test = np.unique(fs.track[train_rows]), np.unique(fs.track[test_rows])
    untested = sorted(set(labels.tolist()) - set(labels[np.isin(ids, test)].tolist()))
    return train, test, None, untested, ()


def read_lists(folder: str | Path) -> dict[str, list[str]]:
    """``{"train": [...], "valid": [...], "test": [...]}`` from a folder of list files (valid optional).

    A shared server reads only under ``GENRE_DATA_ROOTS`` (and the bundled lists): DatasetError elsewhere.
    """
    from genre.data.workspace import check_data_root

    check_data_root(folder)
    folder = Path(folder)
    out = {}
    for name in LIST_FILES:
        path = folder / f"{name}.txt"
        if not path.is_file():
            if name == "valid":
                out[name] = []
                continue
            raise TrainingError(f"split lists: {path} not found (a lists folder holds train.txt, test.txt and "
                                "optionally valid.txt, one path relative to the dataset root per line)")
        out[name] = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return out


def _stem(path: str) -> str:
    """A list entry or a file, without its extension: GTZAN's lists say .wav, some copies hold .au."""
    p = Path(path.replace("\\", "/"))
    return (p.parent / p.stem).as_posix()


def _lists(fs, config: TrainConfig, ids: np.ndarray, labels: np.ndarray, unit: str) -> tuple:
    lists = read_lists(config.lists)
    index = {_stem(f): i for i, f in enumerate(fs.files)}
    have = set(ids.tolist())
    sides, missing = {}, []
    for name, entries in lists.items():
        chosen = []
        for entry in entries:
            track = index.get(_stem(entry))
            if track is None or track not in have:  # not in the folder, or unreadable and skipped
                missing.append(entry)
            else:
                chosen.append(track)
        sides[name] = np.asarray(chosen, dtype=ids.dtype)
    if not len(sides["train"]) or not len(sides["test"]):
        raise TrainingError(f"the lists in {config.lists} name no training or no test file of these features "
                            f"({len(missing)} listed files missing): are they this dataset's lists?")
    untested = sorted(set(labels.tolist()) - set(labels[np.isin(ids, sides["test"])].tolist()))
    val = sides["valid"] if len(sides["valid"]) else None
    return sides["train"], sides["test"], val, untested, tuple(missing)


SPLIT_MODES: dict[str, SplitMode] = {
    "track": SplitMode("By track (honest, default)", None, True, _holdout),
    "segment": SplitMode("Random segments (the notebook's)", SEGMENT_SPLIT_NOTE, False, _holdout),
    "kfold": SplitMode("k-fold by track", KFOLD_NOTE, True, _kfold),
    "lists": SplitMode("Predefined lists (e.g. GTZAN fault-filtered)", LISTS_NOTE, True, _lists),
}


def looks_like_gtzan(genres, files) -> bool:
    """GTZAN's ten genre folders with files named like ``blues.00029.wav``."""
    if tuple(sorted(genres)) != GTZAN_GENRES:
        return False
    names = [Path(f).name for f in files]
    return bool(names) and all(n.split(".")[0] in GTZAN_GENRES and n.split(".")[1].isdigit() for n in names
                               if n.count(".") >= 2)


def default_lists(genres, files) -> str | None:
    """The lists folder ``split="lists"`` uses when none is given: GTZAN's fault-filtered split for GTZAN, else None."""
    return str(GTZAN_LISTS) if looks_like_gtzan(genres, files) else None


def split_name(metrics: dict, train_config: dict | None = None) -> str:
    """The split a run was tested on, named (with the fold of a k-fold run), from its metrics and config."""
    tc = train_config or {}
    split = metrics.get("split", tc.get("split"))
    mode = SPLIT_MODES.get(split)
    name = mode.label if mode else str(split if split is not None else "–")
    fold, folds = metrics.get("fold", tc.get("fold")), metrics.get("folds", tc.get("folds"))
    if split == "kfold" and fold is not None:
        name += f", fold {fold + 1} of {folds}"
    return name


def describe_split(metrics: dict, train_config: dict) -> str:
    """The split a run was tested on, named, with what was held out."""
    mode, name = metrics.get("split", train_config.get("split", "track")), split_name(metrics, train_config)
    if mode == "kfold":
        return name
    if mode == "lists":
        return f"{name} ({train_config.get('lists')})"
    return (f"{name}, {train_config.get('test_size', 0.3):.0%} held out"
            + (" (overstates accuracy)" if mode == "segment" else ""))
