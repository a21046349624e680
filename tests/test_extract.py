"""Tests for genre.data.extract: parallel, ordered, cached extraction that skips bad files and can be stopped."""

import logging
import os
import threading

import numpy as np
import pytest

from genre.data import extract as extract_mod
from genre.data.dataset import scan_dataset
from genre.data.extract import extract_features, extract_file, extract_to_store
from genre.data.features import notebook_segment_mfccs
from genre.errors import Cancelled, DatasetError, GenreError


def _corrupt(root, name="rock/rock.00001.wav"):
    (root / name).write_bytes(b"RIFF this is not a wav file" * 10)
    return name


def test_rows_are_ordered_by_track_then_segment_with_genre_labels(features, gtzan):
    ds = scan_dataset(gtzan)
    assert features.files == tuple(p.relative_to(gtzan).as_posix() for p, _ in ds.items())
    assert features.X.shape == (36, 32, 13)
    assert features.track.tolist() == [t for t in range(12) for _ in range(3)]
    assert features.segment.tolist() == [0, 1, 2] * 12
    assert features.y.tolist() == [label for _, label in ds.items() for _ in range(3)]
    assert features.genres == ("blues", "metal", "rock")
    assert features.files[features.track[-1]].startswith("rock/")


def test_each_row_is_the_notebooks_mfcc_of_its_segment(features, gtzan, params):
    import soundfile as sf

    for t in (0, 5, 11):
        y, sr = sf.read(gtzan / features.files[t], dtype="float32")
        assert sr == params.sample_rate
        expected, _ = notebook_segment_mfccs(y, params=params)
        np.testing.assert_allclose(features.X[features.track == t], expected, atol=2e-3)


def test_a_corrupt_file_is_skipped_reported_and_logged_without_stopping_the_run(gtzan_copy, caplog, params):
    bad = _corrupt(gtzan_copy)
    with caplog.at_level(logging.WARNING, logger="genre"):
        fs = extract_features(scan_dataset(gtzan_copy), params)
    assert [name for name, _ in fs.skipped] == [bad]
    assert "is not an audio file" in fs.skipped[0][1]
    assert len(fs) == 33 and len(np.unique(fs.track)) == 11
    assert fs.files.index(bad) not in fs.track
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "rock.00001.wav" in warnings[0].getMessage()


@pytest.mark.parametrize("pool", ["threads", "processes"])
def test_one_and_two_jobs_give_identical_features(gtzan_copy, params, pool, monkeypatch):
    import genre.data.extract

    monkeypatch.setattr(genre.data.extract, "PROCESS_MIN_FILES", 10**9 if pool == "threads" else 1)
    _corrupt(gtzan_copy, "blues/blues.00002.wav")
    ds = scan_dataset(gtzan_copy)
    one = extract_features(ds, params, jobs=1)
    two = extract_features(ds, params, jobs=2)
    np.testing.assert_array_equal(one.X, two.X)
    np.testing.assert_array_equal(one.y, two.y)
    np.testing.assert_array_equal(one.track, two.track)
    np.testing.assert_array_equal(one.segment, two.segment)
    assert one.skipped == two.skipped and len(one.skipped) == 1
    assert one.key == two.key


@pytest.mark.parametrize("jobs", [1, 2])
def test_progress_reaches_total(gtzan, jobs, params):
    calls = []
    extract_features(scan_dataset(gtzan), params, jobs=jobs, on_progress=lambda d, t: calls.append((d, t)))
    assert calls == [(d, 12) for d in range(1, 13)]


@pytest.mark.parametrize("processes", [False, True])
def test_setting_stop_cancels_extraction(gtzan, params, processes, monkeypatch):
    import genre.data.extract

    if processes:
        monkeypatch.setattr(genre.data.extract, "PROCESS_MIN_FILES", 1)
    stop = threading.Event()

    def progress(done, total):
        if done == 2:
            stop.set()

    with pytest.raises(Cancelled, match="2 of 12"):
        extract_features(scan_dataset(gtzan), params, on_progress=progress, stop=stop, jobs=2 if processes else 1)
    assert issubclass(Cancelled, GenreError)


def test_a_stop_set_beforehand_cancels_after_the_first_file(gtzan, params):
    stop = threading.Event()
    stop.set()
    with pytest.raises(Cancelled, match="1 of 12"):
        extract_features(scan_dataset(gtzan), params, stop=stop)


def test_extract_file_reads_only_what_it_needs(tmp_path, make_wav_file, params):
    path = make_wav_file(tmp_path / "long.wav", 10.0, 8000, "noise")
    rows, index = extract_file(path, params=params)
    assert rows.shape == (3, 32, 13) and index.tolist() == [0, 1, 2]


