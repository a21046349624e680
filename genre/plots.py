"""Figures for the app and the docs: audio, features, training curves and predictions.

Every function builds a :class:`matplotlib.figure.Figure` directly and returns it. We never
use ``pyplot``: its global "current figure" state is not thread-safe, and the app draws from
several sessions at once. A Figure without pyplot needs no backend to be chosen and is
garbage-collected like any object; render it with ``fig.savefig`` or ``st.pyplot(fig)``.

``import genre.plots`` is cheap (numpy and ``matplotlib.figure`` only); librosa is imported
inside :func:`melspectrogram_figure`, the one function that needs it.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from genre.errors import ParameterError

__all__ = [
    "GENRE_PALETTE", "genre_colors", "genre_markers",
    "confusion_figure", "curves_overlay_figure", "embedding_figure", "heatmap_figure", "history_figure", "log_mel_figure",
    "melspectrogram_figure",
    "mfcc_figure", "probabilities_figure", "segment_votes_figure", "sweep_figure", "waveform_figure",
]

# One colour per genre, twenty that stay apart (Trubetskoy's "20 distinct colours", the palest swapped for
# black): the same genre gets the same colour on every chart, and GTZAN's ten plus ten more never repeat.
GENRE_PALETTE = ("#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45",
                 "#ffe119", "#469990", "#9a6324", "#800000", "#000075", "#808000", "#fabed4", "#dcbeff",
                 "#aaffc3", "#ffd8b1", "#000000", "#a9a9a9")
GENRE_MARKERS = ("circle", "square", "triangle-up", "diamond", "cross")  # past twenty genres, colours repeat


def png(fig: Figure, *, dpi: int = 200) -> bytes:
    """``fig`` as PNG bytes, drawn as ``st.pyplot`` draws a figure (tight box, 200 dpi): for pictures kept in a
    cache rather than drawn again."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight", dpi=dpi)
    return buf.getvalue()


def genre_colors(genres) -> dict[str, str]:
    """Each genre's colour: its index in the sorted genre names picks from :data:`GENRE_PALETTE`."""
    return {g: GENRE_PALETTE[i % len(GENRE_PALETTE)] for i, g in enumerate(sorted(genres))}


