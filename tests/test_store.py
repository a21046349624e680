"""Tests for genre.data.store (and genre.atomic): the .npz feature store and the notebook's JSON."""

import json
import zipfile
from dataclasses import replace

import numpy as np
import pytest

from genre.data.params import FeatureParams
from genre.data.store import FeatureSet, export_json, import_json, load_features, save_features
from genre.errors import FeatureStoreError


def _notebook_load_data(data_path):
    """The notebook's loader, verbatim."""
    with open(data_path, "r") as fp:
        data = json.load(fp)
    X = np.array(data["mfcc"])
    y = np.array(data["labels"])
    return X, y


def _assert_same(a: FeatureSet, b: FeatureSet) -> None:
    assert b.X.dtype == np.float32
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    np.testing.assert_array_equal(a.track, b.track)
    np.testing.assert_array_equal(a.segment, b.segment)
    assert (a.genres, a.files, a.params) == (b.genres, b.files, b.params)


@pytest.fixture
def with_skips(features) -> FeatureSet:
    return replace(features, skipped=(("rock/bad.wav", "cannot decode rock/bad.wav: Format not recognised."),),
                   meta={"note": "x"})


def test_npz_round_trip_keeps_everything(with_skips, tmp_path):
    path = save_features(with_skips, tmp_path / "f.npz")
    back = load_features(path)
    _assert_same(with_skips, back)
    assert back.skipped == with_skips.skipped
    assert back.key == with_skips.key != ""
    assert back.root == with_skips.root
    assert back.meta == {"note": "x"}
    assert back.has_tracks


def test_saving_replaces_an_existing_store(features, tmp_path):
    path = tmp_path / "f.npz"
    save_features(replace(features, genres=("a", "b", "c")), path)
    save_features(features, path)
    assert load_features(path).genres == features.genres


