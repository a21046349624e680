"""Tests for genre.plots: each figure builds, has the expected artists, renders, and rejects bad shapes."""

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure

from genre import plots
from genre.errors import ParameterError

REPO = Path(__file__).resolve().parents[1]
SR = 22050
GENRES = ["blues", "classical", "jazz", "metal"]
FULL_HISTORY = {
    "accuracy": [0.3, 0.5, 0.6], "val_accuracy": [0.25, 0.4, 0.45],
    "loss": [2.0, 1.4, 1.1], "val_loss": [2.1, 1.7, 1.6],
}


@pytest.fixture(autouse=True)
def _agg_backend(monkeypatch):
    # Figure needs no backend, but keep anything that asks for one headless.
    monkeypatch.setenv("MPLBACKEND", "Agg")


def _tone(seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=50)
    return buf.getvalue()


def _main_axes(fig: Figure):
    """Axes that are not colorbars."""
    return [ax for ax in fig.axes if not hasattr(ax, "_colorbar")]


# ---------------------------------------------------------------- import cost

def test_import_does_not_load_librosa_or_pyplot():
    code = ("import genre.plots, sys; "
            "assert 'librosa' not in sys.modules, 'librosa imported'; "
            "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'")
    env = {**os.environ, "PYTHONPATH": str(REPO), "MPLBACKEND": "Agg"}
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


# ---------------------------------------------------------------- audio and features

@pytest.mark.parametrize("seconds", [0.01, 3.0])  # line vs min/max envelope
def test_waveform_spans_the_clip_in_seconds(seconds):
    y = _tone(seconds)
    fig = plots.waveform_figure(y, sample_rate=SR, title="clip")
    (ax,) = fig.axes
    assert ax.get_xlim() == pytest.approx((0, len(y) / SR))
    assert "(s)" in ax.get_xlabel()
    assert ax.get_title() == "clip"
    assert ax.lines or ax.collections
    assert _png(fig)


def test_waveform_envelope_is_downsampled():
    fig = plots.waveform_figure(_tone(3.0), sample_rate=SR)
    (ax,) = fig.axes
    assert not ax.lines
    (envelope,) = ax.collections
    assert len(envelope.get_paths()[0].vertices) < 3 * plots.ENVELOPE_POINTS


def test_melspectrogram_has_colorbar_in_db():
    fig = plots.melspectrogram_figure(_tone(1.0), sample_rate=SR, n_mels=64)
    assert len(fig.axes) == 2  # image + colorbar
    colorbar = next(ax for ax in fig.axes if hasattr(ax, "_colorbar"))
    assert "dB" in colorbar.get_ylabel()
    assert "(s)" in _main_axes(fig)[0].get_xlabel()
    assert _png(fig)


def test_mfcc_is_time_major():
    frames, n_mfcc, hop = 130, 13, 512
    mfcc = np.random.default_rng(0).normal(size=(frames, n_mfcc))
    fig = plots.mfcc_figure(mfcc, sample_rate=SR, hop_length=hop)
    assert len(fig.axes) == 2
    (ax,) = _main_axes(fig)
    (image,) = ax.images
    assert image.get_array().shape == (n_mfcc, frames)
    assert ax.get_xlim() == pytest.approx((0, frames * hop / SR))
    assert _png(fig)


# ---------------------------------------------------------------- training

def test_history_draws_train_and_validation_per_metric():
    fig = plots.history_figure(FULL_HISTORY)
    assert len(fig.axes) == 2
    for ax in fig.axes:
        assert len(ax.lines) == 2
        assert ax.get_legend() is not None
        assert list(ax.lines[0].get_xdata()) == [1, 2, 3]  # epochs are 1-based
    assert _png(fig)


@pytest.mark.parametrize("history", [
    {}, {"accuracy": [], "val_accuracy": [], "loss": [], "val_loss": []}, {"lr": [0.1]},
])
def test_history_empty_says_no_data(history):
    fig = plots.history_figure(history)
    for ax in fig.axes:
        assert not ax.lines
        assert [t.get_text() for t in ax.texts] == ["no data yet"]
    assert _png(fig)


def test_history_partial_and_single_epoch():
    fig = plots.history_figure({"accuracy": [0.5], "loss": [1.2], "val_loss": [1.3]})
    acc, loss = fig.axes
    assert len(acc.lines) == 1 and len(loss.lines) == 2
    assert acc.lines[0].get_marker() == "o"  # one point must stay visible
    assert _png(fig)