def test_a_short_file_keeps_only_the_segments_the_notebook_keeps(gtzan_copy, make_wav_file, params):
    make_wav_file(gtzan_copy / "metal" / "metal.00002.wav", 2.5, 8000, "square", freq=660)
    make_wav_file(gtzan_copy / "metal" / "metal.00003.wav", 2.995, 8000, "square", freq=660)  # 7960-sample tail
    fs = extract_features(scan_dataset(gtzan_copy), params)
    short, tail = fs.files.index("metal/metal.00002.wav"), fs.files.index("metal/metal.00003.wav")
    assert fs.segment[fs.track == short].tolist() == [0, 1]
    assert fs.segment[fs.track == tail].tolist() == [0, 1, 2]
    assert len(fs) == 35


def test_files_per_genre_limits_extraction(gtzan, params):
    p = params.replace(files_per_genre=2)
    fs = extract_features(scan_dataset(gtzan, files_per_genre=2), p)
    assert len(fs.files) == 6 and len(fs) == 18
    assert [f.split("/")[1] for f in fs.files[:2]] == ["blues.00000.wav", "blues.00001.wav"]


class _Boom(Exception):
    pass


def _no_extraction(*args, **kwargs):
    raise _Boom("extract_features must not run on a cache hit")


def test_second_extract_to_store_is_a_cache_hit(gtzan_copy, tmp_path, monkeypatch, params):
    out = tmp_path / "store" / "f.npz"
    first, hit1 = extract_to_store(gtzan_copy, params, out)
    assert hit1 is False and out.is_file()
    monkeypatch.setattr(extract_mod, "extract_features", _no_extraction)
    again, hit2 = extract_to_store(gtzan_copy, params, out)
    assert hit2 is True
    np.testing.assert_array_equal(again.X, first.X)
    assert again.key == first.key


def _touch_mtime(root, params):
    path = root / "metal" / "metal.00000.wav"
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    return params


def _rewrite_same_size(root, params):
    path = root / "metal" / "metal.00000.wav"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    st = path.stat()
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
    return params


def _add_file(root, params):
    import shutil

    shutil.copy(root / "rock" / "rock.00000.wav", root / "rock" / "rock.00009.wav")
    return params


@pytest.mark.parametrize("change", [
    _touch_mtime,
    _rewrite_same_size,
    _add_file,
    lambda root, p: p.replace(n_mfcc=20),
    lambda root, p: p.replace(hop_length=300),
    lambda root, p: p.replace(num_segments=2),
    lambda root, p: p.replace(files_per_genre=2),
], ids=["touched-mtime", "rewritten", "file-added", "n_mfcc", "hop_length", "num_segments", "files_per_genre"])
def test_changed_files_or_parameters_are_a_cache_miss(gtzan_copy, tmp_path, change, params):
    out = tmp_path / "f.npz"
    extract_to_store(gtzan_copy, params, out)
    changed = change(gtzan_copy, params)
    fs, hit = extract_to_store(gtzan_copy, changed, out)
    assert hit is False
    assert fs.params == changed
    assert fs.X.shape[1:] == changed.input_shape


def test_force_and_a_corrupt_store_re_extract(gtzan, tmp_path, params):
    out = tmp_path / "f.npz"
    extract_to_store(gtzan, params, out)
    assert extract_to_store(gtzan, params, out, force=True)[1] is False
    out.write_bytes(b"garbage")
    fs, hit = extract_to_store(gtzan, params, out)
    assert hit is False and len(fs) == 36


@pytest.mark.parametrize("kw", [dict(hop_length=250), dict(hop_length=200, n_fft=400)])
def test_parameters_that_drop_every_segment_are_a_dataset_error_that_explains(gtzan, tmp_path, kw, params):
    out = tmp_path / "f.npz"
    with pytest.raises(DatasetError, match="multiple of hop_length"):
        extract_to_store(gtzan, params.replace(**kw), out)
    assert not out.exists()


def test_clips_too_short_for_a_segment_are_a_dataset_error(tmp_path, make_wav_file, params):
    for g in ("a", "b"):
        make_wav_file(tmp_path / "data" / g / "x.wav", 0.5, 8000)
    with pytest.raises(DatasetError, match="no MFCC rows"):
        extract_to_store(tmp_path / "data", params, tmp_path / "f.npz")


def test_all_files_unreadable_is_a_dataset_error(tmp_path, params):
    for g in ("a", "b"):
        (tmp_path / "data" / g).mkdir(parents=True)
        (tmp_path / "data" / g / "x.wav").write_bytes(b"junk")
    with pytest.raises(DatasetError, match="2 file.*unreadable"):
        extract_to_store(tmp_path / "data", params, tmp_path / "f.npz")