def test_a_crash_mid_write_leaves_the_old_store_intact_and_no_temp_files(features, tmp_path, monkeypatch):
    path = tmp_path / "f.npz"
    save_features(features, path)
    before = path.read_bytes()

    write_array, calls = np.lib.format.write_array, []

    def crash(fh, array, **kw):  # the second member fails half-way, after the first was written
        calls.append(1)
        if len(calls) == 2:
            fh.write(b"\x93NUMPY half an array")
            raise OSError("disk full")
        write_array(fh, array, **kw)

    monkeypatch.setattr(np.lib.format, "write_array", crash)
    with pytest.raises(OSError, match="disk full"):
        save_features(replace(features, genres=("x", "y", "z")), path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert load_features(path).genres == features.genres
    assert [p.name for p in tmp_path.iterdir()] == ["f.npz"]


def test_a_crash_on_first_write_leaves_no_file(features, tmp_path, monkeypatch):
    monkeypatch.setattr(np.lib.format, "write_array", lambda fh, a, **kw: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        save_features(features, tmp_path / "f.npz")
    assert list(tmp_path.iterdir()) == []


def _truncated(valid: bytes) -> bytes:
    return valid[: len(valid) // 2]


def _npz_without_meta(_valid: bytes) -> bytes:
    import io

    buf = io.BytesIO()
    np.savez(buf, X=np.zeros((1, 2, 3), np.float32))
    return buf.getvalue()


def _npz_of_unknown_format(_valid: bytes) -> bytes:
    import io

    buf = io.BytesIO()
    meta = np.frombuffer(json.dumps({"format": 99}).encode(), dtype=np.uint8)
    np.savez(buf, X=np.zeros((1, 2, 3), np.float32), y=np.zeros(1), track=np.zeros(1), segment=np.zeros(1), meta=meta)
    return buf.getvalue()


def _npz_whose_meta_is_not_an_object(_valid: bytes) -> bytes:
    import io

    buf = io.BytesIO()
    np.savez(buf, X=np.zeros((1, 2, 3), np.float32), meta=np.frombuffer(b"[1, 2]", dtype=np.uint8))
    return buf.getvalue()


def _npz_with_bad_params(valid: bytes) -> bytes:
    import io

    with np.load(io.BytesIO(valid)) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(bytes(arrays["meta"]).decode())
    meta["params"]["n_mfcc"] = 0
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


@pytest.mark.parametrize("corrupt, message", [
    (lambda v: b"", "not a readable"),
    (lambda v: b"garbage, not a zip file" * 20, "not a readable"),
    (_truncated, "not a readable"),
    (lambda v: json.dumps({"mapping": [], "mfcc": [], "labels": []}).encode(), "not a readable"),
    (_npz_without_meta, "not a readable"),
    (_npz_whose_meta_is_not_an_object, "not a readable"),
    (_npz_of_unknown_format, "unknown feature store format"),
    (_npz_with_bad_params, "bad feature parameters"),
], ids=["empty", "garbage", "truncated", "json-not-npz", "npz-without-meta", "meta-not-an-object",
        "unknown-format", "bad-params"])
def test_unreadable_stores_raise_feature_store_error(features, tmp_path, corrupt, message):
    valid = save_features(features, tmp_path / "valid.npz").read_bytes()
    path = tmp_path / "bad.npz"
    path.write_bytes(corrupt(valid))
    with pytest.raises(FeatureStoreError, match=message) as info:
        load_features(path)
    assert "bad.npz" in str(info.value)


@pytest.mark.parametrize("make", [lambda p: p / "missing.npz", lambda p: p],
                         ids=["missing", "folder"])
def test_missing_store_raises_feature_store_error(tmp_path, make):
    with pytest.raises(FeatureStoreError, match="not found"):
        load_features(make(tmp_path))


def test_store_is_a_zip_with_compressed_members(features, tmp_path):
    path = save_features(features, tmp_path / "f.npz")
    with zipfile.ZipFile(path) as z:
        assert {i.compress_type for i in z.infolist()} == {zipfile.ZIP_DEFLATED}


def test_np_load_without_pickle_gives_the_features_labels_and_names(with_skips, tmp_path):
    path = save_features(with_skips, tmp_path / "f.npz")
    with np.load(path, allow_pickle=False) as z:
        assert {"X", "y", "genres", "files", "track", "segment", "skipped"} <= set(z.files)
        assert z["X"].dtype == np.float32 and z["X"].shape == with_skips.X.shape == (36, 32, 13)
        np.testing.assert_array_equal(z["X"], with_skips.X)
        np.testing.assert_array_equal(z["y"], with_skips.y)
        assert z["genres"].dtype.kind == "U" and z["genres"].tolist() == list(with_skips.genres)
        assert z["files"].dtype.kind == "U" and z["files"].tolist() == list(with_skips.files)
        assert z["skipped"].dtype.kind == "U" and z["skipped"].tolist() == [list(s) for s in with_skips.skipped]
        genre_of_row = z["genres"][z["y"]]
        file_of_row = z["files"][z["track"]]
    assert [f.split("/")[0] for f in file_of_row] == genre_of_row.tolist()


def test_a_store_with_nothing_skipped_has_an_empty_skipped_table(features, tmp_path):
    path = save_features(features, tmp_path / "f.npz")
    with np.load(path, allow_pickle=False) as z:
        assert z["skipped"].shape == (0, 2)
    assert load_features(path).skipped == ()


def test_x_is_read_back_bit_for_bit(features, tmp_path):
    X = features.X.copy()
    X.flat[:4] = [-0.0, np.float32(1e-45), np.finfo(np.float32).max, -np.finfo(np.float32).tiny]
    path = save_features(replace(features, X=X), tmp_path / "f.npz")
    back = load_features(path).X
    assert back.dtype == np.float32 and back.flags.c_contiguous and back.shape == X.shape
    np.testing.assert_array_equal(back.view(np.uint32), X.view(np.uint32))


def test_names_that_are_not_valid_utf_8_survive(features, tmp_path):
    odd = ("blues/caf\u00e9.wav", "metal/\udcff-not-utf8.wav") + features.files[2:]  # os.fsdecode of a Latin-1 name
    fs = replace(features, files=odd, skipped=(("rock/\udce9.wav", "cannot decode"),))
    back = load_features(save_features(fs, tmp_path / "f.npz"))
    assert back.files == odd and back.skipped == fs.skipped


def test_a_format_2_store_is_still_read(with_skips, tmp_path):
    meta = {"format": 2, "genres": list(with_skips.genres), "files": list(with_skips.files),
            "params": with_skips.params.to_dict(), "skipped": [list(x) for x in with_skips.skipped],
            "key": with_skips.key, "root": with_skips.root, "meta": with_skips.meta,
            "X_shape": list(with_skips.X.shape)}
    planes = np.ascontiguousarray(with_skips.X.astype("<f4").reshape(-1).view(np.uint8).reshape(-1, 4).T)
    path = tmp_path / "v2.npz"
    np.savez_compressed(path, X=planes, y=with_skips.y, track=with_skips.track, segment=with_skips.segment,
                        meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))
    back = load_features(path)
    _assert_same(with_skips, back)
    assert back.skipped == with_skips.skipped and back.key == with_skips.key and back.meta == with_skips.meta


def test_a_format_2_store_stays_a_cache_hit(gtzan_copy, tmp_path, params, monkeypatch):
    from genre.data import extract as extract_mod
    from genre.data.extract import extract_to_store

    out = tmp_path / "f.npz"
    fs, _ = extract_to_store(gtzan_copy, params, out)
    meta = {"format": 2, "genres": list(fs.genres), "files": list(fs.files), "params": fs.params.to_dict(),
            "skipped": [], "key": fs.key, "root": fs.root, "meta": {}, "X_shape": list(fs.X.shape)}
    planes = np.ascontiguousarray(fs.X.astype("<f4").reshape(-1).view(np.uint8).reshape(-1, 4).T)
    np.savez_compressed(out, X=planes, y=fs.y, track=fs.track, segment=fs.segment,
                        meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))
    monkeypatch.setattr(extract_mod, "extract_features", lambda *a, **k: pytest.fail("re-extracted"))
    again, hit = extract_to_store(gtzan_copy, params, out)
    assert hit and np.array_equal(again.X, fs.X)


def test_a_format_1_store_is_still_read(with_skips, tmp_path):
    meta = {"format": 1, "genres": list(with_skips.genres), "files": list(with_skips.files),
            "params": with_skips.params.to_dict(), "skipped": [list(x) for x in with_skips.skipped],
            "key": with_skips.key, "root": with_skips.root, "meta": with_skips.meta}
    path = tmp_path / "v1.npz"
    np.savez_compressed(path, X=with_skips.X, y=with_skips.y, track=with_skips.track, segment=with_skips.segment,
                        meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))
    back = load_features(path)
    _assert_same(with_skips, back)
    assert back.skipped == with_skips.skipped and back.key == with_skips.key


