"""Tests for genre.data.audio: mono float32 at the requested rate, from every format we claim to read."""

import io

import numpy as np
import pytest
import soundfile as sf
from conftest import make_wav, signal, write_audio

from genre.data.audio import load_audio
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
    with pytest.raises(AudioError, match="the audio data is not an audio file"):
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


# --- uploads decode like paths; the decoded length is capped ----------------------------------------

def _synchsafe(n: int) -> bytes:
    return bytes([(n >> 21) & 0x7F, (n >> 14) & 0x7F, (n >> 7) & 0x7F, n & 0x7F])


def _id3v2_frame(frame_id: str, text: str) -> bytes:
    body = b"\x00" + text.encode("latin-1")  # encoding byte 0: ISO-8859-1
    return frame_id.encode() + len(body).to_bytes(4, "big") + b"\x00\x00" + body


def tagged_mp3(path, seconds: float = 1.0, sr: int = 22050):
    """An MP3 whose ID3v2.3 tag is followed by a 128-byte ID3v1 ``TAG`` block before the first frame.

    Real files look like this (4 of the issue's uploads): libsndfile finds the audio from a path,
    where the ``.mp3`` extension names the format, but not by sniffing the bytes.
    """
    buf = io.BytesIO()
    sf.write(buf, signal("chirp", seconds, sr, freq=300.0), sr, format="MP3")
    frames = _id3v2_frame("TIT2", "A song") + _id3v2_frame("TPE1", "Someone") + _id3v2_frame("TALB", "An album")
    id3v2 = b"ID3\x03\x00\x00" + _synchsafe(len(frames)) + frames
    id3v1 = b"TAG" + b"A song".ljust(30, b"\0") + b"Someone".ljust(30, b"\0") + b"An album".ljust(30, b"\0") \
        + b"2020" + b"\0" * 30 + b"\xff"
    assert len(id3v1) == 128
    path.write_bytes(id3v2 + id3v1 + buf.getvalue())
    return path


def test_an_mp3_with_id3v2_then_id3v1_before_the_audio_decodes_from_bytes_like_from_its_path(tmp_path):
    _needs("MP3")
    path = tagged_mp3(tmp_path / "song.mp3")
    from_path = load_audio(path, sample_rate=22050)
    assert abs(len(from_path) - 22050) < 2000
    data = path.read_bytes()
    np.testing.assert_array_equal(load_audio(data, sample_rate=22050, name="song.mp3"), from_path)
    np.testing.assert_array_equal(load_audio(io.BytesIO(data), sample_rate=22050, name="song.mp3"), from_path)
    # Without a name the ID3 tag still says "MP3" (a caller that forgot the name still works).
    np.testing.assert_array_equal(load_audio(data, sample_rate=22050), from_path)


def test_a_file_objects_own_name_is_used(tmp_path):
    _needs("MP3")
    data = tagged_mp3(tmp_path / "song.mp3").read_bytes()
    upload = io.BytesIO(data)
    upload.name = "My Song.MP3"  # what an upload widget's file object carries
    assert len(load_audio(upload, sample_rate=22050)) > 0


@pytest.mark.parametrize("name", ["junk.mp3", "junk.wav", "junk.flac", "junk", "notes.txt"])
@pytest.mark.parametrize("as_", ["bytes", "file object"])
def test_undecodable_bytes_are_an_audio_error_naming_the_given_name(name, as_):
    data = b"this is not audio at all" * 50
    with pytest.raises(AudioError) as info:
        load_audio(data if as_ == "bytes" else io.BytesIO(data), sample_rate=8000, name=name)
    assert name in str(info.value) and "<upload>" not in str(info.value)


