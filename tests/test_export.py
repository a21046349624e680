"""Tests for genre.learn.export (bundle zips out and, safely, back in; features out) and ``predict --csv``."""

import csv
import io
import json
import re
import stat
import zipfile
from pathlib import Path

import numpy as np
import pytest

from genre.errors import BundleError
from genre.learn.bundle import INFO_FILE, MODEL_FILE, list_bundles, load_bundle
from genre.learn.export import bundle_zip, features_json_bytes, features_npz_bytes, import_bundle_zip


def _zip(members: dict[str, bytes], *, symlinks: tuple[str, ...] = ()) -> bytes:
    """A zip of ``name -> bytes``; names in ``symlinks`` become symbolic-link entries."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            if name in symlinks:
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, data)
    return buf.getvalue()


@pytest.fixture(scope="module")
def parts(bundle_dir) -> dict[str, bytes]:
    """The tiny bundle's two files."""
    return {INFO_FILE: (bundle_dir / INFO_FILE).read_bytes(), MODEL_FILE: (bundle_dir / MODEL_FILE).read_bytes()}


def _left_behind(models: Path) -> list[str]:
    return sorted(p.name for p in models.iterdir()) if models.exists() else []


# --- the round trip ------------------------------------------------------------------------------

def test_a_zipped_bundle_imported_elsewhere_predicts_the_same(bundle, bundle_dir, gtzan, tmp_path):
    from genre.learn.predict import predict_file

    data = bundle_zip(bundle_dir)
    assert sorted(zipfile.ZipFile(io.BytesIO(data)).namelist()) == [f"tiny/{INFO_FILE}", f"tiny/{MODEL_FILE}"]
    path = import_bundle_zip(data, tmp_path / "models")
    assert path == tmp_path / "models" / "tiny"
    assert _left_behind(tmp_path / "models") == ["tiny"]  # no temporary folder left
    imported = load_bundle(path)
    assert imported.genres == bundle.genres and imported.params == bundle.params
    assert imported.name == "tiny" and "imported" in imported.info
    clip = gtzan / "metal" / "metal.00001.wav"
    a, b = predict_file(bundle, clip), predict_file(imported, clip)
    assert a.genre == b.genre
    assert np.allclose(a.segment_probabilities, b.segment_probabilities, atol=1e-6)


def test_importing_twice_gives_two_bundles_named_apart(bundle_dir, tmp_path):
    data = bundle_zip(bundle_dir)
    first = import_bundle_zip(data, tmp_path / "models")
    second = import_bundle_zip(data, tmp_path / "models")
    named = import_bundle_zip(data, tmp_path / "models", name="my rock model")
    assert [first.name, second.name, named.name] == ["tiny", "tiny-2", "my-rock-model"]
    odd = import_bundle_zip(_zip({f"from-folder/{k}": v for k, v in _with_info(
        {INFO_FILE: (bundle_dir / INFO_FILE).read_bytes(), MODEL_FILE: (bundle_dir / MODEL_FILE).read_bytes()},
        name=["not", "a", "name"]).items()}), tmp_path / "models")
    assert odd.name == "from-folder"  # a name in bundle.json that is no string: the zip's folder instead
    assert sorted(b.path.name for b in list_bundles(tmp_path / "models")) == ["from-folder", "my-rock-model", "tiny",
                                                                              "tiny-2"]
    # The model keeps its own name (the folder's -2 means nothing to a user); the label says it is a copy.
    assert sorted(b.label for b in list_bundles(tmp_path / "models")) == [
        "from-folder (imported)", "my rock model (imported)", "tiny (imported)", "tiny (imported)"]


@pytest.mark.parametrize("layout", ["top-level", "one-folder", "mac-litter"])
def test_a_bundle_at_the_top_or_in_one_folder_is_accepted(parts, tmp_path, layout):
    members = {"top-level": parts,
               "one-folder": {f"shared/{k}": v for k, v in parts.items()},
               "mac-litter": {**{f"m/{k}": v for k, v in parts.items()}, "__MACOSX/m/._bundle.json": b"x",
                              "m/.DS_Store": b"x"}}[layout]
    path = import_bundle_zip(_zip(members), tmp_path / "models")
    assert {p.name for p in path.iterdir()} == {INFO_FILE, MODEL_FILE}
    assert load_bundle(path, load_model=False).genres == ("blues", "metal", "rock")


def test_zipping_a_folder_that_is_not_a_bundle_is_an_error(tmp_path):
    with pytest.raises(BundleError, match="model.keras missing"):
        bundle_zip(tmp_path)


# --- untrusted zips --------------------------------------------------------------------------------

def _with_info(parts: dict, **changes) -> dict:
    return {**parts, INFO_FILE: json.dumps({**json.loads(parts[INFO_FILE]), **changes}).encode()}


