"""The notebook's dense network, configurable. TensorFlow is imported only when called."""

from __future__ import annotations

import os

from .config import ModelConfig
from .errors import TrainingError


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
    try:
        import keras
    except ImportError as exc:  # e.g. KERAS_BACKEND=jax without jax installed
        raise TrainingError(f"cannot start Keras with the {os.environ.get('KERAS_BACKEND', 'tensorflow')} "
                            f"backend: {exc}") from None
    if backend is not None and keras.backend.backend() != backend:
        raise TrainingError(f"this process already runs Keras on {keras.backend.backend()}; a {backend} run "
                            "needs a process of its own")
    return keras


def build_model(input_shape: tuple[int, int], num_classes: int, config: ModelConfig | None = None):
    """Flatten -> [Dense(units, ReLU, L2) -> Dropout] per hidden layer -> softmax; Adam.

    Parameters
    ----------
    input_shape : (frames, n_mfcc)
    num_classes : int
    config : ModelConfig, optional
        Defaults to the notebook's: 512/256/64 units, L2 0.001, dropout 0.3, Adam 1e-4.

    Returns
    -------
    keras.Model, compiled with sparse categorical cross-entropy and accuracy.
    """
    keras = import_keras()
    config = (config or ModelConfig()).validate()
    # Every layer is named here: Keras' automatic names come from a counter that
    # keras.backend.clear_session() resets, and Streamlit calls that after every script run, from
    # another thread, so a model built in a worker thread could get two layers called "dense".
    layers = [keras.Input(shape=tuple(input_shape), name="mfcc"), keras.layers.Flatten(name="flatten")]
    for i, units in enumerate(config.hidden_units, start=1):
        layers.append(keras.layers.Dense(units, activation="relu", name=f"dense_{i}",
                                         kernel_regularizer=keras.regularizers.L2(config.l2)))
        layers.append(keras.layers.Dropout(config.dropout, name=f"dropout_{i}"))
    layers.append(keras.layers.Dense(num_classes, activation="softmax", name="genre_probabilities"))
    model = keras.Sequential(layers, name="genre_dense")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=config.learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def model_summary(model) -> str:
    """Keras' text summary as a string."""
    lines: list[str] = []
    model.summary(print_fn=lambda line, **_: lines.append(line))
    return "\n".join(lines)
