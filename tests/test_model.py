"""Tests for genre.learn.model: the notebook's network, and TensorFlow imported only when needed."""

import json
import subprocess
import sys

import pytest

from genre.learn.config import ModelConfig


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
    from genre.learn.model import build_model

    model = build_model((32, 13), 3, ModelConfig())
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
    from genre.learn.model import build_model

    model = build_model((10, 20), 4, ModelConfig(hidden_units=units, dropout=dropout, l2=l2, learning_rate=0.01))
    dense = [s for s in _layer_summary(model) if s[0] == "Dense"]
    assert [d[1] for d in dense] == [*units, 4]
    assert all(d[3] == (pytest.approx(l2) if l2 else None) for d in dense[:-1])  # l2=0: no regulariser at all
    assert [s[1] for s in _layer_summary(model) if s[0] == "Dropout"] == [pytest.approx(dropout)] * len(units)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)


@pytest.mark.parametrize("l1, l2, want", [
    (0.0, 0.0, None), (1e-4, 0.0, {"l1": 1e-4}), (0.0, 1e-3, {"l2": 1e-3}), (1e-4, 1e-3, {"l1": 1e-4, "l2": 1e-3}),
])
@pytest.mark.parametrize("kind", ["dense", "cnn", "lstm"])
def test_l1_and_l2_regularise_every_hidden_layer_of_every_kind(kind, l1, l2, want):
    from genre.learn.model import build_model

    model = build_model((12, 6), 3, ModelConfig(kind=kind, l1=l1, l2=l2))
    hidden = [layer for layer in model.layers if hasattr(layer, "kernel_regularizer")
              and layer.name != "genre_probabilities"]
    assert hidden, "no hidden layer with a kernel"
    for layer in hidden:
        reg = layer.kernel_regularizer
        got = None if reg is None else {k: v for k, v in reg.get_config().items() if v}
        assert got == (None if want is None else {k: pytest.approx(v) for k, v in want.items()}), layer.name
    assert model.get_layer("genre_probabilities").kernel_regularizer is None


def test_cnn_is_the_courses_three_conv_blocks():
    from genre.learn.model import build_model

    model = build_model((130, 13), 10, ModelConfig(kind="cnn"))
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["InputLayer", "Reshape", *["Conv2D", "MaxPooling2D", "BatchNormalization"] * 3,
                     "Flatten", "Dense", "Dropout", "Dense"]
    convs = [layer for layer in model.layers if type(layer).__name__ == "Conv2D"]
    assert [c.kernel_size for c in convs] == [(3, 3), (3, 3), (2, 2)] and {c.filters for c in convs} == {32}
    pools = [layer for layer in model.layers if type(layer).__name__ == "MaxPooling2D"]
    assert [(p.pool_size, p.strides) for p in pools] == [((3, 3), (2, 2)), ((3, 3), (2, 2)), ((2, 2), (2, 2))]
    assert model.get_layer("dense_1").units == 64 and model.get_layer("dropout_1").rate == pytest.approx(0.3)


def test_lstm_is_two_lstm_layers_then_dense():
    from genre.learn.model import build_model

    model = build_model((130, 13), 10, ModelConfig(kind="lstm", lstm_units=48))
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["InputLayer", "LSTM", "LSTM", "Dense", "Dropout", "Dense"]
    assert [layer.units for layer in model.layers if type(layer).__name__ == "LSTM"] == [48, 48]


@pytest.mark.parametrize("n_mfcc", [1, 2, 13])
def test_cnn_builds_for_any_number_of_coefficients(n_mfcc):
    from genre.learn.model import build_model

    assert build_model((5, n_mfcc), 2, ModelConfig(kind="cnn")).output_shape == (None, 2)


def test_standardisation_is_the_first_layer_and_scales_by_the_given_mean_and_std():
    import numpy as np

    from genre.learn.model import build_model, fit_standardization

    rng = np.random.default_rng(0)
    X = (rng.normal(size=(40, 6, 3)) * [1.0, 10.0, 0.0] + [5.0, -200.0, 7.0]).astype("float32")
    mean, std = fit_standardization(X)
    np.testing.assert_allclose(mean, [5.0, -200.0, 7.0], atol=1.5)
    assert std[2] == 1.0  # a constant coefficient is not blown up
    model = build_model((6, 3), 2, ModelConfig(standardize=True), standardization=(mean, std))
    layer = model.get_layer("standardize")
    np.testing.assert_allclose(np.asarray(layer(X)), (X - mean) / std, rtol=1e-4, atol=1e-4)


def test_standardize_without_statistics_is_an_error():
    from genre.errors import TrainingError
    from genre.learn.model import build_model

    with pytest.raises(TrainingError, match="mean and std"):
        build_model((6, 3), 2, ModelConfig(standardize=True))


def test_model_summary_is_text():
    from genre.learn.model import build_model, model_summary

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
    ["genre.data.extract"],
    ["genre.data.workspace"],
    ["genre.learn.training", "genre.learn.model", "genre.learn.bundle", "genre.learn.predict", "genre.jobs.runs", "genre.jobs.worker", "genre.data.store"],
])
def test_importing_the_library_does_not_import_tensorflow(modules):
    assert _heavy_after_import(modules) == []


def test_the_import_check_sees_a_heavy_import():
    # The check above can fail: a module that does import a heavy package shows up.
    assert _heavy_after_import(["genre", "librosa"]) == ["librosa"]


@pytest.mark.parametrize("kind", ["dense", "cnn", "lstm"])
@pytest.mark.parametrize("standardize, l1, l2", [(False, 0.0, 0.0), (True, 1e-4, 1e-3)])
def test_every_kind_saves_only_the_classes_an_import_accepts(kind, standardize, l1, l2, tmp_path):
    """ARCHIVE_CLASSES is the table an imported model is checked against: every network we build must fit it."""
    import numpy as np

    from genre.learn.export import check_model_archive
    from genre.learn.model import build_model

    stats = (np.zeros(13, np.float32), np.ones(13, np.float32)) if standardize else None
    model = build_model((20, 13), 3, ModelConfig(kind=kind, standardize=standardize, l1=l1, l2=l2),
                        standardization=stats)
    model.save(tmp_path / "m.keras")
    check_model_archive(tmp_path / "m.keras")  # raises BundleError naming a class missing from the table
