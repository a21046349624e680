"""Tests for genre.learn.predict: clips of any length cut into trained-length segments; dataset evaluation."""

import io
import shutil

import numpy as np
import pytest
from conftest import GENRE_SIGNALS, make_dataset, make_wav, signal, write_audio

from genre.data.features import notebook_segment_mfccs
from genre.errors import AudioError, ClipTooShortError, DatasetError
from genre.learn.predict import evaluate_dataset, predict_file, predict_signal


@pytest.mark.parametrize("seconds, n_segments", [(1.0, 1), (2.5, 2), (3.0, 3), (7.5, 3), (31.0, 3)])
def test_a_clip_is_cut_as_the_models_tracks_were(bundle, seconds, n_segments):
    """The tiny model learned from the first 3 s in 3 segments: a longer clip gives those 3, a shorter one what it has."""
    p = bundle.params
    assert (p.excerpt, p.duration, p.num_segments) == ("start", 3.0, 3)
    y = signal("chirp", seconds, p.sample_rate, freq=200, rng=np.random.default_rng(1))
    pred = predict_signal(bundle, y, name="c")
    assert pred.n_segments == n_segments
    assert pred.segment_seconds == pytest.approx(1.0)
    assert pred.duration == pytest.approx(seconds)
    one = p.replace(duration=p.segment_samples / p.sample_rate, num_segments=1)
    for k in sorted({0, n_segments // 2, n_segments - 1}):
        rows, _ = notebook_segment_mfccs(y[k * p.segment_samples:(k + 1) * p.segment_samples], params=one)
        expected = bundle.model.predict(rows, verbose=0)[0]
        np.testing.assert_allclose(pred.segment_probabilities[k], expected, atol=1e-4)
    assert ("from the first 3 s of the 31 s clip" in pred.used) == (seconds == 31.0)


@pytest.mark.parametrize("excerpt, max_segments, seconds, n_segments, used", [
    ("middle", 30, 300.0, 3, "3 segments of 1.00 s from the middle 3 s of the 300 s clip"),
    ("whole", 8, 300.0, 8, "8 segments of 1.00 s spread over the whole 300 s (at most 8"),
    ("whole", 8, 5.0, 5, "5 segments of 1.00 s spread over the whole 5 s"),
    ("start", 30, 2.0, 2, "2 segments of 1.00 s: all of the 2.0 s clip (the model was trained on 3 s)"),
])
def test_a_long_upload_uses_the_models_own_excerpt_rule_and_says_so(bundle, excerpt, max_segments, seconds, n_segments,
                                                                   used):
    """A 5-minute song: the segments a model of each excerpt rule learned from, not every 1 s of it (300)."""
    import dataclasses

    model = dataclasses.replace(bundle, params=bundle.params.replace(excerpt=excerpt, max_segments=max_segments))
    y = signal("chirp", seconds, model.params.sample_rate, freq=200, rng=np.random.default_rng(2))
    pred = predict_signal(model, y, name="song")
    assert pred.n_segments == n_segments and used in pred.used and pred.row()["part used"] == pred.used
    if excerpt == "middle":  # the middle 3 s: segment 0 starts at (300 - 3) / 2 s
        p, start = model.params, (len(y) - model.params.samples_per_track) // 2
        one = p.replace(duration=p.segment_samples / p.sample_rate, num_segments=1)
        rows, _ = notebook_segment_mfccs(y[start:start + p.segment_samples], params=one)
        np.testing.assert_allclose(pred.segment_probabilities[0], model.model.predict(rows, verbose=0)[0], atol=1e-4)


@pytest.mark.parametrize("excerpt, trained_segments, max_segments, seconds, n_segments", [
    ("middle", 5, 30, 300.0, 5),  # a 5-minute song, a model of 5 segments from the middle: those 5
    ("whole", 5, 8, 300.0, 8),  # at most max_segments, spread over the song
    ("start", 10, 30, 3.0, 3),  # a clip shorter than the excerpt (10 s in 10 segments) gives the 3 it has
])
def test_the_number_of_segments_follows_the_models_excerpt_not_the_clips_length(bundle, excerpt, trained_segments,
                                                                              max_segments, seconds, n_segments):
    """The tiny model's 1 s segments, trained as ``trained_segments`` of them: each segment is the one training saw."""
    import dataclasses

    params = bundle.params.replace(excerpt=excerpt, duration=float(trained_segments), num_segments=trained_segments,
                                   max_segments=max_segments)
    assert params.segment_samples == bundle.params.segment_samples  # the network's input is unchanged
    model = dataclasses.replace(bundle, params=params)
    y = signal("chirp", seconds, params.sample_rate, freq=200, rng=np.random.default_rng(3))
    pred = predict_signal(model, y, name="song")
    assert pred.n_segments == n_segments
    seg = params.segment_samples
    if excerpt == "middle":
        starts = [(len(y) - params.samples_per_track) // 2 + k * seg for k in range(n_segments)]
    elif excerpt == "whole":
        starts = [int(round(i)) * seg for i in np.linspace(0, len(y) // seg - 1, n_segments)]
    else:
        starts = [k * seg for k in range(n_segments)]
    one = params.replace(duration=seg / params.sample_rate, num_segments=1)
    rows = np.concatenate([notebook_segment_mfccs(y[s:s + seg], params=one)[0] for s in starts])
    np.testing.assert_allclose(pred.segment_probabilities, model.model.predict(rows, verbose=0), atol=1e-4)


def test_probabilities_sum_to_one_and_the_genre_is_the_mean_argmax(bundle):
    sr = bundle.params.sample_rate
    parts = [signal("sine", 1.0, sr, freq=220), signal("square", 1.0, sr, freq=660),
             signal("noise", 1.0, sr)]  # segments that disagree
    pred = predict_signal(bundle, np.concatenate(parts))
    assert pred.n_segments == 3
    assert set(pred.probabilities) == set(bundle.genres)
    assert sum(pred.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(pred.segment_probabilities.sum(axis=1), 1.0, atol=1e-5)
    mean = pred.segment_probabilities.mean(axis=0)
    np.testing.assert_allclose([pred.probabilities[g] for g in bundle.genres], mean, atol=1e-6)
    assert pred.genre == bundle.genres[int(mean.argmax())]
    assert len(pred.segment_votes(bundle.genres)) == 3


@pytest.mark.parametrize("seconds", [0.0, 0.1, 0.5, 0.999])
def test_a_clip_shorter_than_one_segment_is_clip_too_short(bundle, tmp_path, seconds):
    path = write_audio(tmp_path / "short.wav", signal("sine", seconds, 8000), 8000)
    with pytest.raises(ClipTooShortError, match=r"needs at least 1\.00 s") as info:
        predict_file(bundle, path)
    assert "short.wav" in str(info.value)
    assert isinstance(info.value, AudioError)


def test_files_are_resampled_to_the_bundles_rate(bundle, tmp_path):
    path = make_wav(tmp_path / "hi-rate.flac", 2.0, 22050, "sine", freq=220)
    pred = predict_file(bundle, path)
    assert pred.n_segments == 2 and pred.name == "hi-rate.flac"
    assert pred.duration == pytest.approx(2.0)


@pytest.mark.parametrize("as_", ["path", "bytes", "file object"])
def test_predict_file_accepts_paths_bytes_and_file_objects(bundle, gtzan, as_):
    path = gtzan / "metal" / "metal.00001.wav"
    source = {"path": path, "bytes": path.read_bytes(), "file object": io.BytesIO(path.read_bytes())}[as_]
    pred = predict_file(bundle, source)
    reference = predict_file(bundle, path)
    np.testing.assert_allclose(pred.segment_probabilities, reference.segment_probabilities, atol=1e-6)
    assert pred.name == ("metal.00001.wav" if as_ == "path" else "upload")


@pytest.mark.parametrize("content", [b"", b"garbage" * 100])
def test_a_corrupt_clip_is_an_audio_error(bundle, tmp_path, content):
    path = tmp_path / "bad.mp3"
    path.write_bytes(content)
    with pytest.raises(AudioError, match="bad.mp3"):
        predict_file(bundle, path)


def test_evaluate_dataset_scores_every_track(bundle, gtzan):
    result = evaluate_dataset(bundle, gtzan)
    assert result["genres"] == list(bundle.genres)
    assert result["n_tracks"] == 12 and result["skipped"] == []
    assert np.array(result["confusion"]).shape == (3, 3) and np.sum(result["confusion"]) == 12
    assert 0 <= result["segment_accuracy"] <= 1 and 0 <= result["track_accuracy"] <= 1
    assert result["track_accuracy"] == pytest.approx(np.trace(result["confusion"]) / 12)
    assert set(result["per_genre"]) == set(bundle.genres)


def test_evaluate_dataset_reports_unreadable_files_and_uses_all_files(bundle, gtzan_copy):
    (gtzan_copy / "rock" / "rock.00002.wav").write_bytes(b"junk")
    for k in range(4, 7):
        shutil.copy(gtzan_copy / "blues" / "blues.00000.wav", gtzan_copy / "blues" / f"blues.{k:05d}.wav")
    result = evaluate_dataset(bundle, gtzan_copy)  # the bundle's files_per_genre does not limit evaluation
    assert result["skipped"] == ["rock/rock.00002.wav"]
    assert result["n_tracks"] == 14


def test_evaluate_dataset_with_a_subset_of_the_models_genres_keeps_its_label_order(bundle, tmp_path):
    root = make_dataset(tmp_path / "data", clips=2)
    shutil.rmtree(root / "blues")
    result = evaluate_dataset(bundle, root)
    assert result["genres"] == ["blues", "metal", "rock"]
    assert result["n_tracks"] == 4
    assert result["confusion"][0] == [0, 0, 0]  # no blues tracks
    assert sum(result["confusion"][1]) == 2 and sum(result["confusion"][2]) == 2


def test_an_unknown_genre_folder_is_a_dataset_error(bundle, gtzan_copy):
    make_wav(gtzan_copy / "polka" / "p.wav", 3.0, 8000)
    with pytest.raises(DatasetError, match="polka"):
        evaluate_dataset(bundle, gtzan_copy)


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_evaluating_a_missing_folder_is_a_dataset_error(bundle, tmp_path, kind):
    root = tmp_path / "x"
    if kind == "file":
        root.write_text("x")
    with pytest.raises(DatasetError):
        evaluate_dataset(bundle, root)


def test_the_tiny_model_tells_the_tiny_genres_apart(bundle, tmp_path):
    # Guards the fixtures: if the model learnt nothing, the tests above would test very little.
    root = make_dataset(tmp_path / "fresh", clips=3, seed=99)
    result = evaluate_dataset(bundle, root)
    assert result["track_accuracy"] > 1 / 3, result  # a constant guess scores exactly 1/3
    assert set(GENRE_SIGNALS) == set(bundle.genres)


def test_an_upload_is_decoded_under_its_name(bundle, tmp_path):
    from test_audio import tagged_mp3

    data = tagged_mp3(tmp_path / "song.mp3", seconds=2.0, sr=8000).read_bytes()
    pred = predict_file(bundle, data, name="song.mp3")
    assert pred.name == "song.mp3" and pred.n_segments >= 1
    with pytest.raises(AudioError, match="junk.mp3"):
        predict_file(bundle, b"not audio" * 100, name="junk.mp3")


@pytest.mark.parametrize("top, second, says", [
    (0.40, 0.30, "the top probability is only 40% (ambient is close behind at 30%)"),
    (0.27, 0.14, "the top probability is only 27%; next is ambient at 14%"),  # 14 of 27 is not close behind
    (0.45, 0.10, "the top probability is only 45%; next is ambient at 10%"),
])
def test_a_weak_prediction_calls_the_runner_up_close_only_when_it_is(top, second, says):
    from genre.learn.predict import Prediction

    others = [f"g{i}" for i in range(8)]  # each below the runner-up
    probs = {"ambient": second, **{g: (1 - top - second) / len(others) for g in others}, "rock": top}
    pred = Prediction(name="x", genre="rock", probabilities=probs, segment_probabilities=np.array([[*probs.values()]]),
                      segment_seconds=2.0, duration=2.0)
    assert pred.doubts()[0] == says