@pytest.mark.parametrize("root", ["missing", "file"])
def test_extract_to_store_scans_first(tmp_path, root, params):
    path = tmp_path / "x"
    if root == "file":
        path.write_text("x")
    with pytest.raises(DatasetError):
        extract_to_store(path, params, tmp_path / "f.npz")


def test_a_dask_cluster_gives_the_local_result(gtzan_copy, params):
    distributed = pytest.importorskip("dask.distributed")
    bad = _corrupt(gtzan_copy)
    local = extract_features(scan_dataset(gtzan_copy), params)
    with distributed.LocalCluster(n_workers=1, processes=False, threads_per_worker=1,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        remote = extract_features(scan_dataset(gtzan_copy), params, dask_client=client)
    np.testing.assert_array_equal(remote.X, local.X)
    np.testing.assert_array_equal(remote.y, local.y)
    np.testing.assert_array_equal(remote.track, local.track)
    np.testing.assert_array_equal(remote.segment, local.segment)
    assert [s[0] for s in remote.skipped] == [bad]


def test_extraction_reads_the_start_of_a_file_longer_than_the_decoding_cap(tmp_path, make_wav_file, params):
    from genre.data.audio import MAX_DECODED_SECONDS, load_audio
    from genre.errors import AudioError

    path = make_wav_file(tmp_path / "long-song.wav", MAX_DECODED_SECONDS + 60, 1000, "noise")  # 11 min at 1 kHz
    with pytest.raises(AudioError, match="long-song.wav is 11.0 min"):
        load_audio(path, sample_rate=params.sample_rate)
    rows, index = extract_file(path, params=params)
    assert rows.shape == (3, 32, 13) and index.tolist() == [0, 1, 2]


@pytest.mark.parametrize("jobs", [0, 1.5, "2", True])
def test_a_bad_number_of_jobs_is_a_parameter_error_even_on_a_cache_hit(gtzan, tmp_path, params, jobs):
    from genre.errors import ParameterError

    out = tmp_path / "f.npz"
    with pytest.raises(ParameterError, match="jobs must be"):
        extract_features(scan_dataset(gtzan), params, jobs=jobs)
    extract_to_store(gtzan, params, out)
    with pytest.raises(ParameterError, match="jobs must be"):
        extract_to_store(gtzan, params, out, jobs=jobs)


# --- files that change while they are extracted -----------------------------------------------------

def _edit(path, make_wav_file):
    """Give ``path`` other content (a different signal) and a later mtime."""
    st = path.stat()
    make_wav_file(path, 3.0, 8000, "square", freq=1234.0)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))


@pytest.mark.parametrize("when", ["before-its-read", "after-its-read"])
def test_a_file_edited_during_extraction_is_read_again_next_time(gtzan_copy, tmp_path, params, make_wav_file, when):
    out = tmp_path / "f.npz"
    edited = gtzan_copy / "blues" / ("blues.00003.wav" if when == "before-its-read" else "blues.00000.wav")

    def progress(done, total):
        if done == 2:
            _edit(edited, make_wav_file)

    first, _ = extract_to_store(gtzan_copy, params, out, jobs=1, on_progress=progress)
    again, hit = extract_to_store(gtzan_copy, params, out)
    fresh = extract_features(scan_dataset(gtzan_copy), params)
    np.testing.assert_array_equal(again.X, fresh.X)  # never the stale features from before the edit
    assert again.key == fresh.key and hit is False
    assert extract_to_store(gtzan_copy, params, out)[1] is True  # and from then on, a hit again


def test_a_file_changed_during_extraction_is_logged(gtzan_copy, params, make_wav_file, caplog):
    def progress(done, total):
        if done == 2:
            _edit(gtzan_copy / "blues" / "blues.00000.wav", make_wav_file)

    with caplog.at_level(logging.WARNING, logger="genre"):
        extract_features(scan_dataset(gtzan_copy), params, jobs=1, on_progress=progress)
    assert any("changed during extraction" in r.getMessage() and "blues.00000.wav" in r.getMessage()
               for r in caplog.records)


def test_a_file_deleted_during_extraction_is_skipped_and_reported(gtzan_copy, tmp_path, params):
    out = tmp_path / "f.npz"
    gone = gtzan_copy / "metal" / "metal.00002.wav"

    def progress(done, total):
        if done == 2:
            gone.unlink()

    fs, _ = extract_to_store(gtzan_copy, params, out, jobs=1, on_progress=progress)
    assert [name for name, _ in fs.skipped] == ["metal/metal.00002.wav"]
    assert "not found" in fs.skipped[0][1]
    assert len(fs) == 33 and fs.files.index("metal/metal.00002.wav") not in fs.track
    again, hit = extract_to_store(gtzan_copy, params, out)
    assert hit is False and len(again.files) == 11 and again.skipped == ()


