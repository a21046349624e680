"""Tests for genre.data.features: the batched MFCC path gives the notebook's per-segment librosa numbers."""

import numpy as np
import pytest
from conftest import SMALL_PARAMS, signal

from genre.data.features import kept_segments, notebook_segment_mfccs, segment_mfccs
from genre.data.params import FeatureParams
from genre.data.spectral import mel_filterbank

librosa = pytest.importorskip("librosa")

SR = SMALL_PARAMS["sample_rate"]
# MFCC values reach ~1000 (c0 of silence is -80 dB * sqrt(n_mels)); float32 rounding gives ~1e-4.
ATOL = 2e-3

PARAM_SETS = [
    dict(SMALL_PARAMS),
    dict(SMALL_PARAMS, n_fft=1024, hop_length=300),
    dict(SMALL_PARAMS, n_fft=256, hop_length=128, n_mfcc=20, num_segments=5),
    dict(SMALL_PARAMS, n_fft=2048, hop_length=512, n_mfcc=40, num_segments=2),
    dict(SMALL_PARAMS, n_fft=400, hop_length=160, num_segments=4, duration=2.5),
    # 343 frames in one segment: FFT blocks of 16 frames (the last one partial), mel chunks of 128.
    dict(SMALL_PARAMS, n_fft=2048, hop_length=70, num_segments=1),
]


def _params(**kw) -> FeatureParams:
    p = FeatureParams(**kw).validate()
    assert p.problems() == []
    return p


def _quiet_track(p: FeatureParams) -> np.ndarray:
    """Loud, silent, very quiet (1e-4), then loud segments: the per-segment 80 dB floor matters here."""
    rng = np.random.default_rng(7)
    y = signal("chirp", p.duration, p.sample_rate, freq=300, amp=0.5, rng=rng)
    y += 0.05 * rng.standard_normal(y.size).astype(np.float32)
    seg = p.segment_samples
    y[seg:2 * seg] = 0.0
    if p.num_segments > 2:
        y[2 * seg:3 * seg] = signal("sine", seg / p.sample_rate, p.sample_rate, freq=500, amp=1e-4)[:seg]
    return y


def _compare(y: np.ndarray, p: FeatureParams) -> None:
    fast, fast_index = segment_mfccs(y, params=p)
    slow, slow_index = notebook_segment_mfccs(y, params=p)
    np.testing.assert_array_equal(fast_index, slow_index)
    assert fast.shape == slow.shape
    assert fast.dtype == np.float32
    np.testing.assert_allclose(fast, slow, atol=ATOL, rtol=0)


@pytest.mark.parametrize("kw", PARAM_SETS, ids=lambda kw: f"fft{kw['n_fft']}-hop{kw['hop_length']}-"
                                                          f"mfcc{kw.get('n_mfcc', 13)}-seg{kw['num_segments']}")
@pytest.mark.parametrize("kind", ["noise", "chirp", "quiet-segments"])
def test_fast_path_equals_the_notebooks_per_segment_librosa_loop(kw, kind):
    p = _params(**kw)
    if kind == "quiet-segments":
        y = _quiet_track(p)
    else:
        y = signal(kind, p.duration, p.sample_rate, freq=250, amp=0.6, rng=np.random.default_rng(1))
    _compare(y, p)


@pytest.mark.parametrize("block_bytes", [1, 4 * 512 * 5, 4 * 512 * 32, 1 << 30])
def test_the_fft_blocking_does_not_change_a_single_bit(monkeypatch, block_bytes):
    from genre.data import features

    p = _params(**dict(SMALL_PARAMS, hop_length=70, num_segments=1))  # 343 frames of n_fft 512
    y = _quiet_track(p.replace(num_segments=3))
    reference, _ = segment_mfccs(y, params=p)
    monkeypatch.setattr(features, "FFT_BLOCK_BYTES", block_bytes)  # 1 frame, 5, 32, all at once
    blocked, _ = segment_mfccs(y, params=p)
    np.testing.assert_array_equal(blocked, reference)


def test_a_batched_librosa_call_would_not_match_on_quiet_segments():
    # Proves the comparison above can catch the trap: power_to_db over a whole batch floors every
    # segment at (loudest segment - 80 dB), which changes the silent and the quiet segments.
    p = _params(**SMALL_PARAMS)
    y = _quiet_track(p)
    seg = p.segment_samples
    stacked = np.stack([y[d * seg:(d + 1) * seg] for d in range(p.num_segments)])
    batched = librosa.feature.mfcc(y=stacked, sr=p.sample_rate, n_mfcc=p.n_mfcc, n_fft=p.n_fft,
                                   hop_length=p.hop_length).transpose(0, 2, 1)
    reference, _ = notebook_segment_mfccs(y, params=p)
    np.testing.assert_allclose(batched[0], reference[0], atol=ATOL)  # the loudest segment agrees
    for d in (1, 2):  # silent and 1e-4 segments do not
        assert np.abs(batched[d] - reference[d]).max() > 100 * ATOL
    fast, _ = segment_mfccs(y, params=p)
    np.testing.assert_allclose(fast, reference, atol=ATOL)