def test_decoding_bytes_leaves_no_temporary_file(tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    data = make_wav(tmp_path / "a.flac", 0.5, 8000).read_bytes()
    load_audio(data, sample_rate=8000, name="a.flac")
    with pytest.raises(AudioError):
        load_audio(b"junk" * 100, sample_rate=8000, name="b.mp3")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.flac"]


def test_a_file_longer_than_the_cap_is_refused_before_decoding(tmp_path, monkeypatch):
    path = make_wav(tmp_path / "long.flac", 12.0, 8000, "noise")
    with pytest.raises(AudioError, match=r"long\.flac.*12(\.0)? s.*10(\.0)? s") as info:
        load_audio(path, sample_rate=8000, max_decoded_seconds=10.0)
    assert "max_decoded_seconds" in str(info.value)
    with pytest.raises(AudioError, match="upload.flac"):
        load_audio(path.read_bytes(), sample_rate=8000, name="upload.flac", max_decoded_seconds=10.0)
    # The cap is on what is decoded: reading the start of a long file is fine.
    assert len(load_audio(path, sample_rate=8000, max_seconds=5.0, max_decoded_seconds=10.0)) == 40000
    assert len(load_audio(path, sample_rate=8000, max_decoded_seconds=12.0)) == 96000


def test_the_default_cap_is_ten_minutes():
    from genre.data.audio import MAX_DECODED_SECONDS

    assert MAX_DECODED_SECONDS == 600


def _xing_mp3_claiming(frames: int) -> bytes:
    """A valid MP3 whose Xing header claims ``frames`` MPEG frames (1152 samples each)."""
    buf = io.BytesIO()
    sf.write(buf, signal("sine", 1.0, 22050), 22050, format="MP3")
    data = bytearray(buf.getvalue())
    at = data.find(b"Xing")
    assert at > 0 and int.from_bytes(data[at + 4:at + 8], "big") & 1  # the frame count is present
    data[at + 8:at + 12] = frames.to_bytes(4, "big")
    return bytes(data)


def test_an_mp3_header_that_claims_terabytes_is_an_audio_error_not_a_memory_error(tmp_path):
    # What a few flipped bits in a real MP3's header did: 2**31 frames, 4.5 TiB of float32.
    _needs("MP3")
    path = tmp_path / "liar.mp3"
    path.write_bytes(_xing_mp3_claiming(0x7FFFFFFF))
    for source, name in [(path, "liar.mp3"), (path.read_bytes(), "up.mp3"), (path.read_bytes(), None)]:
        with pytest.raises(AudioError, match="long") as info:
            load_audio(source, sample_rate=22050, name=name)
        assert name is None or name in str(info.value)
    # Only its start is decoded when asked for (as extraction does): that much is there.
    assert len(load_audio(path, sample_rate=22050, max_seconds=0.5)) == 11025


def test_a_sample_rate_no_audio_has_is_refused(tmp_path):
    path = make_wav(tmp_path / "liar.wav", 0.5, 8000)
    data = bytearray(path.read_bytes())
    data[24:28] = (2_000_000_000).to_bytes(4, "little")  # the fmt chunk's sample rate
    path.write_bytes(bytes(data))
    with pytest.raises(AudioError, match="liar.wav.*sample rate"):
        load_audio(path, sample_rate=8000)


def test_a_memory_error_from_the_decoder_is_an_audio_error(tmp_path, monkeypatch):
    path = make_wav(tmp_path / "fine.wav", 0.5, 8000)

    def no_memory(*args, **kwargs):
        raise MemoryError("Unable to allocate 6.5 TiB for an array with shape (1789569706667,)")

    monkeypatch.setattr(sf.SoundFile, "read", no_memory)
    with pytest.raises(AudioError, match="fine.wav"):
        load_audio(path, sample_rate=8000)


@pytest.mark.parametrize("channels", [1, 2, 6])
def test_long_multichannel_files_decode_identically_in_blocks(tmp_path, monkeypatch, channels):
    from genre.data import audio

    path = make_wav(tmp_path / "multi.wav", 2.0, 8000, "noise", channels=channels, subtype="PCM_16")
    whole = load_audio(path, sample_rate=8000)
    monkeypatch.setattr(audio, "_BLOCK_SAMPLES", 1000)  # many blocks, one not a multiple of the channels
    np.testing.assert_array_equal(load_audio(path, sample_rate=8000), whole)


@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
def test_bytes_whose_header_makes_the_decoder_seek_before_the_start_decode_like_the_file(tmp_path):
    # An AIFF whose SSND chunk id has a bit flipped: libsndfile seeks to -1. Through soundfile's
    # file-object callbacks that was a ValueError printed from inside the C library.
    path = write_audio(tmp_path / "flipped.aiff", np.stack([signal("sine", 1.2, 8000)] * 2, axis=1), 8000)
    data = bytearray(path.read_bytes())
    at = data.find(b"SSND")
    assert at > 0
    data[at + 2] ^= 1  # "SSND" -> "SSOD"
    path.write_bytes(bytes(data))
    try:
        expected = load_audio(path, sample_rate=8000)
    except AudioError:
        expected = None
    for source in (bytes(data), io.BytesIO(bytes(data))):
        if expected is None:
            with pytest.raises(AudioError, match="the audio data"):
                load_audio(source, sample_rate=8000)
        else:
            np.testing.assert_array_equal(load_audio(source, sample_rate=8000), expected)


@pytest.mark.parametrize("value, expected", [("", 600.0), ("120", 120.0), ("-5", 600.0), ("lots", 600.0)])
def test_the_cap_on_decoded_length_is_a_setting(monkeypatch, value, expected):
    from genre.data import audio

    monkeypatch.setenv("GENRE_MAX_AUDIO_SECONDS", value)
    assert audio._max_decoded_seconds() == expected


@pytest.mark.parametrize("name", ["notes.mp3", "notes.wav", "notes.ogg", "notes.flac", "notes"])
@pytest.mark.parametrize("data", [b"hello, this is a text file\n" * 20, bytes(range(256)) * 10,
                                  np.random.default_rng(0).bytes(4096)], ids=["text", "every-byte", "random"])
def test_bytes_that_are_no_audio_say_so_in_plain_words(name, data):
    """Not libsndfile's 'File does not exist or is not a regular file (possibly a pipe?)' for a text named .mp3."""
    with pytest.raises(AudioError) as info:
        load_audio(data, sample_rate=8000, name=name)
    message = str(info.value)
    assert message.startswith(f"{name} is not an audio file") and "possibly a pipe" not in message
    assert "wav" in message and "mp3" in message  # what can be read


@pytest.mark.parametrize("as_", ["bytes", "file on disk"])
def test_an_empty_file_says_it_is_empty(as_, tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(AudioError, match=r"empty.wav is empty \(0 bytes\)$"):
        load_audio(b"" if as_ == "bytes" else path, sample_rate=8000, name="empty.wav" if as_ == "bytes" else None)