def test_a_file_deleted_after_it_was_read_does_not_break_extraction(gtzan_copy, tmp_path, params):
    out = tmp_path / "f.npz"

    def progress(done, total):
        if done == total:
            (gtzan_copy / "blues" / "blues.00000.wav").unlink()

    fs, _ = extract_to_store(gtzan_copy, params, out, jobs=2, on_progress=progress)
    assert len(fs) == 36
    assert extract_to_store(gtzan_copy, params, out)[1] is False  # the folder changed: read again


# --- real tracks: excerpts, folders left out, files shorter than asked --------------------------

def _long_dataset(root, make_wav_file, seconds=(12.0, 2.0)):
    """Two genres of one track each: a long one and one shorter than the excerpt."""
    for genre, length in zip(("blues", "rock"), seconds):
        make_wav_file(root / genre / f"{genre}.00000.wav", seconds=length, kind="chirp", freq=300.0)
    return root


@pytest.mark.parametrize("where", ["start", "middle"])
def test_start_and_middle_excerpts_are_the_mfccs_of_those_seconds(tmp_path, make_wav_file, params, where):
    from genre.data.audio import load_audio
    from genre.data.features import segment_mfccs

    root = _long_dataset(tmp_path / "data", make_wav_file)
    p = params.replace(excerpt=where)  # 3 s in 3 segments
    fs = extract_features(scan_dataset(root), p)
    y = load_audio(root / "blues" / "blues.00000.wav", sample_rate=p.sample_rate)
    first = 0 if where == "start" else (len(y) - p.samples_per_track) // 2
    want, _ = segment_mfccs(y[first:first + p.samples_per_track], params=p)
    np.testing.assert_array_equal(fs.X[fs.track == 0], want)
    assert fs.segment[fs.track == 0].tolist() == [0, 1, 2]


def test_the_whole_excerpt_spreads_max_segments_over_each_track(tmp_path, make_wav_file, params):
    root = _long_dataset(tmp_path / "data", make_wav_file)
    p = params.replace(excerpt="whole", max_segments=5)  # 1 s segments: 12 in the long track, 2 in the short
    fs = extract_features(scan_dataset(root), p)
    assert fs.segment[fs.track == 0].tolist() == [0, 3, 6, 8, 11]  # spread over all 12 s, not the first 5
    assert fs.segment[fs.track == 1].tolist() == [0, 1]
    assert fs.short_files() == [("rock/rock.00000.wav", 2)]


def test_a_folder_left_out_is_not_a_genre(gtzan_copy, params):
    (gtzan_copy / "unlabelled").mkdir()
    (gtzan_copy / "unlabelled" / "x.wav").write_bytes((gtzan_copy / "rock" / "rock.00000.wav").read_bytes())
    assert "unlabelled" in scan_dataset(gtzan_copy).genres
    fs, _ = extract_to_store(gtzan_copy, params.replace(exclude=("unlabelled",)), gtzan_copy.parent / "f.npz")
    assert fs.genres == ("blues", "metal", "rock") and not any(f.startswith("unlabelled/") for f in fs.files)
    with pytest.raises(DatasetError, match="no folder to exclude named jazz"):
        scan_dataset(gtzan_copy, exclude=("jazz",))


def test_load_cached_gives_a_stores_features_only_while_they_are_current(gtzan_copy, params, tmp_path):
    from genre.data.extract import load_cached

    out = tmp_path / "f.npz"
    assert load_cached(gtzan_copy, params, out) is None  # nothing extracted
    fs, _ = extract_to_store(gtzan_copy, params, out)
    assert load_cached(gtzan_copy, params, out).key == fs.key
    assert load_cached(gtzan_copy, params.replace(n_mfcc=20), out) is None  # other parameters
    os.utime(gtzan_copy / "rock" / "rock.00000.wav", ns=(0, 0))  # a file changed since
    assert load_cached(gtzan_copy, params, out) is None
    assert load_cached(tmp_path / "gone", params, out) is None  # never raises


def test_the_expected_rows_and_the_segments_per_track_follow_the_notebooks_rule(gtzan):
    from conftest import SMALL_PARAMS

    from genre.data.dataset import scan_dataset
    from genre.data.extract import default_jobs, expected_rows
    from genre.data.features import kept_segments, segments_per_track
    from genre.data.params import FeatureParams

    p = FeatureParams(**SMALL_PARAMS)
    assert segments_per_track(p) == len(kept_segments(p.samples_per_track, p)) == 3
    assert segments_per_track(p.replace(excerpt="whole", max_segments=7)) == 7
    d = scan_dataset(gtzan)
    assert expected_rows(d, p) == d.n_files * 3 and expected_rows(d, p.replace(files_per_genre=1)) == 3 * 3
    assert (default_jobs(4), default_jobs(16)) == (1, 2)
