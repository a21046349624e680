"""Tests for genre.audio: mono float32 at the requested rate, from every format we claim to read."""

import io

import numpy as np
import pytest
import soundfile as sf

from conftest import make_wav, signal, write_audio
from genre.audio import load_audio
from genre.errors import AudioError, GenreError

FORMATS = [("wav", "WAV"), ("flac", "FLAC"), ("ogg", "OGG"), ("mp3", "MP3"), ("au", "AU"), ("aiff", "AIFF")]
LOSSY = {"ogg", "mp3"}


def _needs(fmt: str) -> None:
    if fmt not in sf.available_formats():
        pytest.skip(f"this libsndfile cannot write {fmt}")


def _peak_hz(y: np.ndarray, sr: int) -> float:
    spectrum = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    return float(np.fft.rfftfreq(len(y), 1 / sr)[spectrum.argmax()])


def test_stereo_is_mixed_to_mono_by_averaging_channels(tmp_path):
    left = signal("sine", 1.0, 8000, freq=300, amp=0.5)
    right = np.full_like(left, 0.25)
    path = write_audio(tmp_path / "stereo.wav", np.stack([left, right], axis=1), 8000, subtype="FLOAT")
    y = load_audio(path, sample_rate=8000)
    assert y.ndim == 1 and y.dtype == np.float32
    np.testing.assert_allclose(y, (left + right) / 2, atol=1e-6)


@pytest.mark.parametrize("native, target", [(22050, 8000), (8000, 22050), (44100, 16000), (16000, 16000)])
def test_resampling_gives_the_requested_length_and_keeps_a_sines_frequency(tmp_path, native, target):
    path = make_wav(tmp_path / "tone.wav", 2.0, native, "sine", freq=440.0)
    y = load_audio(path, sample_rate=target)
    assert len(y) == 2 * target
    assert _peak_hz(y, target) == pytest.approx(440.0, abs=1.0)


@pytest.mark.parametrize("ext, fmt", [("wav", "WAV"), ("flac", "FLAC"), ("au", "AU"), ("aiff", "AIFF")])
@pytest.mark.parametrize("channels", [1, 2])
def test_16_bit_pcm_decodes_bit_for_bit_like_libsndfiles_float_read(tmp_path, channels, ext, fmt):
    _needs(fmt)
    rng = np.random.default_rng(0)
    pcm = rng.integers(-32768, 32768, size=(4000, channels), dtype=np.int16)
    pcm[:2] = [[-32768] * channels, [32767] * channels]  # the extremes
    path = tmp_path / f"pcm16.{ext}"
    sf.write(path, pcm, 8000, subtype="PCM_16", format=fmt)
    assert sf.info(path).subtype == "PCM_16"
    expected, _ = sf.read(path, dtype="float32", always_2d=True)
    got = load_audio(path, sample_rate=8000)
    np.testing.assert_array_equal(got, expected.mean(axis=1) if channels > 1 else expected[:, 0])
    resampled = load_audio(path, sample_rate=22050)
    sf.write(tmp_path / "float.wav", expected, 8000, subtype="FLOAT")
    np.testing.assert_array_equal(resampled, load_audio(tmp_path / "float.wav", sample_rate=22050))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # audioread, imported by librosa.load
@pytest.mark.parametrize("native, target", [(22050, 8000), (44100, 22050), (8000, 22050)])
def test_equals_librosa_load(tmp_path, native, target):
    librosa = pytest.importorskip("librosa")
    path = make_wav(tmp_path / "chirp.wav", 1.5, native, "chirp", freq=300.0, channels=2)
    expected, sr = librosa.load(path, sr=target)
    got = load_audio(path, sample_rate=target)
    assert sr == target and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=1e-5)


@pytest.mark.parametrize("ext, fmt", FORMATS)
def test_each_format_is_read(tmp_path, ext, fmt):
    _needs(fmt)
    path = make_wav(tmp_path / f"tone.{ext}", 1.0, 22050, "sine", freq=440.0, channels=2, format=fmt)
    y = load_audio(path, sample_rate=8000)
    assert y.dtype == np.float32 and y.ndim == 1
    assert abs(len(y) - 8000) <= (80 if ext in LOSSY else 0)  # codecs may pad a few ms
    assert _peak_hz(y, 8000) == pytest.approx(440.0, abs=2.0)
    assert 0.3 < np.abs(y).max() < 0.7


@pytest.mark.parametrize("as_", ["bytes", "file object", "path string"])
def test_bytes_and_file_objects_decode_like_the_path(tmp_path, as_):
    path = make_wav(tmp_path / "tone.flac", 1.0, 22050, "chirp", freq=200.0)
    expected = load_audio(path, sample_rate=8000)
    source = {"bytes": lambda: path.read_bytes(), "file object": lambda: io.BytesIO(path.read_bytes()),
              "path string": lambda: str(path)}[as_]()
    np.testing.assert_array_equal(load_audio(source, sample_rate=8000), expected)


def test_max_seconds_reads_only_the_start(tmp_path):
    path = make_wav(tmp_path / "long.wav", 5.0, 8000, "noise")
    full = load_audio(path, sample_rate=8000)
    head = load_audio(path, sample_rate=8000, max_seconds=1.5)
    assert len(head) == 12000
    np.testing.assert_array_equal(head, full[:12000])


@pytest.mark.parametrize("content", [b"", b"RIFF\x00\x00\x00\x00WAVEfmt garbage", b"\x00" * 1000,
                                     b"this is not audio at all" * 50],
                         ids=["empty", "broken-riff", "zeros", "text"])
def test_a_corrupt_file_is_an_audio_error_naming_the_file(tmp_path, content):
    path = tmp_path / "corrupt-clip.wav"
    path.write_bytes(content)
    with pytest.raises(AudioError, match="corrupt-clip.wav"):
        load_audio(path, sample_rate=8000)


def test_corrupt_bytes_are_an_audio_error():
    with pytest.raises(AudioError, match="cannot decode"):
        load_audio(b"not audio" * 100, sample_rate=8000)


def test_a_truncated_flac_is_an_audio_error_or_a_shorter_signal(tmp_path):
    path = make_wav(tmp_path / "cut.flac", 2.0, 8000, "noise")
    path.write_bytes(path.read_bytes()[:60])  # header only, no frames
    try:
        y = load_audio(path, sample_rate=8000)
    except AudioError as exc:
        assert "cut.flac" in str(exc)
    else:
        assert len(y) < 16000


@pytest.mark.parametrize("make", [lambda p: p / "missing.wav", lambda p: p],
                         ids=["missing-file", "a-folder"])
def test_missing_file_is_an_audio_error(tmp_path, make):
    path = make(tmp_path)
    with pytest.raises(AudioError, match="not found|folder") as info:
        load_audio(path, sample_rate=8000)
    assert str(path) in str(info.value)


def test_missing_file_message_says_not_found(tmp_path):
    with pytest.raises(AudioError, match="not found"):
        load_audio(tmp_path / "nope.wav", sample_rate=8000)


def test_audio_error_is_a_genre_error():
    assert issubclass(AudioError, GenreError)


def test_non_finite_samples_are_refused(tmp_path):
    y = np.zeros(800, dtype=np.float32)
    y[10] = np.nan
    path = write_audio(tmp_path / "nan.wav", y, 8000, subtype="FLOAT")
    with pytest.raises(AudioError, match="non-finite"):
        load_audio(path, sample_rate=8000)