def test_curves_overlay_one_line_per_run_with_train_fallback():
    runs = {"a": FULL_HISTORY, "b": {"accuracy": [0.2, 0.4], "loss": [1.5, 1.0]}, "c": {}}
    fig = plots.curves_overlay_figure(runs)
    for ax in fig.axes:
        labels = [line.get_label() for line in ax.lines]
        assert labels == ["a", "b (train)"]
    assert list(fig.axes[0].lines[0].get_ydata()) == FULL_HISTORY["val_accuracy"]
    assert _png(fig)


def test_curves_overlay_no_runs():
    fig = plots.curves_overlay_figure({})
    assert all(not ax.lines and ax.texts for ax in fig.axes)
    assert _png(fig)


@pytest.mark.parametrize("normalize", [True, False])
def test_confusion_annotates_every_cell(normalize):
    confusion = np.array([[5, 1, 0, 0], [0, 0, 0, 0], [2, 0, 3, 1], [0, 0, 1, 9]])
    fig = plots.confusion_figure(confusion, genres=GENRES, normalize=normalize, title="cm")
    (ax,) = _main_axes(fig)
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == 16
    assert [t.get_text() for t in ax.get_xticklabels()] == GENRES
    if normalize:
        assert texts[0] == "5\n83%"
        assert texts[4:8] == ["0\n0%"] * 4  # the empty true-genre row is safe
        assert ax.images[0].get_array().max() <= 1
    else:
        assert texts[0] == "5"
    assert _png(fig)


# ---------------------------------------------------------------- prediction

def test_probabilities_sorted_with_top_highlighted():
    probabilities = {"blues": 0.1, "jazz": 0.6, "metal": 0.25, "classical": 0.05}
    fig = plots.probabilities_figure(probabilities)
    (ax,) = fig.axes
    bars = ax.patches
    widths = [bar.get_width() for bar in bars]
    assert widths == sorted(widths, reverse=True)
    assert widths[0] == max(probabilities.values())
    assert [t.get_text() for t in ax.get_yticklabels()][0] == "jazz"
    assert bars[0].get_facecolor() != bars[1].get_facecolor()
    assert [t.get_text() for t in ax.texts] == ["60%", "25%", "10%", "5%"]
    assert ax.get_xlim() == (0, 1)
    assert _png(fig)


def test_probabilities_near_one_label_stays_inside_axes():
    fig = plots.probabilities_figure({"rock": 0.99, "pop": 0.01})
    assert fig.axes[0].texts[0].get_position()[0] < 1
    assert _png(fig)


@pytest.mark.parametrize("n_segments", [1, 5])
def test_segment_votes_marks_each_segments_argmax(n_segments):
    probs = np.random.default_rng(1).dirichlet(np.ones(len(GENRES)), size=n_segments)
    fig = plots.segment_votes_figure(probs, genres=GENRES, segment_seconds=3.0)
    assert len(fig.axes) == 2
    (ax,) = _main_axes(fig)
    mesh, votes = ax.collections
    offsets = votes.get_offsets()
    assert list(offsets[:, 0]) == pytest.approx(1.5 + 3.0 * np.arange(n_segments))
    assert list(offsets[:, 1]) == list(probs.argmax(axis=1))
    assert ax.get_xlim() == pytest.approx((0, 3.0 * n_segments))
    assert _png(fig)


# ---------------------------------------------------------------- bad input

BAD_CALLS = {
    "waveform 2-D": lambda: plots.waveform_figure(np.zeros((2, 10)), sample_rate=SR),
    "waveform empty": lambda: plots.waveform_figure(np.zeros(0), sample_rate=SR),
    "waveform nan": lambda: plots.waveform_figure(np.array([0.0, np.nan]), sample_rate=SR),
    "waveform rate 0": lambda: plots.waveform_figure(np.zeros(10), sample_rate=0),
    "mel 2-D": lambda: plots.melspectrogram_figure(np.zeros((2, 10)), sample_rate=SR),
    "mel n_fft 0": lambda: plots.melspectrogram_figure(np.zeros(4096), sample_rate=SR, n_fft=0),
    "mel hop float": lambda: plots.melspectrogram_figure(np.zeros(4096), sample_rate=SR,
                                                         hop_length=1.5),
    "mfcc 1-D": lambda: plots.mfcc_figure(np.zeros(13), sample_rate=SR, hop_length=512),
    "mfcc hop 0": lambda: plots.mfcc_figure(np.zeros((5, 13)), sample_rate=SR, hop_length=0),
    "history not dict": lambda: plots.history_figure([0.1, 0.2]),
    "history nested": lambda: plots.history_figure({"loss": [[1.0, 2.0]]}),
    "overlay not dict": lambda: plots.curves_overlay_figure([FULL_HISTORY]),
    "overlay run not dict": lambda: plots.curves_overlay_figure({"a": [0.1]}),
    "confusion not square": lambda: plots.confusion_figure(np.zeros((4, 3)), genres=GENRES),
    "confusion 1-D": lambda: plots.confusion_figure(np.zeros(4), genres=GENRES),
    "confusion genres": lambda: plots.confusion_figure(np.zeros((3, 3)), genres=GENRES),
    "confusion negative": lambda: plots.confusion_figure(-np.eye(4), genres=GENRES),
    "probabilities empty": lambda: plots.probabilities_figure({}),
    "probabilities > 1": lambda: plots.probabilities_figure({"rock": 1.5}),
    "probabilities not dict": lambda: plots.probabilities_figure([0.5, 0.5]),
    "segments 1-D": lambda: plots.segment_votes_figure(np.full(4, 0.25), genres=GENRES,
                                                       segment_seconds=3.0),
    "segments 3-D": lambda: plots.segment_votes_figure(np.full((1, 1, 4), 0.25), genres=GENRES,
                                                       segment_seconds=3.0),
    "segments none": lambda: plots.segment_votes_figure(np.zeros((0, 4)), genres=GENRES,
                                                        segment_seconds=3.0),
    "segments genres": lambda: plots.segment_votes_figure(np.full((2, 3), 0.3), genres=GENRES,
                                                          segment_seconds=3.0),
    "segments seconds": lambda: plots.segment_votes_figure(np.full((2, 4), 0.25), genres=GENRES,
                                                           segment_seconds=0),
}