def test_json_export_import_round_trip(with_skips, tmp_path):
    path = export_json(with_skips, tmp_path / "data.json")
    back = import_json(path)
    _assert_same(with_skips, back)
    assert back.has_tracks


def test_the_notebooks_load_data_reads_our_export(features, tmp_path):
    path = export_json(features, tmp_path / "data.json")
    X, y = _notebook_load_data(path)
    assert X.shape == features.X.shape == (36, 32, 13)
    assert y.shape == (36,)
    np.testing.assert_allclose(X, features.X, rtol=1e-6)
    np.testing.assert_array_equal(y, features.y)
    assert json.loads(path.read_text())["mapping"] == ["blues", "metal", "rock"]


def test_importing_a_pure_notebook_json_has_no_tracks(tmp_path):
    rng = np.random.default_rng(0)
    data = {"mapping": ["blues", "rock"], "mfcc": rng.normal(size=(6, 4, 13)).tolist(), "labels": [0, 0, 0, 1, 1, 1]}
    path = tmp_path / "data.json"
    path.write_text(json.dumps(data))
    fs = import_json(path)
    assert fs.X.shape == (6, 4, 13) and fs.X.dtype == np.float32
    assert fs.y.tolist() == [0, 0, 0, 1, 1, 1]
    assert fs.genres == ("blues", "rock")
    assert fs.has_tracks is False
    assert fs.params.n_mfcc == 13
    assert fs.track.tolist() == [-1] * 6


def test_import_json_uses_given_params(tmp_path):
    path = tmp_path / "data.json"
    path.write_text(json.dumps({"mapping": ["a", "b"], "mfcc": [[[0.0] * 20]] * 2, "labels": [0, 1]}))
    p = FeatureParams(n_mfcc=20)
    assert import_json(path, params=p).params == p