BAD_ZIPS = {  # name -> (members(parts), symlinks, message)
    "traversal": (lambda p: {**p, "../evil.txt": b"x"}, (), "unsafe path '../evil.txt'"),
    "traversal-inside": (lambda p: {**{f"b/{k}": v for k, v in p.items()}, "b/../../evil": b"x"}, (), "unsafe path"),
    "absolute": (lambda p: {**p, "/tmp/evil.txt": b"x"}, (), "unsafe path '/tmp/evil.txt'"),
    "windows-absolute": (lambda p: {**p, "C:/evil.txt": b"x"}, (), "unsafe path"),
    "symlink": (lambda p: {**p, "link": b"/etc/passwd"}, ("link",), "symbolic link 'link'"),
    "symlinked-model": (lambda p: {INFO_FILE: p[INFO_FILE], MODEL_FILE: b"/etc/passwd"}, (MODEL_FILE,),
                        "symbolic link"),
    "too-many-members": (lambda p: {**p, **{f"x/{i}": b"" for i in range(100)}}, (), "102 entries"),
    "missing-model": (lambda p: {INFO_FILE: p[INFO_FILE]}, (), "model.keras is missing"),
    "missing-info": (lambda p: {MODEL_FILE: p[MODEL_FILE]}, (), "no bundle.json"),
    "too-deep": (lambda p: {f"a/b/{k}": v for k, v in p.items()}, (), "no bundle.json at its top or in one top folder"),
    "two-bundles": (lambda p: {**p, **{f"b/{k}": v for k, v in p.items()}}, (), "holds 2 bundles"),
    "garbage-model": (lambda p: {**p, MODEL_FILE: b"not a keras file"}, (), "model.keras is not a readable Keras archive"),
    "model-does-not-fit-the-genres": (lambda p: _with_info(p, genres=["a", "b", "c", "d"]), (),
                                      "predicts 3 genres"),
    "unreadable-info": (lambda p: {**p, INFO_FILE: b"{nope"}, (), "unreadable or incomplete"),
}


@pytest.mark.parametrize("case", list(BAD_ZIPS))
def test_an_unsafe_or_broken_zip_is_refused_and_leaves_nothing(parts, tmp_path, case):
    members, links, message = BAD_ZIPS[case]
    models = tmp_path / "models"
    with pytest.raises(BundleError, match=message.replace("(", r"\(").replace(")", r"\)")) as caught:
        import_bundle_zip(_zip(members(parts), symlinks=links), models)
    assert ".import-" not in str(caught.value)  # the message names the zip, not a temporary folder
    assert _left_behind(models) == []
    assert not (tmp_path / "evil.txt").exists()


def test_a_zip_bomb_is_refused_by_its_unpacked_size(parts, tmp_path):
    bomb = _zip({**parts, "padding.bin": bytes(20_000_000)})  # 20 MB of zeros in ~20 kB
    assert len(bomb) < 200_000
    with pytest.raises(BundleError, match="unpacks to 2.* bytes, more than the 10,000,000 accepted"):
        import_bundle_zip(bomb, tmp_path / "models", max_bytes=10_000_000)
    assert _left_behind(tmp_path / "models") == []


def test_a_member_larger_than_its_header_says_is_cut_off_while_unpacking(parts, tmp_path, monkeypatch):
    import genre.learn.export

    monkeypatch.setattr(genre.learn.export, "_bundle_members", lambda zf, limit: "")  # the header check passed (it lied)
    with pytest.raises(BundleError, match="a zip bomb"):
        import_bundle_zip(_zip(parts), tmp_path / "models", max_bytes=len(parts[INFO_FILE]) + 10)
    assert _left_behind(tmp_path / "models") == []


@pytest.mark.parametrize("data", [b"", b"not a zip at all", b"PK\x03\x04 truncated"])
def test_bytes_that_are_not_a_zip_are_refused(data, tmp_path):
    with pytest.raises(BundleError, match="not a readable zip"):
        import_bundle_zip(data, tmp_path / "models")
    assert _left_behind(tmp_path / "models") == []


def test_a_model_with_code_in_it_is_refused_before_keras_reads_it(parts, tmp_path):
    from genre.learn.model import import_keras

    keras = import_keras()
    inputs = keras.Input((32, 13))
    x = keras.layers.Flatten()(keras.layers.Lambda(lambda x: x * 2.0)(inputs))
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x))  # Functional, as ours are
    model.save(tmp_path / "lambda.keras")
    data = _zip({INFO_FILE: parts[INFO_FILE], MODEL_FILE: (tmp_path / "lambda.keras").read_bytes()})
    with pytest.raises(BundleError, match="names keras.layers.Lambda, which no network of this workbench uses"):
        import_bundle_zip(data, tmp_path / "models")
    assert _left_behind(tmp_path / "models") == []


def _edited_model(model_bytes: bytes, edit) -> bytes:
    """The .keras archive with its config.json passed through ``edit`` (what an attacker hand-crafts)."""
    import json

    src, out = zipfile.ZipFile(io.BytesIO(model_bytes)), io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info.filename, json.dumps(edit(json.loads(data))) if info.filename == "config.json" else data)
    return out.getvalue()


