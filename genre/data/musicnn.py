"""musicnn (Pons & Serra, 2019): a network trained on the Million Song Dataset's 50 most common tags, ported to
Keras 3 layers (it runs under TensorFlow and JAX), with its weights converted once from the ``musicnn`` wheel.

The wheel (0.1.0, ISC licence) is installed with ``--no-deps`` for its weight files and labels only: its Python
code (TensorFlow 1) is never imported here. ``tests/test_musicnn.py`` proves the port equal to the original
graph. Its input is musicnn's own log-mel: 16 kHz, 512-sample FFT, hop 256, 96 mel bands, ``log10(1 + 10000·x)``
of the spectrogram rounded to float16 (without the original's float16 overflow), cut into 187-frame (3 s) patches.

Shapes: ``log_mel`` (frames, 96); ``patches`` (n, 187, 96); the model's outputs per patch: ``tags`` (50,
sigmoid), ``penultimate`` (200), ``mean_pool`` and ``max_pool`` (753 each: the front- and mid-end's features
pooled over time).
"""

from __future__ import annotations

import importlib.metadata
import os
import tempfile
from pathlib import Path

import numpy as np

from genre.data.params import EMBEDDINGS
from genre.data.spectral import hann, mel_filterbank
from genre.errors import ParameterError

SAMPLE_RATE, N_FFT, HOP, N_MELS, PATCH_FRAMES = 16000, 512, 256, 96, 187  # musicnn's configuration.py
MODEL = "MSD_musicnn"
# musicnn/configuration.py's MSD_LABELS, in the order of the network's outputs.
TAGS = ("rock", "pop", "alternative", "indie", "electronic", "female vocalists", "dance", "00s", "alternative rock",
        "jazz", "beautiful", "metal", "chillout", "male vocalists", "classic rock", "soul", "indie rock", "Mellow",
        "electronica", "80s", "folk", "90s", "chill", "instrumental", "punk", "oldies", "blues", "hard rock",
        "ambient", "acoustic", "experimental", "female vocalist", "guitar", "Hip-Hop", "70s", "party", "country",
        "easy listening", "sexy", "catchy", "funk", "electro", "heavy metal", "Progressive rock", "60s", "rnb",
        "indie pop", "sad", "House", "happy")
LAYERS = {**EMBEDDINGS, "tags": len(TAGS)}  # an output's size per patch


class MusicnnMissing(ParameterError):
    """The musicnn wheel (its weights) is not installed."""


def checkpoint() -> Path:
    """The wheel's MSD_musicnn checkpoint folder (``.index``, ``.data-…``, ``.meta``: the checkpoint's prefix is the
    folder and a slash), found through the package's metadata: nothing of the package is imported."""
    try:
        folder = Path(importlib.metadata.distribution("musicnn").locate_file(f"musicnn/{MODEL}"))
    except importlib.metadata.PackageNotFoundError:
        folder = None
    if folder is None or not (folder / ".index").is_file():
        raise MusicnnMissing("the pretrained network's weights are not installed: run bash scripts/setup.sh "
                             "(it installs the musicnn wheel with --no-deps)")
    return folder


