"""Training and evaluation: honest splits, per-epoch hooks, a stop flag, track-level votes.

By default the split is by track: every segment of a file lands on the same side, stratified
by genre. The notebook's random split of segments is offered too, but it puts segments of one
track on both sides, so its test accuracy overstates how well new songs are classified.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from genre.data.store import FeatureSet
from genre.errors import TrainingError
from genre.learn.config import ModelConfig, TrainConfig
from genre.learn.evaluate import score, track_rows
from genre.learn.model import MODEL_KINDS, build_model, import_keras
from genre.learn.splits import SPLIT_MODES, Split, held_out, stratified_holdout

EpochFn = Callable[[int, dict], None]


def split_rows(fs: FeatureSet, config: TrainConfig) -> Split:
    """Train/test (and validation) rows of ``fs`` for the split mode ``config.split``.

    The mode (:data:`genre.learn.splits.SPLIT_MODES`) divides tracks (or, for ``segment``, rows). With
    early stopping and no validation side of its own (lists' ``valid.txt``), a stratified part of
    the training tracks is held out to stop on.

    Raises
    ------
    TrainingError
        ``fs`` is not trainable (:func:`check_trainable`), or the split would leave no
        training data, or training data of a single genre.
    """
    check_trainable(fs, config)
    mode = SPLIT_MODES[config.split]
    rows = np.arange(len(fs))
    if mode.by_track:
        ids, first = np.unique(fs.track, return_index=True)
        labels, row_id, unit = fs.y[first], fs.track, "tracks"
    else:
        ids, labels, row_id, unit = rows, fs.y, rows, "rows"
    train_ids, test_ids, val_ids, untested, missing = mode.divide(fs, config, ids, labels, unit)
    if not len(test_ids):
        raise TrainingError(f"every genre has a single {unit[:-1]}: none can be held out for testing; add files")
    val_source = "the lists' validation files"
    if val_ids is None and config.patience is not None:
        val_source = "held-out part of the training tracks"
        if held_out(len(train_ids), config.val_size) >= len(train_ids):
            raise TrainingError(f"early stopping holds out val_size={config.val_size:g} of the {len(train_ids)} "
                                f"training {unit[:-1] if len(train_ids) == 1 else unit} for validation, leaving "
                                "none to train on: use a smaller test_size, more files, or no patience")
        lab = dict(zip(ids.tolist(), labels.tolist()))
        train_ids, val_ids, unvalidated = stratified_holdout(train_ids, np.array([lab[i] for i in train_ids]),
                                                             config.val_size, config.seed + 1)
        if not len(val_ids):
            raise TrainingError("early stopping needs validation tracks held out of the training tracks, but no "
                                "genre has two training tracks: use a smaller test_size, more files, or no patience")
        untested = sorted(set(untested) | set(unvalidated))
    pick = lambda chosen: rows[np.isin(row_id, chosen)]  # noqa: E731
    split = Split(train=pick(train_ids), test=pick(test_ids), val=None if val_ids is None else pick(val_ids),
                  untested=tuple(int(g) for g in untested), missing=tuple(missing), val_source=val_source)
    present = np.unique(fs.y[split.train])
    if len(present) < 2:
        after = " after holding out validation data for early stopping" if val_ids is not None else ""
        raise TrainingError(f"the training split has {unit} of one genre only ({fs.genres[present[0]]}){after}, "
                            "nothing to tell apart: use a smaller test_size"
                            f"{', no patience' if val_ids is not None else ''} or more files")
    return split


def check_trainable(fs: FeatureSet, config: TrainConfig) -> None:
    """Raise :class:`TrainingError` when ``fs`` cannot be split and trained on with ``config``."""
    if len(fs) == 0:
        raise TrainingError("the feature set has no rows: extract features first")
    present = np.unique(fs.y)
    if len(present) < 2:
        raise TrainingError(f"training needs at least two genres with data; these features have "
                            f"{len(present)} ({', '.join(fs.genres[i] for i in present)})")
    if SPLIT_MODES[config.split].by_track:
        if not fs.has_tracks:
            raise TrainingError("these features do not record which track each row came from (the notebook's "
                                "JSON does not): use the segment split")
        n_tracks = len(np.unique(fs.track))
        if n_tracks < 4:
            raise TrainingError(f"splitting by track needs at least 4 tracks, these features have {n_tracks}")
    elif len(fs) < 4:
        raise TrainingError(f"training needs at least 4 rows, these features have {len(fs)}")


@dataclass
class TrainResult:
    """A trained model and what it scored on the held-out split."""

    model: object
    history: dict[str, list[float]]
    metrics: dict
    split: Split
    seconds: float
    stopped: bool = False
    info: dict = field(default_factory=dict)


def _callbacks(keras, on_epoch: EpochFn | None, stop: threading.Event | None, patience: int | None, start: float):
    class Hooks(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if on_epoch is not None:
                on_epoch(epoch + 1, {**{k: float(v) for k, v in (logs or {}).items()},
                                     "seconds": round(time.perf_counter() - start, 4)})
            if stop is not None and stop.is_set():
                self.model.stop_training = True

        def on_train_batch_end(self, batch, logs=None):
            if stop is not None and stop.is_set():
                self.model.stop_training = True

    cbs = [Hooks()]
    if patience is not None:
        cbs.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True))
    return cbs


def train(fs: FeatureSet, model_config: ModelConfig | None = None, train_config: TrainConfig | None = None, *,
          augmented: FeatureSet | None = None, on_epoch: EpochFn | None = None,
          stop: threading.Event | None = None) -> TrainResult:
    """Train the network ``model_config.kind`` on ``fs`` and score it on the held-out split.

    Parameters
    ----------
    augmented : FeatureSet, optional
        Augmented copies of ``fs``'s tracks (:func:`genre.learn.augment.load_or_augment`); only the copies
        of the training rows are added to them (:func:`genre.learn.augment.training_copies`).
    on_epoch : callable(epoch, logs), optional
        Called after every epoch (1-based) with the epoch's loss/accuracy and validation values, and
        ``seconds``: since the network's build began, the clock of the result's ``seconds`` (one clock).
    stop : threading.Event, optional
        When set, training ends after the current batch, keeping what was learned so far.
    """
    from genre.learn.augment import training_copies
    from genre.learn.model import fit_standardization

    model_config = (model_config or ModelConfig()).validate()
    config = (train_config or TrainConfig()).validate()
    split = split_rows(fs, config)
    X_train, y_train = fs.X[split.train], fs.y[split.train]
    copies = np.zeros(0, np.int64) if augmented is None else training_copies(augmented, fs, split.train)
    if len(copies):
        X_train = np.concatenate([X_train, augmented.X[copies]])
        y_train = np.concatenate([y_train, augmented.y[copies]])
    # Fitted on the training rows only (the originals): the test rows must not shape the model in any way.
    standardization = fit_standardization(fs.X[split.train]) if model_config.standardize else None
    keras = import_keras()
    keras.utils.set_random_seed(config.seed)
    start = time.perf_counter()
    model = build_model(fs.X.shape[1:], len(fs.genres), model_config, standardization=standardization)
    val = split.val if split.val is not None else split.test
    fit = model.fit(X_train, y_train, validation_data=(fs.X[val], fs.y[val]),
                    epochs=config.epochs, batch_size=config.batch_size, verbose=0, shuffle=True,
                    callbacks=_callbacks(keras, on_epoch, stop, config.patience, start))
    history = {k: [float(v) for v in vals] for k, vals in fit.history.items()}
    probabilities = model.predict(fs.X[split.test], batch_size=1024, verbose=0)
    track = fs.track[split.test] if config.split == "track" or fs.has_tracks else split.test
    metrics = score(probabilities, fs.y[split.test], track, fs.genres)
    metrics.update(split=config.split, validation=split.validation_name, stratified=split.stratified,
                   untested_genres=[fs.genres[g] for g in split.untested], missing=list(split.missing),
                   **({"fold": config.fold, "folds": config.folds} if config.split == "kfold" else {}),
                   n_train_segments=int(len(split.train)), n_augmented_rows=int(len(copies)),
                   epochs_run=len(history.get("loss", [])))
    info = {"tracks": []}  # empty: features that do not record their tracks (the error analysis says so)
    if fs.has_tracks:
        info["tracks"] = track_rows(probabilities, fs.y[split.test], fs.track[split.test], fs.segment[split.test],
                                    fs.files, fs.genres)
    if standardization is not None:
        info["standardization"] = {"mean": standardization[0].tolist(), "std": standardization[1].tolist(),
                                   "fitted_on": f"the {len(split.train)} training rows"}
    return TrainResult(model=model, history=history, metrics=metrics, split=split,
                       seconds=time.perf_counter() - start, stopped=bool(stop is not None and stop.is_set()),
                       info=info)


def describe_training(spec: dict, m: dict) -> str:
    """What the network of a run's ``spec`` was and what it was trained on (its ``metrics``), in one line."""
    mc, tc = spec.get("model_config", {}), spec.get("train_config", {})
    kind = mc.get("kind", "dense")
    parts = [f"{MODEL_KINDS[kind].label if kind in MODEL_KINDS else kind} network",
             f"dropout {mc.get('dropout', 0.3):g}, L1 {mc.get('l1', 0):g}, L2 {mc.get('l2', 0.001):g}"]
    if mc.get("standardize"):
        parts.append("inputs standardised by the training rows' mean and std")
    rows = f"trained on {m.get('n_train_segments', 0):,} rows"
    if m.get("n_augmented_rows"):
        rows += (f" + {m['n_augmented_rows']:,} augmented copies (up to {tc.get('augment_copies')} per training row: "
                 "a copy stretched faster may lose its last segment)" if tc.get("time_stretch") else
                 f" + {m['n_augmented_rows']:,} augmented copies ({tc.get('augment_copies')} per training row)")
    return "; ".join([*parts, rows]) + "."
