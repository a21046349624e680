"""Tests for genre.model: the notebook's network, and TensorFlow imported only when needed."""

import json
import subprocess
import sys

import pytest

from genre.config import ModelConfig


def _layer_summary(model) -> list[tuple]:
    out = []
    for layer in model.get_config()["layers"]:
        cfg = layer["config"]
        if layer["class_name"] == "Dense":
            reg = cfg.get("kernel_regularizer")
            l2 = reg["config"]["l2"] if reg else None
            out.append(("Dense", cfg["units"], cfg["activation"], None if l2 is None else round(l2, 6)))
        elif layer["class_name"] == "Dropout":
            out.append(("Dropout", round(cfg["rate"], 6)))
        else:
            out.append((layer["class_name"],))
    return out


def test_default_model_is_the_notebooks_dense_network():
    from genre.model import build_model

    model = build_model((32, 13), 3)
    assert _layer_summary(model) == [
        ("InputLayer",), ("Flatten",),
        ("Dense", 512, "relu", 0.001), ("Dropout", 0.3),
        ("Dense", 256, "relu", 0.001), ("Dropout", 0.3),
        ("Dense", 64, "relu", 0.001), ("Dropout", 0.3),
        ("Dense", 3, "softmax", None),
    ]
    assert model.input_shape == (None, 32, 13) and model.output_shape == (None, 3)
    assert type(model.optimizer).__name__ == "Adam"
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-4)
    assert model.loss == "sparse_categorical_crossentropy"


@pytest.mark.parametrize("units, dropout, l2", [((16,), 0.0, 0.0), ((32, 16), 0.5, 0.01)])
def test_model_config_shapes_the_network(units, dropout, l2):
    from genre.model import build_model

    model = build_model((10, 20), 4, ModelConfig(hidden_units=units, dropout=dropout, l2=l2, learning_rate=0.01))
    dense = [s for s in _layer_summary(model) if s[0] == "Dense"]
    assert [d[1] for d in dense] == [*units, 4]
    assert all(d[3] == pytest.approx(l2) for d in dense[:-1])
    assert [s[1] for s in _layer_summary(model) if s[0] == "Dropout"] == [pytest.approx(dropout)] * len(units)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)


def test_model_summary_is_text():
    from genre.model import build_model, model_summary

    text = model_summary(build_model((4, 3), 2, ModelConfig(hidden_units=(8,))))
    assert "genre_dense" in text and "Dense" in text


HEAVY = ("tensorflow", "keras", "librosa", "streamlit")


def _heavy_after_import(modules: list[str]) -> list[str]:
    """Which HEAVY packages a fresh interpreter has loaded after importing ``modules``."""
    code = (
        "import importlib, json, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("modules", [
    ["genre"],
    ["genre.cli"],
    ["genre.extract"],
    ["genre.workspace"],
    ["genre.training", "genre.model", "genre.bundle", "genre.predict", "genre.runs", "genre.worker", "genre.store"],
])
def test_importing_the_library_does_not_import_tensorflow(modules):
    assert _heavy_after_import(modules) == []


def test_the_import_check_sees_a_heavy_import():
    # The check above can fail: a module that does import a heavy package shows up.
    assert _heavy_after_import(["genre", "librosa"]) == ["librosa"]