def genre_markers(genres) -> dict[str, str]:
    """Each genre's marker (a Vega shape): the same for the first twenty, then another for each further twenty,
    so that no two genres share both colour and marker."""
    return {g: GENRE_MARKERS[(i // len(GENRE_PALETTE)) % len(GENRE_MARKERS)] for i, g in enumerate(sorted(genres))}


ENVELOPE_POINTS = 2000  # waveforms longer than twice this are drawn as a min/max envelope
HIGHLIGHT = "tab:orange"  # the predicted genre
MUTED = "tab:blue"


# ---------------------------------------------------------------- validation helpers

def _positive(value, name: str, *, integer: bool = False) -> None:
    kind = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    if isinstance(value, bool) or not isinstance(value, kind) or not value > 0:
        what = "a positive integer" if integer else "a positive number"
        raise ParameterError(f"{name} must be {what}, got {value!r}")


def _array(data, name: str, *, ndim: int) -> np.ndarray:
    """``data`` as a finite float array with ``ndim`` dimensions and no empty axis."""
    try:
        arr = np.asarray(data, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be numeric, got {type(data).__name__}") from None
    if arr.ndim != ndim:
        raise ParameterError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    if arr.size == 0:
        raise ParameterError(f"{name} must not be empty, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ParameterError(f"{name} must contain only finite values")
    return arr


def _probabilities(arr: np.ndarray, name: str) -> None:
    if arr.min() < 0 or arr.max() > 1 + 1e-6:
        raise ParameterError(f"{name} must lie in [0, 1], got range [{arr.min():g}, {arr.max():g}]")


def _genres(genres, n: int, what: str) -> list[str]:
    names = [str(g) for g in genres]
    if len(names) != n:
        raise ParameterError(f"genres has {len(names)} names but {what} has {n}")
    return names


def _curves(history, name: str = "history") -> dict[str, np.ndarray]:
    """The non-empty 1-D curves of a Keras ``History.history`` dict, by key."""
    if not isinstance(history, Mapping):
        raise ParameterError(f"{name} must be a dict of lists, got {type(history).__name__}")
    curves = {}
    for key, values in history.items():
        arr = np.asarray(values if values is not None else [], dtype=float)
        if arr.ndim != 1:
            raise ParameterError(f"{name}[{key!r}] must be a flat list, got shape {arr.shape}")
        if arr.size:
            curves[key] = arr
    return curves


# ---------------------------------------------------------------- drawing helpers

def _figure(figsize: tuple[float, float], ncols: int = 1):
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.subplots(1, ncols, squeeze=False)[0]


def _plot_curve(ax, values: np.ndarray, **kwargs) -> None:
    epochs = np.arange(1, len(values) + 1)
    ax.plot(epochs, values, marker="o" if len(values) == 1 else None, **kwargs)


def _finish_metric_axes(ax, metric: str) -> None:
    ax.set_xlabel("Epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if metric == "accuracy":
        ax.set_ylabel("Accuracy (fraction correct)")
        ax.set_ylim(0, 1)
    else:
        ax.set_ylabel("Loss")
    ax.grid(alpha=0.3)
    if ax.lines:
        ax.legend(fontsize="small")
    else:
        ax.text(0.5, 0.5, "no data yet", ha="center", va="center", transform=ax.transAxes,
                color="grey")


# ---------------------------------------------------------------- audio and features

def waveform_figure(y, *, sample_rate: float, title: str | None = None) -> Figure:
    """Amplitude against time.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono audio samples.
    sample_rate : float > 0
        Samples per second of ``y``.
    title : str, optional
        Defaults to "Waveform".

    Returns
    -------
    Figure
        One axes. Signals longer than ``2 * ENVELOPE_POINTS`` samples are drawn as a filled
        min/max envelope of ``ENVELOPE_POINTS`` bins (fast, and looks the same); shorter
        ones as a line.
    """
    y = _array(y, "y", ndim=1)
    _positive(sample_rate, "sample_rate")
    fig, (ax,) = _figure((8, 2.5))
    if len(y) > 2 * ENVELOPE_POINTS:
        per_bin = len(y) // ENVELOPE_POINTS
        bins = y[: per_bin * ENVELOPE_POINTS].reshape(ENVELOPE_POINTS, per_bin)
        t = (np.arange(ENVELOPE_POINTS) + 0.5) * per_bin / sample_rate
        ax.fill_between(t, bins.min(axis=1), bins.max(axis=1), color=MUTED, linewidth=0.5)
    else:
        ax.plot(np.arange(len(y)) / sample_rate, y, color=MUTED, linewidth=0.8)
    ax.set_xlim(0, len(y) / sample_rate)
    ax.set_xlabel("Time (s)")
    ax.set_ylabel("Amplitude")
    ax.set_title(title or "Waveform")
    return fig


def melspectrogram_figure(y, *, sample_rate: int, n_fft: int = 2048, hop_length: int = 512,
                          n_mels: int = 128, title: str | None = None) -> Figure:
    """Power mel spectrogram in dB relative to its loudest bin.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono audio samples.
    sample_rate : int > 0
        Samples per second of ``y``.
    n_fft, hop_length, n_mels : int > 0
        STFT window length, hop between frames (samples) and number of mel bands.
    title : str, optional
        Defaults to "Mel spectrogram".

    Returns
    -------
    Figure
        One axes (time in s, mel-scaled frequency in Hz) and a colorbar in dB.
    """
    y = _array(y, "y", ndim=1)
    _positive(sample_rate, "sample_rate")
    for name, value in (("n_fft", n_fft), ("hop_length", hop_length), ("n_mels", n_mels)):
        _positive(value, name, integer=True)
    import librosa  # slow (numba); only this figure needs it
    import librosa.display

    power = librosa.feature.melspectrogram(y=y, sr=sample_rate, n_fft=n_fft,
                                           hop_length=hop_length, n_mels=n_mels)
    db = librosa.power_to_db(power, ref=np.max)
    fig, (ax,) = _figure((8, 3))
    mesh = librosa.display.specshow(db, sr=sample_rate, hop_length=hop_length, n_fft=n_fft,
                                    x_axis="s", y_axis="mel", ax=ax, cmap="magma")
    fig.colorbar(mesh, ax=ax, format="%+.0f", label="dB (re. max)")
    ax.set_xlabel("Time (s)")
    ax.set_ylabel("Frequency (Hz, mel scale)")
    ax.set_title(title or "Mel spectrogram")
    return fig


def mfcc_figure(mfcc, *, sample_rate: float, hop_length: int, title: str | None = None) -> Figure:
    """Heatmap of MFCCs over time.

    Parameters
    ----------
    mfcc : np.ndarray [shape=(frames, n_mfcc)]
        Time-major, as the training rows are stored (the transpose of ``librosa.feature.mfcc``).
    sample_rate : float > 0
        Samples per second of the audio the MFCCs came from.
    hop_length : int > 0
        Samples between frames.
    title : str, optional
        Defaults to "MFCC".

    Returns
    -------
    Figure
        One axes (time in s on x, coefficient index on y) and a colorbar.
    """
    mfcc = _array(mfcc, "mfcc", ndim=2)
    _positive(sample_rate, "sample_rate")
    _positive(hop_length, "hop_length", integer=True)
    frames, n_mfcc = mfcc.shape
    fig, (ax,) = _figure((8, 3))
    image = ax.imshow(mfcc.T, origin="lower", aspect="auto", cmap="viridis",
                      interpolation="nearest",
                      extent=(0, frames * hop_length / sample_rate, -0.5, n_mfcc - 0.5))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    fig.colorbar(image, ax=ax, label="Coefficient value")
    ax.set_xlabel("Time (s)")
    ax.set_ylabel("MFCC index")
    ax.set_title(title or "MFCC")
    return fig


def log_mel_figure(mel, *, sample_rate: float, hop_length: int, patch_frames: int | None = None,
                   title: str | None = None) -> Figure:
    """A log-mel spectrogram as a network reads it, with its patches marked.

    Parameters
    ----------
    mel : np.ndarray [shape=(frames, n_mels)]
        Time-major (musicnn's input: ``genre.data.musicnn.log_mel``).
    sample_rate : float > 0
    hop_length : int > 0
    patch_frames : int > 0, optional
        Frames per patch the network reads: a dashed line where each ends.
    """
    mel = _array(mel, "mel", ndim=2)
    _positive(sample_rate, "sample_rate")
    _positive(hop_length, "hop_length", integer=True)
    frames, bands = mel.shape
    seconds = hop_length / sample_rate
    fig, (ax,) = _figure((8, 3))
    image = ax.imshow(mel.T, origin="lower", aspect="auto", cmap="magma", interpolation="nearest",
                      extent=(0, frames * seconds, -0.5, bands - 0.5))
    if patch_frames:
        for end in range(patch_frames, frames + 1, patch_frames):
            ax.axvline(end * seconds, color="white", linestyle="--", linewidth=1)
    fig.colorbar(image, ax=ax, label="log10(1 + 10000·power)")
    ax.set_xlabel("Time (s)")
    ax.set_ylabel("Mel band")
    ax.set_title(title or "Log-mel spectrogram")
    return fig


def embedding_figure(rows, *, segment_seconds: float, title: str | None = None) -> Figure:
    """A track's embeddings, one column per segment.

    Parameters
    ----------
    rows : np.ndarray [shape=(segments, size)]
    segment_seconds : float > 0
        Each segment's length (the x axis is time).
    """
    rows = _array(rows, "rows", ndim=2)
    _positive(segment_seconds, "segment_seconds")
    n, size = rows.shape
    fig, (ax,) = _figure((8, 3))
    image = ax.imshow(rows.T, origin="lower", aspect="auto", cmap="viridis", interpolation="nearest",
                      extent=(0, n * segment_seconds, -0.5, size - 0.5))
    fig.colorbar(image, ax=ax, label="Value")
    ax.set_xlabel("Time (s, one column per segment)")
    ax.set_ylabel("Embedding value")
    ax.set_title(title or "Embeddings")
    return fig


# ---------------------------------------------------------------- training

def history_figure(history) -> Figure:
    """Accuracy and loss per epoch, training and validation.

    Parameters
    ----------
    history : dict[str, list[float]]
        Keras ``History.history``; keys among "accuracy", "val_accuracy", "loss",
        "val_loss" are drawn, others ignored. Any may be missing or empty.

    Returns
    -------
    Figure
        Two axes (accuracy, loss) against 1-based epoch, one line per non-empty curve;
        an axes with no curve says "no data yet".
    """
    curves = _curves(history)
    fig, axes = _figure((8, 3), ncols=2)
    for ax, metric in zip(axes, ("accuracy", "loss")):
        for key, label, style in ((metric, "train", "-"), (f"val_{metric}", "validation", "--")):
            if key in curves:
                _plot_curve(ax, curves[key], label=label, linestyle=style)
        ax.set_title(metric.capitalize())
        _finish_metric_axes(ax, metric)
    return fig


def curves_overlay_figure(runs) -> Figure:
    """Validation accuracy and loss of several training runs, one line per run.

    Parameters
    ----------
    runs : dict[str, dict[str, list[float]]]
        Run name -> Keras ``History.history``. A run without validation curves is drawn
        from its training curves, labelled "(train)".

    Returns
    -------
    Figure
        Two axes (accuracy, loss) against 1-based epoch, with a legend of run names.
    """
    if not isinstance(runs, Mapping):
        raise ParameterError(f"runs must be a dict of run name -> history, got {type(runs).__name__}")
    histories = {name: _curves(history, f"runs[{name!r}]") for name, history in runs.items()}
    fig, axes = _figure((8, 3), ncols=2)
    for ax, metric in zip(axes, ("accuracy", "loss")):
        for color, (name, curves) in enumerate(histories.items()):
            if f"val_{metric}" in curves:
                _plot_curve(ax, curves[f"val_{metric}"], label=str(name), color=f"C{color % 10}")
            elif metric in curves:
                _plot_curve(ax, curves[metric], label=f"{name} (train)", color=f"C{color % 10}",
                            linestyle=":")
        ax.set_title(f"Validation {metric}")
        _finish_metric_axes(ax, metric)
        if ax.get_legend() is not None:
            ax.get_legend().remove()
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:  # one legend under both axes, so it never covers a curve
        fig.legend(handles, labels, loc="outside lower center", ncols=min(len(handles), 3), fontsize="small")
    return fig


def confusion_figure(confusion, *, genres, normalize: bool = True,
                     title: str | None = None) -> Figure:
    """Confusion matrix as an annotated heatmap.

    Parameters
    ----------
    confusion : np.ndarray [shape=(n, n)]
        Non-negative counts; rows are true genres, columns predicted genres.
    genres : sequence of str [length n]
        Genre names in the matrix's order.
    normalize : bool
        Colour by the fraction of each true genre (row) and annotate it under the count;
        a row with no examples counts as all zeros. Otherwise colour by raw counts.
    title : str, optional
        Defaults to "Confusion matrix".

    Returns
    -------
    Figure
        One axes with ``n * n`` cell annotations, and a colorbar.
    """
    counts = _array(confusion, "confusion", ndim=2)
    if counts.shape[0] != counts.shape[1]:
        raise ParameterError(f"confusion must be square (n, n), got shape {counts.shape}")
    if counts.min() < 0:
        raise ParameterError("confusion must hold non-negative counts")
    n = counts.shape[0]
    names = _genres(genres, n, "confusion")
    totals = counts.sum(axis=1, keepdims=True)
    fractions = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    shown = fractions if normalize else counts
    vmax = 1.0 if normalize else max(counts.max(), 1.0)

    side = min(max(0.45 * n + 2.0, 3.5), 10.0)
    fig, (ax,) = _figure((side + 1.0, side))
    image = ax.imshow(shown, cmap="Blues", vmin=0, vmax=vmax, interpolation="nearest")
    fig.colorbar(image, ax=ax, label="Fraction of true genre" if normalize else "Count",
                 shrink=0.8)
    integral = np.array_equal(counts, np.round(counts))
    count_format = "{:.0f}" if integral else "{:.3g}"
    fontsize = 9 if n <= 6 else 8 if n <= 12 else 7
    many = n > 10  # past ten genres a cell holds its count only (the colour gives the fraction), zeros left blank
    for i in range(n):
        for j in range(n):
            if many and counts[i, j] == 0:
                continue
            text = count_format.format(counts[i, j]) + (f"\n{fractions[i, j]:.0%}" if normalize and not many else "")
            dark = shown[i, j] > 0.6 * vmax
            ax.text(j, i, text, ha="center", va="center", fontsize=fontsize,
                    color="white" if dark else "black")
    ax.set_xticks(range(n), names, rotation=45, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(n), names)
    ax.set_xlabel("Predicted genre")
    ax.set_ylabel("True genre")
    ax.set_title(title or "Confusion matrix")
    return fig


# ---------------------------------------------------------------- prediction

def probabilities_figure(probabilities, *, title: str | None = None) -> Figure:
    """Genre probabilities as horizontal bars, most likely on top and highlighted.

    Parameters
    ----------
    probabilities : dict[str, float]
        Genre -> probability in [0, 1].
    title : str, optional
        Defaults to "Genre probabilities".

    Returns
    -------
    Figure
        One axes with one bar per genre (x from 0 to 1), each annotated as a percentage.
    """
    if not isinstance(probabilities, Mapping) or not probabilities:
        raise ParameterError("probabilities must be a non-empty dict of genre -> probability")
    ranked = sorted(probabilities.items(), key=lambda item: item[1], reverse=True)
    names = [str(name) for name, _ in ranked]
    values = _array([value for _, value in ranked], "probabilities", ndim=1)
    _probabilities(values, "probabilities")

    fig, (ax,) = _figure((6, min(max(0.3 * len(names) + 1.0, 2.0), 8.0)))
    colors = [HIGHLIGHT] + [MUTED] * (len(names) - 1)
    bars = ax.barh(range(len(names)), values, color=colors)
    for bar, value in zip(bars, values):
        inside = value > 0.85  # keep the label within x <= 1
        ax.text(value - 0.01 if inside else value + 0.01, bar.get_y() + bar.get_height() / 2,
                f"{value:.0%}", va="center", ha="right" if inside else "left",
                color="white" if inside else "black", fontsize="small")
    ax.set_yticks(range(len(names)), names)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("Probability")
    ax.set_title(title or "Genre probabilities")
    return fig


def segment_votes_figure(segment_probabilities, *, genres, segment_seconds: float,
                         title: str | None = None) -> Figure:
    """Each segment's genre probabilities over time, with its vote marked.

    Parameters
    ----------
    segment_probabilities : np.ndarray [shape=(n_segments, n_genres)]
        Probabilities in [0, 1] for consecutive segments of a clip.
    genres : sequence of str [length n_genres]
        Genre names in column order.
    segment_seconds : float > 0
        Length of a segment; segment ``i`` spans ``[i, i + 1) * segment_seconds``.
    title : str, optional
        Defaults to "Segment probabilities".

    Returns
    -------
    Figure
        One axes: a heatmap (time in s on x, genre on y) with a ring on each segment's
        argmax, and a colorbar.
    """
    probs = _array(segment_probabilities, "segment_probabilities", ndim=2)
    _probabilities(probs, "segment_probabilities")
    _positive(segment_seconds, "segment_seconds")
    n_segments, n_genres = probs.shape
    names = _genres(genres, n_genres, "segment_probabilities (columns)")

    fig, (ax,) = _figure((8, min(max(0.28 * n_genres + 1.4, 2.5), 8.0)))
    edges = np.arange(n_segments + 1) * segment_seconds
    mesh = ax.pcolormesh(edges, np.arange(n_genres + 1) - 0.5, probs.T, cmap="Blues",
                         vmin=0, vmax=1, edgecolors="white", linewidth=0.5)
    fig.colorbar(mesh, ax=ax, label="Probability")
    ax.scatter(edges[:-1] + segment_seconds / 2, probs.argmax(axis=1), s=60, marker="o",
               facecolors="none", edgecolors=HIGHLIGHT, linewidths=2)
    if n_segments <= 15:  # label every segment boundary while they stay legible
        ax.set_xticks(edges)
    ax.set_yticks(range(n_genres), names)
    ax.set_ylim(n_genres - 0.5, -0.5)
    ax.set_xlabel("Time (s); ring = the segment's vote")
    ax.set_ylabel("Genre")
    ax.set_title(title or "Segment probabilities")
    return fig


def curves_rows(history, metric: str) -> list[dict]:
    """``metric`` and ``val_<metric>`` per epoch as long rows (epoch, value, split), epoch by epoch.

    Epoch by epoch, so the rows of a later call extend those of an earlier one: a live chart fed
    these rows receives each epoch as an append (Vega inserts them) instead of a new dataset.
    """
    curves = _curves(history)
    train, val = curves.get(metric, np.zeros(0)), curves.get(f"val_{metric}", np.zeros(0))
    rows = []
    for i in range(max(len(train), len(val))):
        for values, label in ((train, "train"), (val, "validation")):
            if i < len(values) and np.isfinite(values[i]):
                rows.append({"epoch": i + 1, "value": float(values[i]), "split": label})
    return rows


def curves_spec(metric: str, *, points: bool = True, height: int = 260) -> dict:
    """A Vega-Lite spec (a plain dict, no data) drawing :func:`curves_rows` of ``metric``.

    For live views: it needs no Altair, and it stays the same from one redraw to the next, so the
    browser keeps its chart and only takes in the new rows (``st.vega_lite_chart(rows, spec)``).
    """
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "height": height, "width": "container",
        "mark": {"type": "line", "point": points},
        "encoding": {
            "x": {"field": "epoch", "type": "quantitative", "axis": {"tickMinStep": 1, "format": "d"}},
            "y": {"field": "value", "type": "quantitative", "title": metric, "scale": {"zero": False}},
            "color": {"field": "split", "type": "nominal", "title": None,
                      "scale": {"domain": ["train", "validation"], "range": ["#6d28d9", "#f59e0b"]}},
        },
    }


# ---------------------------------------------------------------- experiments

def _summary(summary, *names: str) -> list[dict]:
    """An experiment's summary rows (genre.jobs.experiment.summarize), checked to have ``names`` in their settings."""
    if isinstance(summary, Mapping) or not isinstance(summary, (list, tuple)) or not summary:
        raise ParameterError("summary must be a non-empty list of genre.jobs.experiment.summarize rows")
    for row in summary:
        if not isinstance(row, Mapping) or not isinstance(row.get("settings"), Mapping):
            raise ParameterError("every summary row must be a dict with a 'settings' dict")
        for name in names:
            if name not in row["settings"]:
                raise ParameterError(f"{name!r} is not a setting of every summary row "
                                     f"(settings: {', '.join(row['settings']) or 'none'})")
        for key in ("track_accuracy_mean", "track_accuracy_std"):
            if not isinstance(row.get(key), (int, float)):
                raise ParameterError(f"every summary row needs a number {key!r}")
    return list(summary)


def setting_label(value) -> str:
    """A setting's value as the CLI writes it: ``512-256-64`` for layers, ``0.0001`` for floats."""
    if isinstance(value, (list, tuple)):
        return "-".join(map(str, value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def _ordered(values) -> list:
    """Distinct values, in numeric order when they are all numbers, else in order of appearance."""
    seen = {}
    for v in values:
        seen.setdefault(setting_label(v), v)
    distinct = list(seen.values())
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in distinct):
        return sorted(distinct)
    return distinct


def sweep_figure(summary, setting: str, *, title: str | None = None) -> Figure:
    """Mean ± std accuracy of an experiment's grid points against the values of one setting.

    Parameters
    ----------
    summary : list of dict
        ``genre.jobs.experiment.summarize`` rows: ``settings`` and ``track_accuracy_mean``/``_std``, and
        ``segment_accuracy_mean``/``_std``; with ``gap_mean``/``gap_std`` (``genre.jobs.experiment.gaps``)
        a third axes shows the train - validation gap.
    setting : str
        A key of every row's ``settings``.
    title : str, optional
        Defaults to the setting's name.

    Returns
    -------
    Figure
        Two or three axes (track accuracy, segment accuracy, gap) with the setting's values as
        evenly spaced categories on x (numeric order for numbers); one line with ± std error bars
        per combination of the other settings that take several values, named in a legend below.
    """
    rows = _summary(summary, setting)
    xs = _ordered(r["settings"][setting] for r in rows)
    position = {setting_label(v): i for i, v in enumerate(xs)}
    # Lines by the other settings that take several values here (one-value settings distinguish nothing).
    others = [k for k in rows[0]["settings"] if k != setting
              and len({setting_label(r["settings"].get(k)) for r in rows}) > 1]
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(", ".join(f"{k}={setting_label(r['settings'].get(k))}" for k in others), []).append(r)
    panels = [("track_accuracy", "Track accuracy"), ("segment_accuracy", "Segment accuracy")]
    if any(r.get("gap_mean") is not None for r in rows):
        panels.append(("gap", "Train − validation gap"))
    fig, axes = _figure((3.6 * len(panels), 3.0 + 0.25 * (len(groups) > 1) * min(len(groups), 8)), ncols=len(panels))
    spread = 0.25 if len(groups) > 1 else 0.0  # side by side, so error bars do not hide each other
    # Values with an order (numbers) are joined by lines; names (kind=dense,cnn) are points only.
    ordered = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in xs)
    for ax, (metric, label) in zip(axes, panels):
        for g, (name, members) in enumerate(groups.items()):
            members = [m for m in members if m.get(f"{metric}_mean") is not None]
            members.sort(key=lambda m: position[setting_label(m["settings"][setting])])
            shift = (g / max(len(groups) - 1, 1) - 0.5) * spread
            ax.errorbar([position[setting_label(m["settings"][setting])] + shift for m in members],
                        [m[f"{metric}_mean"] for m in members], yerr=[m.get(f"{metric}_std") or 0.0 for m in members],
                        marker="o", capsize=4, color=f"C{g % 10}", label=name or None,
                        linestyle="-" if ordered else "none")
        ax.set_xticks(range(len(xs)), [setting_label(v) for v in xs])
        ax.set_xlim(-0.5, len(xs) - 0.5)
        ax.set_xlabel(setting)
        ax.set_ylabel(f"{label} (mean ± std)")
        ax.grid(alpha=0.3)
        if metric == "gap":
            ax.axhline(0, color="grey", linewidth=0.8)
    if len(groups) > 1:
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=min(len(groups), 3), fontsize="small")
    fig.suptitle(title or setting)
    return fig


def heatmap_figure(summary, x: str, y: str, *, title: str | None = None) -> Figure:
    """Mean track accuracy over two settings of an experiment, as an annotated heatmap.

    Parameters
    ----------
    summary : list of dict
        ``genre.jobs.experiment.summarize`` rows; ``x`` and ``y`` keys of every row's ``settings``.
    x, y : str
        The settings on the columns and rows.
    title : str, optional
        Defaults to "Mean track accuracy".

    Returns
    -------
    Figure
        One axes of ``len(values of y) × len(values of x)`` cells and a colorbar. A cell holding one
        grid point is annotated ``mean ± std``; several (other settings varied too) are averaged and
        annotated with the mean only; a combination never trained is left blank.
    """
    if x == y:
        raise ParameterError(f"x and y must be two different settings, got {x!r} twice")
    rows = _summary(summary, x, y)
    xs, ys = _ordered(r["settings"][x] for r in rows), _ordered(r["settings"][y] for r in rows)
    col = {setting_label(v): i for i, v in enumerate(xs)}
    line = {setting_label(v): i for i, v in enumerate(ys)}
    cells: dict[tuple[int, int], list[dict]] = {}
    for r in rows:
        cells.setdefault((line[setting_label(r["settings"][y])], col[setting_label(r["settings"][x])]), []).append(r)
    means = np.full((len(ys), len(xs)), np.nan)
    for (i, j), members in cells.items():
        means[i, j] = np.mean([m["track_accuracy_mean"] for m in members])
    fig, (ax,) = _figure((max(4.0, 1.1 * len(xs) + 2.0), max(3.0, 0.6 * len(ys) + 1.6)))
    low, high = np.nanmin(means), np.nanmax(means)
    image = ax.imshow(np.ma.masked_invalid(means), cmap="viridis", vmin=low, vmax=high if high > low else low + 1e-9,
                      aspect="auto", interpolation="nearest")
    fig.colorbar(image, ax=ax, label="Mean track accuracy")
    for (i, j), members in cells.items():
        text = (f"{members[0]['track_accuracy_mean']:.3f}\n± {members[0]['track_accuracy_std']:.3f}"
                if len(members) == 1 else f"{means[i, j]:.3f}")
        dark = means[i, j] < low + 0.5 * (high - low) if high > low else True
        ax.text(j, i, text, ha="center", va="center", fontsize=8, color="white" if dark else "black")
    ax.set_xticks(range(len(xs)), [setting_label(v) for v in xs])
    ax.set_yticks(range(len(ys)), [setting_label(v) for v in ys])
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    averaged = any(len(m) > 1 for m in cells.values())
    ax.set_title(title or ("Mean track accuracy" + (" (averaged over the other settings)" if averaged else "")))
    return fig