@pytest.mark.parametrize("call", BAD_CALLS.values(), ids=BAD_CALLS.keys())
def test_bad_input_raises_parameter_error(call):
    with pytest.raises(ParameterError):
        call()


def test_a_confusion_matrix_of_many_genres_stays_readable():
    n = 14
    counts = np.eye(n, dtype=int) * 5
    counts[0, 3] = 2
    fig = plots.confusion_figure(counts, genres=[f"g{i}" for i in range(n)])
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert sorted(texts) == sorted(["5"] * n + ["2"])  # counts only, zeros left blank: 15 labels, not 196
    assert all(t.get_fontsize() >= 7 for t in fig.axes[0].texts)


def test_live_curve_rows_of_a_later_epoch_extend_the_earlier_rows():
    """Each redraw's rows start with the previous redraw's, so the browser receives an append."""
    history = {"accuracy": [0.2, 0.5, 0.7], "val_accuracy": [0.1, 0.4, float("nan")], "loss": [3.0, 2.0, 1.0]}
    earlier = plots.curves_rows({k: v[:2] for k, v in history.items()}, "accuracy")
    later = plots.curves_rows(history, "accuracy")
    assert later[:len(earlier)] == earlier
    assert later[-1] == {"epoch": 3, "value": 0.7, "split": "train"}  # a NaN is left out, not drawn as 0
    assert [r["split"] for r in earlier] == ["train", "validation", "train", "validation"]
    assert plots.curves_rows({}, "loss") == []


def test_the_live_curve_spec_carries_no_data_and_stays_the_same():
    spec = plots.curves_spec("loss")
    assert "data" not in spec and spec == plots.curves_spec("loss")
    assert spec["encoding"]["y"]["title"] == "loss"


# ---------------------------------------------------------------- experiments

def _point(settings, track, track_std, segment=0.5, segment_std=0.02, **extra):
    return {"settings": settings, "n": 3, "track_accuracy_mean": track, "track_accuracy_std": track_std,
            "segment_accuracy_mean": segment, "segment_accuracy_std": segment_std, **extra}


def test_a_sweep_draws_mean_and_std_against_the_settings_values_in_numeric_order():
    summary = [_point({"dropout": 0.5}, 0.8, 0.05), _point({"dropout": 0.0}, 0.6, 0.1)]  # best first, as summarize
    fig = plots.sweep_figure(summary, "dropout")
    track, segment = _main_axes(fig)
    assert [t.get_text() for t in track.get_xticklabels()] == ["0", "0.5"]
    (bars,) = track.containers
    line, _, (errors,) = bars
    assert list(line.get_ydata()) == [0.6, 0.8]  # the values' order, not the summary's
    spans = [np.ptp(seg[:, 1]) for seg in errors.get_segments()]
    assert spans == pytest.approx([0.2, 0.1])  # ± std
    assert not fig.legends  # nothing else varied
    assert _png(fig)