@pytest.mark.parametrize("content, message", [
    (None, "not found"),
    ("{not json", "not the notebook's JSON"),
    (json.dumps({"mfcc": [], "labels": []}), "not the notebook's JSON"),
    (json.dumps({"mapping": ["a"], "mfcc": [[1, 2], [3, 4]], "labels": [0, 0]}), "rows of frames"),
    (json.dumps({"mapping": ["a"], "mfcc": [[[1.0]], [[2.0]]], "labels": [0]}), "one label per row"),
    (json.dumps({"mapping": ["a"], "mfcc": [[[1.0]], [[2.0]]], "labels": [0, 1]}), "index into 'mapping'"),
    (json.dumps({"mapping": ["a"], "mfcc": [[[1.0]], [[2.0]]], "labels": [0, -1]}), "index into 'mapping'"),
    (json.dumps({"mapping": ["a"], "mfcc": [[[1.0]], [[2.0, 3.0]]], "labels": [0, 0]}), "not the notebook's JSON"),
    (json.dumps([1, 2, 3]), "not the notebook's JSON"),
], ids=["missing", "bad-json", "no-mapping", "2d-mfcc", "label-count", "label-too-big", "label-negative",
        "ragged", "a-list"])
def test_bad_notebook_json_raises_feature_store_error(tmp_path, content, message):
    path = tmp_path / "data.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(FeatureStoreError, match=message):
        import_json(path)


def test_summary_counts_rows_per_genre(features):
    s = features.summary()
    assert s["rows"] == 36 and s["tracks"] == 12 and s["input_shape"] == [32, 13]
    assert s["rows_per_genre"] == {"blues": 12, "metal": 12, "rock": 12}


def test_segments_per_file_and_the_files_that_gave_fewer(features):
    from dataclasses import replace

    counts = features.segments_per_file()
    assert counts.tolist() == [3] * len(features.files) and features.short_files() == []
    keep = ~((features.track == 0) & (features.segment > 0))  # file 0 gave one segment of three
    fewer = replace(features, X=features.X[keep], y=features.y[keep], track=features.track[keep],
                    segment=features.segment[keep])
    assert fewer.short_files() == [(features.files[0], 1)]
    assert fewer.summary()["short"] == 1


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_written_files_follow_the_umask_like_any_new_file(features, tmp_path, umask, mask, mode):
    from genre.atomic import write_text

    umask(mask)
    (tmp_path / "plain.txt").write_text("x")
    assert (tmp_path / "plain.txt").stat().st_mode & 0o777 == mode  # what a user's own files get
    assert save_features(features, tmp_path / "f.npz").stat().st_mode & 0o777 == mode
    assert export_json(features, tmp_path / "f.json").stat().st_mode & 0o777 == mode
    write_text(tmp_path / "status.json", "{}")
    assert (tmp_path / "status.json").stat().st_mode & 0o777 == mode


@pytest.mark.parametrize("mask, mode", [(0o022, 0o755), (0o077, 0o700)])
def test_atomic_folders_follow_the_umask_like_any_new_folder(tmp_path, umask, mask, mode):
    from genre.atomic import atomic_dir

    umask(mask)
    with atomic_dir(tmp_path / "out") as tmp:
        (tmp / "inside.txt").write_text("x")
    assert (tmp_path / "out").stat().st_mode & 0o777 == mode
    assert (tmp_path / "out" / "inside.txt").stat().st_mode & 0o777 == mode & 0o666


def test_reading_the_umask_leaves_it_unchanged(umask):
    from genre.atomic import current_umask

    umask(0o027)
    assert current_umask() == 0o027
    assert umask(0o027) == 0o027


@pytest.mark.parametrize("max_segments, short", [(30, ["a.wav"]), (2, [])])
def test_a_whole_track_is_short_only_when_shorter_than_the_duration(features, max_segments, short):
    """With the whole track, a song gives as many segments as fit (up to max_segments): fewer than
    max_segments is no shortage; fewer than num_segments (a track shorter than the duration) is."""
    from dataclasses import replace

    params = features.params.replace(excerpt="whole", max_segments=max_segments)
    n = len(features.files)
    track = np.repeat(np.arange(n), [2] + [6] * (n - 1))  # file 0 shorter than the duration, the others longer
    whole = replace(features, params=params, files=("a.wav", *features.files[1:]), track=track,
                    X=np.zeros((len(track), *features.X.shape[1:]), features.X.dtype), y=np.zeros(len(track), int),
                    segment=np.zeros(len(track), int))
    assert params.num_segments == 3
    assert [f for f, _ in whole.short_files()] == short