@pytest.mark.filterwarnings("ignore:n_fft=.*too large")
@pytest.mark.parametrize("n_samples, kept", [
    (24000, [0, 1, 2]),
    (23950, [0, 1, 2]),  # last segment 7950 samples still gives 32 frames: the notebook keeps it
    (23900, [0, 1]),  # 7900 samples -> 31 frames: dropped
    (20000, [0, 1]),
    (13000, [0]),
    (8000, [0]),
    (7000, []),
    (100, []),
])
def test_short_tracks_drop_later_segments_exactly_as_the_notebook(n_samples, kept):
    p = _params(**SMALL_PARAMS)
    y = signal("chirp", 3.0, SR, freq=400, amp=0.5)[:n_samples]
    assert kept_segments(n_samples, p) == kept
    fast, index = segment_mfccs(y, params=p)
    assert index.tolist() == kept
    assert fast.shape == (len(kept), *p.input_shape)
    _compare(y, p)


@pytest.mark.parametrize("kw", [
    dict(SMALL_PARAMS, hop_length=250),  # 8000 = 32 * 250
    dict(SMALL_PARAMS, hop_length=200, n_fft=400),  # 8000 = 40 * 200
    dict(SMALL_PARAMS, num_segments=4, hop_length=500, n_fft=1000),  # 6000 = 12 * 500
])
def test_segment_length_a_multiple_of_the_hop_drops_every_segment(kw):
    p = FeatureParams(**kw).validate()
    assert p.problems() and "multiple of hop_length" in p.problems()[0]
    y = signal("noise", p.duration, p.sample_rate, rng=np.random.default_rng(3))
    assert kept_segments(len(y), p) == []
    fast, index = segment_mfccs(y, params=p)
    slow, _ = notebook_segment_mfccs(y, params=p)
    assert fast.shape == slow.shape == (0, *p.input_shape)
    assert index.size == 0


def test_explicit_segments_beyond_num_segments_are_consecutive_chunks():
    # Prediction cuts long clips into consecutive segments of the trained length.
    p = _params(**SMALL_PARAMS)
    y = signal("noise", 7.5, SR, rng=np.random.default_rng(4))
    rows, index = segment_mfccs(y, params=p, segments=list(range(7)))
    assert index.tolist() == list(range(7))
    one = p.replace(duration=1.0, num_segments=1)
    for k in (0, 4, 6):
        expected, _ = notebook_segment_mfccs(y[k * 8000:(k + 1) * 8000], params=one)
        np.testing.assert_allclose(rows[k], expected[0], atol=ATOL)


def test_rows_are_time_major_frames_by_coefficients():
    p = _params(**dict(SMALL_PARAMS, n_mfcc=20))
    rows, _ = segment_mfccs(signal("noise", 3.0, SR), params=p)
    assert rows.shape == (3, p.frames_per_segment, 20) == (3, 32, 20)


@pytest.mark.parametrize("sr, n_fft", [(8000, 512), (22050, 2048), (16000, 400), (44100, 1024)])
def test_mel_filterbank_equals_librosa(sr, n_fft):
    ours = mel_filterbank(sr, n_fft)
    theirs = librosa.filters.mel(sr=sr, n_fft=n_fft)
    assert ours.shape == theirs.shape == (128, 1 + n_fft // 2)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-8)


def test_mel_filterbank_is_read_only():
    with pytest.raises(ValueError):
        mel_filterbank(8000, 512)[0, 0] = 1.0


# --- where the segments come from (FeatureParams.excerpt) -------------------------------------

def _ramp(seconds: float, sr: int = 1000) -> np.ndarray:
    return np.arange(int(seconds * sr), dtype=np.float32)


@pytest.mark.parametrize("where, first_sample, segments", [
    ("start", 0, [0, 1, 2, 3, 4]),  # the notebook's: the first 30 s
    ("middle", 135_000, [0, 1, 2, 3, 4]),  # 30 s around the middle of 300 s
])
def test_start_and_middle_take_duration_seconds(where, first_sample, segments):
    from genre.data.features import excerpt

    params = FeatureParams(sample_rate=1000, duration=30.0, num_segments=5, n_fft=256, hop_length=128,
                           excerpt=where)
    part, kept = excerpt(_ramp(300), params)
    assert len(part) == 30_000 and part[0] == first_sample and kept == segments


def test_whole_spreads_at_most_max_segments_over_a_long_track():
    from genre.data.features import excerpt

    params = FeatureParams(sample_rate=1000, duration=30.0, num_segments=5, n_fft=256, hop_length=128,
                           excerpt="whole", max_segments=10)
    part, kept = excerpt(_ramp(300), params)  # 50 segments of 6 s
    assert len(part) == 300_000 and len(kept) == 10 and kept[0] == 0 and kept[-1] == 49
    assert kept == sorted(set(kept))
    _, few = excerpt(_ramp(20), params)  # 3 whole segments, the partial 4th dropped
    assert few == [0, 1, 2]
    assert excerpt(_ramp(5), params)[1] == []  # shorter than a segment


def test_a_short_track_gives_the_segments_it_has():
    from genre.data.features import excerpt

    params = FeatureParams(sample_rate=1000, duration=30.0, num_segments=5, n_fft=256, hop_length=128,
                           excerpt="middle")
    part, kept = excerpt(_ramp(13), params)  # shorter than duration: all of it, 2 whole segments
    assert len(part) == 13_000 and kept == [0, 1]


def test_a_clips_mfccs_are_librosas():
    import librosa

    from genre.data.features import clip_mfccs

    y = np.sin(2 * np.pi * 440 * np.arange(22050) / 22050).astype(np.float32)
    expected = librosa.feature.mfcc(y=y, sr=22050, n_mfcc=13).T
    np.testing.assert_allclose(clip_mfccs(y, sample_rate=22050), expected, rtol=1e-5, atol=1e-4)