def _first_layer(config: dict) -> dict:
    return config["config"]["layers"][1]


@pytest.mark.parametrize("case, message", [
    ("module outside keras", "names os.system"),
    ("custom object", "(my_package>Evil)"),
    ("unknown keras class", "names keras.layers.TFSMLayer"),
    ("nested in a regularizer", "names builtins.eval"),
])
def test_a_model_naming_a_class_our_networks_never_use_is_refused_before_keras_reads_it(parts, tmp_path, monkeypatch,
                                                                                         case, message):
    """safe_mode has had bypasses: the archive's config may name only what MODEL_KINDS builds."""
    import genre.learn.bundle

    def edit(config):
        layer = _first_layer(config)
        if case == "module outside keras":
            layer.update(module="os", class_name="system")
        elif case == "custom object":
            layer["registered_name"] = "my_package>Evil"
        elif case == "unknown keras class":
            layer["class_name"] = "TFSMLayer"
        else:
            layer["config"]["kernel_regularizer"] = {"module": "builtins", "class_name": "eval", "config": {}}
        return config

    loaded = []
    monkeypatch.setattr(genre.learn.bundle, "load_bundle", lambda *a, **k: loaded.append(a))  # must never be reached
    data = _zip({INFO_FILE: parts[INFO_FILE], MODEL_FILE: _edited_model(parts[MODEL_FILE], edit)})
    with pytest.raises(BundleError, match=re.escape(message)):
        import_bundle_zip(data, tmp_path / "models")
    assert loaded == [] and _left_behind(tmp_path / "models") == []


def test_a_keras_archive_with_extra_files_is_refused(parts, tmp_path):
    src, out = zipfile.ZipFile(io.BytesIO(parts[MODEL_FILE])), io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
        dst.writestr("assets/payload.py", "import os")
    data = _zip({INFO_FILE: parts[INFO_FILE], MODEL_FILE: out.getvalue()})
    with pytest.raises(BundleError, match="holds files a Keras model does not: assets/payload.py"):
        import_bundle_zip(data, tmp_path / "models")


# --- features ------------------------------------------------------------------------------------

def test_features_download_as_the_stores_npz_and_as_the_notebooks_json(features, tmp_path):
    from genre.data.store import import_json, save_features

    store = save_features(features, tmp_path / "f.npz")
    with np.load(io.BytesIO(features_npz_bytes(store)), allow_pickle=False) as z:
        np.testing.assert_array_equal(z["X"], features.X)
        assert z["genres"].tolist() == list(features.genres)
    data = json.loads(features_json_bytes(features))
    assert data["mapping"] == list(features.genres) and data["labels"] == features.y.tolist()
    assert np.asarray(data["mfcc"], dtype=np.float32).shape == features.X.shape
    (tmp_path / "f.json").write_bytes(features_json_bytes(features))
    back = import_json(tmp_path / "f.json")
    np.testing.assert_array_equal(back.track, features.track)


def test_a_missing_store_is_a_feature_store_error(tmp_path):
    from genre.errors import FeatureStoreError

    with pytest.raises(FeatureStoreError, match="cannot read the feature store"):
        features_npz_bytes(tmp_path / "gone.npz")


# --- predict --csv -------------------------------------------------------------------------------

def test_predict_csv_writes_one_row_per_clip(bundle, bundle_dir, gtzan, tmp_path, capsys):
    from genre.cli import main
    from genre.learn.predict import predict_file

    clips = [str(gtzan / "blues" / "blues.00000.wav"), str(tmp_path / "missing.wav"),
             str(gtzan / "rock" / "rock.00002.wav")]
    out = tmp_path / "out" / "predictions.csv"
    assert main(["predict", str(bundle_dir), *clips, "--csv", str(out)]) == 1  # one clip failed
    assert f"3 prediction(s) -> {out}" in capsys.readouterr().err
    rows = list(csv.DictReader(out.open(newline="", encoding="utf-8")))
    assert [r["file"] for r in rows] == clips
    assert list(rows[0])[:8] == ["file", "genre", "probability", "runner-up", "runner-up probability", "segments",
                                 "segment agreement", "weak"]
    expected = predict_file(bundle, clips[0])
    assert rows[0]["genre"] == expected.genre and rows[0]["error"] == ""
    assert float(rows[0]["probability"]) == pytest.approx(expected.ranked[0][1])
    assert rows[0]["segments"] == "3"
    assert "not found" in rows[1]["error"] and rows[1]["genre"] == ""
    assert [p.name for p in out.parent.iterdir()] == ["predictions.csv"]  # written atomically: no temp file left


def test_predict_csv_to_an_unwritable_place_is_one_error_line(bundle_dir, gtzan, tmp_path, capsys):
    from genre.cli import main

    (tmp_path / "a-file").write_text("x")
    clip = str(gtzan / "blues" / "blues.00000.wav")
    assert main(["predict", str(bundle_dir), clip, "--csv", str(tmp_path / "a-file" / "p.csv")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:")
