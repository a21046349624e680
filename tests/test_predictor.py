"""Tests for genre.jobs.predictor: predictions in a worker process, so the asking process never imports TensorFlow."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
from conftest import until

from genre.errors import AudioError, BundleError, ClipTooShortError
from genre.jobs.predictor import Predictor


@pytest.fixture(scope="module")
def predictor():
    """One worker for the module (each start imports TensorFlow: seconds)."""
    p = Predictor()
    yield p
    p.close()


def test_the_worker_predicts_what_predict_file_does(predictor, bundle, bundle_dir, gtzan):
    from genre.learn.predict import predict_file

    data = (gtzan / "metal" / "metal.00001.wav").read_bytes()
    here, there = predict_file(bundle, data, name="m.wav"), predictor.predict(bundle_dir, data, name="m.wav")
    assert there.genre == here.genre and there.name == "m.wav" and there.used == here.used
    np.testing.assert_allclose(there.segment_probabilities, here.segment_probabilities, atol=1e-6)


@pytest.mark.parametrize("data, error, message", [
    (b"not audio" * 100, AudioError, "x.wav is not an audio file"),
    (b"", AudioError, "x.wav is empty"),
])
def test_the_workers_errors_arrive_as_the_same_errors(predictor, bundle_dir, data, error, message):
    with pytest.raises(error, match=message):
        predictor.predict(bundle_dir, data, name="x.wav")
    assert predictor.pid is not None  # a bad clip does not end the worker


def test_a_clip_too_short_is_clip_too_short(predictor, bundle_dir, tmp_path):
    from conftest import make_wav

    data = make_wav(tmp_path / "s.wav", 0.3, 8000).read_bytes()
    with pytest.raises(ClipTooShortError):
        predictor.predict(bundle_dir, data, name="s.wav")


def test_a_bundle_that_does_not_load_is_a_bundle_error(predictor, tmp_path):
    with pytest.raises(BundleError):
        predictor.check_bundle(tmp_path)


def test_a_killed_worker_is_replaced_and_the_request_still_answered(predictor, bundle_dir, gtzan):
    data = (gtzan / "rock" / "rock.00001.wav").read_bytes()
    predictor.predict(bundle_dir, data, name="a.wav")
    first = predictor.pid
    os.kill(first, signal.SIGKILL)
    until(lambda: predictor._proc.poll() is not None, "the worker to die")
    assert predictor.predict(bundle_dir, data, name="a.wav").genre
    assert predictor.pid not in (None, first)


def test_an_idle_worker_ends_itself_and_the_next_request_starts_another(bundle_dir, gtzan):
    predictor = Predictor(idle_exit_s=0.5)
    try:
        data = (gtzan / "rock" / "rock.00001.wav").read_bytes()
        predictor.predict(bundle_dir, data, name="a.wav")
        until(lambda: predictor.pid is None, "the idle worker to end", timeout=30)  # its memory given back
        assert predictor.predict(bundle_dir, data, name="a.wav").genre
    finally:
        predictor.close()


def test_the_asking_process_never_imports_tensorflow(bundle_dir, gtzan):
    code = ("import sys; from genre.jobs.predictor import Predictor; p = Predictor(); "
            f"print(p.predict({str(bundle_dir)!r}, open({str(gtzan / 'rock' / 'rock.00001.wav')!r}, 'rb').read(), "
            "name='a.wav').genre); p.close(); "
            "assert not [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'jax')], 'imported'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() in ("blues", "metal", "rock")


def test_the_worker_says_what_the_pretrained_network_hears(predictor, tmp_path):
    """musicnn's tags for a clip: its top five, and the top tag of each 3 s patch."""
    from genre.data import musicnn
    from tests.musicnn_reference import audio

    y, sr = audio(seconds=7.0)
    path = tmp_path / "clip.wav"
    sf.write(path, y, sr)
    heard = predictor.hear(path.read_bytes(), name="clip.wav")
    assert len(heard["top"]) == 5 and all(tag in musicnn.TAGS and 0 <= p <= 1 for tag, p in heard["top"])
    assert [t for t, *_ in heard["over_time"]] == [0.0, 3.0]
    sf.write(path, y[: sr * 2], sr)
    with pytest.raises(ClipTooShortError, match="3 s the pretrained network listens to"):
        predictor.hear(path.read_bytes(), name="short.wav")