def test_a_sweep_draws_one_line_per_combination_of_the_other_settings_and_the_gap_when_given():
    summary = [_point({"n_mfcc": m, "hidden_units": h, "sample_rate": 8000}, 0.5 + m / 100, 0.02, gap_mean=0.1,
                      gap_std=0.01) for m in (13, 20) for h in ([64], [512, 256, 64])]
    fig = plots.sweep_figure(summary, "n_mfcc")
    track, segment, gap = _main_axes(fig)
    assert len(track.containers) == 2
    (legend,) = fig.legends  # named by what differs: sample_rate has one value, it names no line
    assert [t.get_text() for t in legend.get_texts()] == ["hidden_units=64", "hidden_units=512-256-64"]
    assert "gap" in gap.get_ylabel()
    assert _png(fig)


def test_a_heatmap_cell_per_pair_of_values_annotated_with_mean_and_std():
    summary = [_point({"n_mfcc": m, "dropout": d}, 0.5 + m / 100 - d / 10, 0.03) for m in (13, 20, 40) for d in (0.0, 0.5)]
    fig = plots.heatmap_figure(summary, "n_mfcc", "dropout")
    (ax,) = _main_axes(fig)
    assert ax.images[0].get_array().shape == (2, 3)
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == 6 and "0.630\n± 0.030" in texts  # n_mfcc=13, dropout=0
    assert [t.get_text() for t in ax.get_xticklabels()] == ["13", "20", "40"]
    assert _png(fig)


def test_a_heatmap_averages_over_a_third_setting_and_leaves_untrained_pairs_blank():
    summary = [_point({"a": 1, "b": 1, "c": 0}, 0.6, 0.1), _point({"a": 1, "b": 1, "c": 1}, 0.8, 0.1),
               _point({"a": 2, "b": 2, "c": 0}, 0.7, 0.1)]
    fig = plots.heatmap_figure(summary, "a", "b")
    (ax,) = _main_axes(fig)
    assert sorted(t.get_text() for t in ax.texts) == ["0.700", "0.700\n± 0.100"]
    assert "averaged" in ax.get_title()
    assert ax.images[0].get_array().mask.sum() == 2  # (a=1, b=2) and (a=2, b=1) never trained


@pytest.mark.parametrize("call", [
    lambda: plots.sweep_figure([], "dropout"),
    lambda: plots.sweep_figure({"settings": {}}, "dropout"),
    lambda: plots.sweep_figure([_point({"n_mfcc": 13}, 0.5, 0.1)], "dropout"),
    lambda: plots.sweep_figure([{"settings": {"dropout": 0.1}}], "dropout"),
    lambda: plots.heatmap_figure([_point({"a": 1, "b": 2}, 0.5, 0.1)], "a", "a"),
    lambda: plots.heatmap_figure([_point({"a": 1}, 0.5, 0.1)], "a", "b"),
], ids=["empty", "not a list", "unknown setting", "no means", "same setting twice", "second setting missing"])
def test_experiment_figures_reject_bad_summaries(call):
    with pytest.raises(ParameterError):
        call()


def test_the_overlay_legend_sits_under_the_axes_not_on_a_curve():
    fig = plots.curves_overlay_figure({"a": FULL_HISTORY, "b": FULL_HISTORY})
    assert all(ax.get_legend() is None for ax in fig.axes) and len(fig.legends) == 1
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["a", "b"]


def test_a_sweep_over_names_draws_points_not_lines_between_them():
    summary = [{"settings": {"kind": k}, "n": 3, "track_accuracy_mean": a, "track_accuracy_std": 0.1,
                "segment_accuracy_mean": a, "segment_accuracy_std": 0.1} for k, a in (("dense", 0.7), ("cnn", 0.8))]
    fig = plots.sweep_figure(summary, "kind")
    line = fig.axes[0].lines[0]
    assert line.get_linestyle() == "None" and list(line.get_xdata()) == [0, 1]
    numeric = plots.sweep_figure([{**r, "settings": {"l1": v}} for r, v in zip(summary, (0.0, 1e-4))], "l1")
    assert numeric.axes[0].lines[0].get_linestyle() == "-"


def test_twenty_genres_get_twenty_distinct_colours_the_same_on_every_call():
    genres = [f"genre-{i:02d}" for i in range(20)]
    colors = plots.genre_colors(reversed(genres))  # order given does not matter: the sorted index picks
    assert len(set(colors.values())) == 20
    assert colors == plots.genre_colors(genres)
    gtzan = ["blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock"]
    eleven = plots.genre_colors(gtzan + ["ballroom-waltz"])  # the user's 11 folders: waltz and rock were both blue
    assert len(set(eleven.values())) == 11


def test_past_twenty_genres_no_two_share_both_colour_and_marker():
    genres = [f"g{i:02d}" for i in range(45)]
    colors, markers = plots.genre_colors(genres), plots.genre_markers(genres)
    assert len({(colors[g], markers[g]) for g in genres}) == 45