def log_mel(y: np.ndarray, sample_rate: int) -> np.ndarray:
    """musicnn's input for a mono signal [shape=(frames, 96)], as its ``extractor.batch_data`` computes it.

    ``librosa.feature.melspectrogram`` (power, Slaney mel filters, centred periodic-Hann frames), computed here with
    numpy and the project's own filterbank: librosa's call costs a process ~190 MB of imports (numba), which the
    app's server, drawing this on the Features page, should not pay. ``tests/test_musicnn.py`` holds it to librosa.
    """

    y = np.asarray(y, dtype=np.float32)
    if sample_rate != SAMPLE_RATE:  # librosa.resample's default (soxr HQ)
        import soxr

        y = soxr.resample(y, sample_rate, SAMPLE_RATE, quality="HQ").astype(np.float32, copy=False)
    if len(y) <= N_FFT // 2:  # too short to reflect (and to give a patch)
        return np.zeros((0, N_MELS), np.float32)
    # pad_mode="reflect": librosa's default when musicnn was trained (0.7); today's default pads with zeros.
    padded = np.pad(y, N_FFT // 2, mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP] * hann(N_FFT)
    spectrum = np.fft.rfft(frames, axis=-1)
    power = (spectrum.real ** 2 + spectrum.imag ** 2).astype(np.float32)
    mel = power @ mel_filterbank(SAMPLE_RATE, N_FFT, N_MELS).T
    # The original rounds the spectrogram to float16 (its model saw that precision) and then takes 10000·x in
    # float16, which overflows to inf above x = 6.55 — a loud bin of real music — and the inf runs through the
    # network. Kept: the rounding; not kept: the overflow (the product in float32).
    mel = mel.astype(np.float16).astype(np.float32)
    return np.log10(10000 * mel + 1)


def patches(mel: np.ndarray, *, hop: int = PATCH_FRAMES) -> np.ndarray:
    """Consecutive 187-frame patches of ``mel``, ``hop`` frames apart [shape=(n, 187, 96)] (none when shorter)."""
    starts = range(0, max(0, mel.shape[0] - PATCH_FRAMES + 1), hop)
    return np.stack([mel[s:s + PATCH_FRAMES] for s in starts]) if len(starts) else np.zeros((0, PATCH_FRAMES, N_MELS),
                                                                                           np.float32)


def build(keras):
    """The MSD_musicnn network as Keras 3 layers (layers named as the original's variables), weights unset."""
    L, ops = keras.layers, keras.ops

    def bn(name):
        return L.BatchNormalization(epsilon=1e-3, name=name)  # tf.compat.v1.layers' defaults

    def pad_time(x):
        return ops.pad(x, [[0, 0], [3, 3], [0, 0], [0, 0]])

    def block(x, filters, kernel, padding, conv, norm):  # conv, batch norm, max over all frequencies
        x = L.Conv2D(filters, kernel, padding=padding, activation="relu", name=conv)(x)
        return ops.max(bn(norm)(x), axis=2)

    x_in = keras.Input((PATCH_FRAMES, N_MELS), name="log_mel")
    x = bn("batch_normalization")(ops.expand_dims(x_in, -1))
    front = ops.concatenate([
        block(pad_time(x), 204, (7, 38), "valid", "conv2d", "batch_normalization_1"),  # timbral, 0.4 of the bands
        block(pad_time(x), 204, (7, 67), "valid", "conv2d_1", "batch_normalization_2"),  # 0.7
        block(x, 51, (128, 1), "same", "conv2d_2", "batch_normalization_3"),  # temporal
        block(x, 51, (64, 1), "same", "conv2d_3", "batch_normalization_4"),
        block(x, 51, (32, 1), "same", "conv2d_4", "batch_normalization_5"),
    ], axis=2)  # (b, 187, 561)
    m = ops.expand_dims(front, -1)
    mids, res = [m], None
    for i, width in enumerate((561, 64, 64)):  # dense mid-end, residual from the second layer on
        c = L.Conv2D(64, (7, width), padding="valid", activation="relu", name=f"conv2d_{5 + i}")(pad_time(mids[-1]))
        c = ops.transpose(bn(f"batch_normalization_{6 + i}")(c), (0, 1, 3, 2))  # (b, 187, 64, 1)
        res = c if res is None else c + res
        mids.append(res)
    mid = ops.concatenate(mids, axis=2)  # (b, 187, 753, 1)
    max_pool, mean_pool = ops.max(mid, axis=1), ops.mean(mid, axis=1)  # (b, 753, 1) each
    pooled = ops.reshape(ops.concatenate([max_pool, mean_pool], axis=2), (-1, 2 * 753))
    pen = bn("batch_normalization_10")(L.Dense(200, activation="relu", name="dense")(bn("batch_normalization_9")(pooled)))
    tags = ops.sigmoid(L.Dense(len(TAGS), name="dense_1")(pen))
    return keras.Model(x_in, {"tags": tags, "penultimate": pen, "mean_pool": ops.squeeze(mean_pool, -1),
                              "max_pool": ops.squeeze(max_pool, -1)}, name="msd_musicnn")


WEIGHTS = {"BatchNormalization": ("gamma", "beta", "moving_mean", "moving_variance"), "Conv2D": ("kernel", "bias"),
           "Dense": ("kernel", "bias")}


def convert(out: Path) -> Path:
    """Read the wheel's checkpoint (TensorFlow's reader) into ``out``, a plain ``.npz`` of ``layer/variable``."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    reader = tf.compat.v1.train.NewCheckpointReader(f"{checkpoint()}/")
    arrays = {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()
              if "Adam" not in name and "/" in name}
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=out.parent, suffix=".npz", delete=False) as fh:
        np.savez(fh, **arrays)
    os.replace(fh.name, out)
    return out


def load(cache: Path):
    """The ported network with its weights; converted from the checkpoint into ``cache`` the first time."""
    if not cache.is_file():
        convert(cache)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    model = build(keras)
    with np.load(cache) as w:
        for layer in model.layers:
            names = WEIGHTS.get(type(layer).__name__)
            if names:
                layer.set_weights([w[f"{layer.name}/{n}"] for n in names])
    return model


def weights_cache() -> Path:
    from genre.data import workspace

    return workspace.home() / "cache" / "musicnn" / f"{MODEL}.npz"


def embed(model, y: np.ndarray, sample_rate: int, *, layer: str = "penultimate") -> np.ndarray:
    """One embedding per 3 s patch of ``y`` [shape=(patches, LAYERS[layer])]."""
    if layer not in LAYERS:
        raise ParameterError(f"layer must be one of {', '.join(LAYERS)}, got {layer!r}")
    x = patches(log_mel(y, sample_rate))
    if not len(x):
        return np.zeros((0, LAYERS[layer]), np.float32)
    return np.asarray(model.predict(x, batch_size=32, verbose=0)[layer])


_SHARED: dict = {}


def shared():
    """This process's ported network, loaded on first use (extraction and prediction share it)."""
    if "model" not in _SHARED:
        _SHARED["model"] = load(weights_cache())
    return _SHARED["model"]


def segment_embeddings(model, y: np.ndarray, *, params, segments) -> tuple[np.ndarray, np.ndarray]:
    """One embedding per segment [shape=(k, LAYERS[params.layer])]: the mean of the layer ``params.layer`` over the
    segment's 3 s patches (consecutive, none overlapping), every segment's patches in one batch.

    ``y`` is at ``params.sample_rate`` (16 kHz: :class:`~genre.data.params.FeatureParams` sets it for musicnn);
    segment ``d`` is ``y[d*seg:(d+1)*seg]``. Segments too short for one patch are left out of ``index``.
    """
    seg, size = params.segment_samples, LAYERS[params.layer]
    blocks, index = [], []
    for d in segments:
        x = patches(log_mel(y[d * seg:(d + 1) * seg], params.sample_rate))
        if len(x):
            blocks.append(x)
            index.append(d)
    if not blocks:
        return np.zeros((0, size), np.float32), np.zeros(0, np.int32)
    out = np.asarray(model.predict(np.concatenate(blocks), batch_size=64, verbose=0)[params.layer], np.float32)
    bounds = np.cumsum([0] + [len(b) for b in blocks])
    rows = np.stack([out[a:b].mean(axis=0) for a, b in zip(bounds[:-1], bounds[1:])])
    return rows.astype(np.float32), np.asarray(index, np.int32)


def top_tags(tags: np.ndarray, k: int = 5) -> list[tuple[str, float]]:
    """The ``k`` tags the network hears most, averaged over the patches: ``[(tag, likelihood), ...]``."""
    mean = np.asarray(tags).reshape(-1, len(TAGS)).mean(axis=0)
    return [(TAGS[i], float(mean[i])) for i in np.argsort(-mean)[:k]]


__all__ = ["LAYERS", "TAGS", "build", "checkpoint", "convert", "embed", "load", "log_mel", "patches",
           "segment_embeddings", "shared", "top_tags", "weights_cache"]
