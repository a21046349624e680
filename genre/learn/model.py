"""The networks: the notebook's dense one, the course's CNN and LSTM, logistic regression. TensorFlow is imported only when called.

A kind of network is one entry of :data:`MODEL_KINDS`; the config, the bundle, prediction and the
experiment runner are the same for every kind.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from genre.errors import TrainingError

if TYPE_CHECKING:  # the config validates against MODEL_KINDS below: it imports this module, not the reverse
    from genre.learn.config import ModelConfig


def import_keras(backend: str | None = None):
    """Import Keras quietly (TensorFlow's C++ start-up chatter off) and return the module.

    ``backend`` ("tensorflow" or "jax") is set as ``KERAS_BACKEND`` when Keras is not imported
    yet; asking for another backend than the one already loaded is a :class:`TrainingError`.
    """
    import sys

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # deterministic CPU kernels
    if backend is not None and "keras" not in sys.modules:
        os.environ["KERAS_BACKEND"] = backend
    if os.environ.get("KERAS_BACKEND") == "jax" and "jax" not in sys.modules:
        _jax_compilation_cache()
    try:
        import keras
    except ImportError as exc:  # e.g. KERAS_BACKEND=jax without jax installed
        raise TrainingError(f"cannot start Keras with the {os.environ.get('KERAS_BACKEND', 'tensorflow')} "
                            f"backend: {exc}") from None
    if backend is not None and keras.backend.backend() != backend:
        raise TrainingError(f"this process already runs Keras on {keras.backend.backend()}; a {backend} run "
                            "needs a process of its own")
    return keras


def _jax_compilation_cache() -> None:
    """JAX's persistent compilation cache in the workspace (before JAX is imported; the environment wins): a repeat
    run's first epoch 5.5 -> 2.5 s (issue 16's measurement). Trusted code, so only in the workspace, which only this
    app writes."""
    from genre.data import workspace

    os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(workspace.jax_cache_dir()))
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")  # the network's steps compile in < 1 s
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "-1")


@dataclass(frozen=True)
class ModelKind:
    """One kind of network: how it is built from a :class:`ModelConfig`, and which knobs it reads."""

    label: str
    knobs: tuple[str, ...]  # ModelConfig fields of this kind (the shared ones are l1, l2, learning_rate, standardize)
    about: str
    build: Callable  # (keras, inputs, config, regularizer) -> output tensor before the softmax layer
    backend: str  # the faster Keras backend for it on a CPU (the README's table of seconds per epoch): "auto" picks it
    grid: bool = False  # it reads rows of frames x coefficients (MFCCs), not one vector per segment (embeddings)


def _dense(keras, x, config: ModelConfig, reg):
    x = keras.layers.Flatten(name="flatten")(x)
    for i, units in enumerate(config.hidden_units, start=1):
        x = keras.layers.Dense(units, activation="relu", kernel_regularizer=reg(), name=f"dense_{i}")(x)
        x = keras.layers.Dropout(config.dropout, name=f"dropout_{i}")(x)
    return x


def _cnn(keras, x, config: ModelConfig, reg):
    L = keras.layers
    x = L.Reshape((*x.shape[1:], 1), name="as_image")(x)  # (frames, n_mfcc, 1 channel)
    # "same" padding throughout (the course's Conv2D pads "valid"): any n_mfcc from 1 up keeps a size >= 1.
    for i, (kernel, pool) in enumerate(((3, 3), (3, 3), (2, 2)), start=1):
        x = L.Conv2D(config.filters, kernel, activation="relu", padding="same", kernel_regularizer=reg(),
                     name=f"conv_{i}")(x)
        x = L.MaxPooling2D(pool, strides=2, padding="same", name=f"pool_{i}")(x)
        x = L.BatchNormalization(name=f"batchnorm_{i}")(x)
    x = L.Flatten(name="flatten")(x)
    x = L.Dense(config.dense_units, activation="relu", kernel_regularizer=reg(), name="dense_1")(x)
    return L.Dropout(config.dropout, name="dropout_1")(x)


def _lstm(keras, x, config: ModelConfig, reg):
    L = keras.layers
    x = L.LSTM(config.lstm_units, return_sequences=True, kernel_regularizer=reg(), name="lstm_1")(x)
    x = L.LSTM(config.lstm_units, kernel_regularizer=reg(), name="lstm_2")(x)
    x = L.Dense(config.dense_units, activation="relu", kernel_regularizer=reg(), name="dense_1")(x)
    return L.Dropout(config.dropout, name="dropout_1")(x)


def _logistic(keras, x, config: ModelConfig, reg):
    return keras.layers.Flatten(name="flatten")(x)  # the softmax layer on the inputs: multinomial logistic regression


MODEL_KINDS: dict[str, ModelKind] = {
    "dense": ModelKind("Dense (the notebook's)", ("hidden_units", "dropout"),
                       "Flatten -> Dense+ReLU+Dropout per hidden layer: every frame and coefficient its own input.",
                       _dense, "jax"),
    "cnn": ModelKind("CNN", ("filters", "dense_units", "dropout"),
                     "Three Conv2D -> MaxPool -> BatchNorm blocks over the (frames x MFCC) image, then Dense+Dropout: "
                     "patterns anywhere in time and pitch.", _cnn, "tensorflow", grid=True),
    "lstm": ModelKind("LSTM", ("lstm_units", "dense_units", "dropout"),
                      "Two LSTM layers read the frames in order, then Dense+Dropout: patterns over time.", _lstm, "jax",
                      grid=True),
    "logistic": ModelKind("Logistic regression", (),
                          "No hidden layer: one softmax over the inputs, the simplest baseline (a head on pretrained "
                          "embeddings). It learns slowly at the notebook's learning rate of 1e-4: try 1e-3 with "
                          "standardised inputs.", _logistic, "jax"),
}


def check_input(kind: str, input_shape: tuple[int, ...]) -> None:
    """Raise :class:`TrainingError` when the network ``kind`` cannot read rows of ``input_shape``."""
    if MODEL_KINDS[kind].grid and len(input_shape) != 2:
        raise TrainingError(f"the {MODEL_KINDS[kind].label} reads each segment as frames x coefficients over time; "
                            "embeddings are one vector per segment, with no time axis: choose the dense network "
                            "or logistic regression")


def kinds_for(input_shape: tuple[int, ...]) -> list[str]:
    """The kinds of network that can read rows of ``input_shape``."""
    return [k for k, v in MODEL_KINDS.items() if not v.grid or len(input_shape) == 2]


# Every (module, class) that a model of MODEL_KINDS puts in its saved config.json, its regularisers, optimizer,
# initializers and input standardisation included. An imported model may name nothing else (genre.learn.export checks
# this before Keras reads the archive): no Lambda, no custom object, no module outside Keras. A new kind or
# layer adds its classes here; tests/test_model.py fails until it does.
ARCHIVE_CLASSES = frozenset({
    ("keras", "DTypePolicy"),
    ("keras.src.models.functional", "Functional"),
    *(("keras.layers", c) for c in ("InputLayer", "Flatten", "Dense", "Dropout", "Reshape", "Normalization",
                                     "Conv2D", "MaxPooling2D", "BatchNormalization", "LSTM")),
    *(("keras.regularizers", c) for c in ("L1", "L2", "L1L2")),
    *(("keras.initializers", c) for c in ("GlorotUniform", "Orthogonal", "Zeros", "Ones")),
    ("keras.optimizers", "Adam"),
})


def describe(config: ModelConfig) -> str:
    """The network in a few words: its kind and its own knobs (e.g. ``dense 512/256/64``)."""
    sizes = {"dense": "/".join(map(str, config.hidden_units)),
             "cnn": f"{config.filters} filters, dense {config.dense_units}",
             "lstm": f"{config.lstm_units} units, dense {config.dense_units}"}
    return f"{config.kind} {sizes.get(config.kind, '')}".strip()


def build_model(input_shape: tuple[int, int], num_classes: int, config: ModelConfig, *,
                standardization: tuple[np.ndarray, np.ndarray] | None = None):
    """The network ``config.kind`` of :data:`MODEL_KINDS`, compiled with Adam.

    Parameters
    ----------
    input_shape : (frames, n_mfcc)
    num_classes : int
    config : ModelConfig
        ``ModelConfig()`` is the notebook's dense network: 512/256/64 units, L2 0.001, dropout 0.3, Adam 1e-4.
    standardization : (mean, std), each np.ndarray [shape=(n_mfcc,)], optional
        With ``config.standardize``: the training rows' mean and std per coefficient. The model's
        first layer subtracts and divides by them, so the saved model carries them and prediction
        applies them.

    Returns
    -------
    keras.Model, compiled with sparse categorical cross-entropy and accuracy.
    """
    config = config.validate()
    check_input(config.kind, tuple(input_shape))
    keras = import_keras()
    kind = MODEL_KINDS[config.kind]

    def reg():
        if config.l1 and config.l2:
            return keras.regularizers.L1L2(l1=config.l1, l2=config.l2)
        if config.l1:
            return keras.regularizers.L1(config.l1)
        return keras.regularizers.L2(config.l2) if config.l2 else None

    # Every layer is named here: Keras' automatic names come from a counter that
    # keras.backend.clear_session() resets, so a model built after one could get two layers of one name.
    inputs = keras.Input(shape=tuple(input_shape), name="mfcc")
    x = inputs
    if config.standardize:
        if standardization is None:
            raise TrainingError("standardize needs the training rows' mean and std per coefficient")
        mean, std = (np.asarray(v, dtype=np.float32) for v in standardization)
        x = keras.layers.Normalization(axis=-1, mean=mean, variance=np.square(std), name="standardize")(x)
    x = kind.build(keras, x, config, reg)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="genre_probabilities")(x)
    model = keras.Model(inputs, outputs, name=f"genre_{config.kind}")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=config.learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def fit_standardization(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std of each coefficient over every row and frame of ``X`` [shape=(n, frames, n_mfcc) or (n, size)].

    A coefficient that never varies gets std 1 (dividing by ~0 would blow its noise up).
    """
    X = np.asarray(X, dtype=np.float64)
    axes = tuple(range(X.ndim - 1))
    mean = X.mean(axis=axes)
    std = X.std(axis=axes)
    return mean.astype(np.float32), np.where(std > 1e-6, std, 1.0).astype(np.float32)


def model_summary(model) -> str:
    """Keras' text summary as a string."""
    lines: list[str] = []
    model.summary(print_fn=lambda line, **_: lines.append(line))
    return "\n".join(lines)
