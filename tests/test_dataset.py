"""Tests for genre.data.dataset: the scan rules that decide labels and which files are used."""

import random
from pathlib import Path

import pytest

from genre.data.dataset import AUDIO_EXTENSIONS, scan_dataset
from genre.errors import DatasetError, ParameterError


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")  # the scan looks at names only
    return path


def _tree(root: Path, layout: dict[str, list[str]]) -> Path:
    for genre, names in layout.items():
        (root / genre).mkdir(parents=True, exist_ok=True)
        for name in names:
            _touch(root / genre / name)
    return root


GENRE_NAMES = ["zydeco", "rock", "pop", "metal", "jazz", "hiphop", "disco", "country", "classical", "blues"]


def test_genres_are_sorted_by_name_whatever_the_creation_order(tmp_path):
    _tree(tmp_path, {g: ["a.wav"] for g in GENRE_NAMES})  # created in reverse order
    ds = scan_dataset(tmp_path)
    assert ds.genres == tuple(sorted(GENRE_NAMES))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_labels_never_depend_on_directory_listing_order(tmp_path, monkeypatch, seed):
    _tree(tmp_path, {g: ["b.wav", "a.wav", "c.wav"] for g in GENRE_NAMES})
    real_iterdir = Path.iterdir

    def shuffled(self):
        entries = list(real_iterdir(self))
        random.Random(seed).shuffle(entries)
        return iter(entries)

    monkeypatch.setattr(Path, "iterdir", shuffled)
    ds = scan_dataset(tmp_path)
    assert ds.genres == tuple(sorted(GENRE_NAMES))
    assert [[p.name for p in files] for files in ds.files] == [["a.wav", "b.wav", "c.wav"]] * len(GENRE_NAMES)
    first_of_each = [(p.parent.name, label) for p, label in ds.items()][::3]
    assert first_of_each == [(g, i) for i, g in enumerate(sorted(GENRE_NAMES))]


@pytest.mark.parametrize("name", ["x.wav", "x.WAV", "x.flac", "x.FLAC", "x.ogg", "x.Ogg", "x.mp3", "x.MP3",
                                  "x.au", "x.AU", "x.aiff", "x.AIFF", "x.aif"])
def test_audio_is_recognised_by_extension_case_insensitively(tmp_path, name):
    _tree(tmp_path, {"blues": [name]})
    assert [p.name for p in scan_dataset(tmp_path).files[0]] == [name]


def test_every_documented_format_is_an_audio_extension():
    assert {".wav", ".flac", ".ogg", ".mp3", ".au", ".aiff"} <= AUDIO_EXTENSIONS


def test_hidden_files_and_non_audio_are_ignored(tmp_path):
    _tree(tmp_path, {"blues": ["b.wav", ".hidden.wav", "._a.wav", "notes.txt", "cover.jpg", "wav", "a.flac",
                               "a.wav.bak"]})
    (tmp_path / "blues" / "sub.wav").mkdir()  # a folder named like audio is not audio
    (tmp_path / ".git").mkdir()  # hidden folders are not genres
    _touch(tmp_path / ".git" / "x.wav")
    _touch(tmp_path / "README.txt")  # stray files at the top are not genres
    ds = scan_dataset(tmp_path)
    assert ds.genres == ("blues",)
    assert [p.name for p in ds.files[0]] == ["a.flac", "b.wav"]


def test_files_are_sorted_by_name(tmp_path):
    names = ["blues.00010.wav", "blues.00002.wav", "blues.00001.au", "blues.00003.mp3"]
    _tree(tmp_path, {"blues": names, "rock": ["r.wav"]})
    assert [p.name for p in scan_dataset(tmp_path).files[0]] == sorted(names)


@pytest.mark.parametrize("limit, expected", [
    (-1, ["a.wav", "b.wav", "c.wav", "d.wav", "e.wav"]),
    (1, ["a.wav"]),
    (3, ["a.wav", "b.wav", "c.wav"]),
    (5, ["a.wav", "b.wav", "c.wav", "d.wav", "e.wav"]),
    (99, ["a.wav", "b.wav", "c.wav", "d.wav", "e.wav"]),
])
def test_files_per_genre_picks_the_first_n_sorted_files(tmp_path, limit, expected):
    _tree(tmp_path, {"blues": ["e.wav", "c.wav", "a.wav", "d.wav", "b.wav"], "rock": ["x.wav", "y.wav"]})
    ds = scan_dataset(tmp_path, files_per_genre=limit)
    assert [p.name for p in ds.files[0]] == expected
    assert ds.available == (5, 2)
    assert ds.counts() == {"blues": len(expected), "rock": min(2, 99 if limit == -1 else limit)}
    assert ds.n_files == len(expected) + ds.counts()["rock"]


@pytest.mark.parametrize("bad", [0, -2, 1.5, "3", None])
def test_bad_files_per_genre_is_a_parameter_error(tmp_path, bad):
    _tree(tmp_path, {"blues": ["a.wav"]})
    with pytest.raises(ParameterError, match="files_per_genre"):
        scan_dataset(tmp_path, files_per_genre=bad)


def test_labels_are_genre_indices(tmp_path):
    _tree(tmp_path, {"rock": ["r1.wav", "r2.wav"], "blues": ["b1.wav"]})
    assert [(p.name, label) for p, label in scan_dataset(tmp_path).items()] == [("b1.wav", 0), ("r1.wav", 1),
                                                                                 ("r2.wav", 1)]


def _missing(root: Path) -> Path:
    return root / "does-not-exist"


def _a_file(root: Path) -> Path:
    return _touch(root / "data.wav")


def _no_genres(root: Path) -> Path:
    _touch(root / "data" / "loose.wav")
    (root / "data" / ".hidden").mkdir()
    return root / "data"


def _empty_genre(root: Path) -> Path:
    _tree(root / "data", {"blues": ["a.wav"], "rock": ["notes.txt", ".b.wav"]})
    return root / "data"


@pytest.mark.parametrize("make, message", [
    (_missing, "not found"),
    (_a_file, "is a file"),
    (_no_genres, "no genre sub-folders"),
    (_empty_genre, "no audio files .* rock"),
], ids=["missing-folder", "path-is-a-file", "no-genre-folders", "genre-without-audio"])
def test_bad_dataset_folders_raise_a_clear_dataset_error(tmp_path, make, message):
    root = make(tmp_path)
    with pytest.raises(DatasetError, match=message) as info:
        scan_dataset(root)
    assert str(root) in str(info.value)


def test_requested_genres_keep_the_given_order_and_must_exist(tmp_path):
    _tree(tmp_path, {"blues": ["a.wav"], "rock": ["b.wav"], "jazz": ["c.wav"]})
    assert scan_dataset(tmp_path, genres=["rock", "blues"]).genres == ("rock", "blues")
    with pytest.raises(DatasetError, match="missing.*metal"):
        scan_dataset(tmp_path, genres=["rock", "metal"])


def test_scanning_the_tiny_fixture_dataset(gtzan):
    ds = scan_dataset(gtzan)
    assert ds.genres == ("blues", "metal", "rock")
    assert ds.counts() == {"blues": 4, "metal": 4, "rock": 4}
    assert ds.root == gtzan


def test_a_datasets_stamp_changes_with_any_file_and_the_folder_stamp_with_the_folders(tmp_path):
    import os

    from genre.data.dataset import folder_stamp

    for g in ("a", "b"):
        (tmp_path / g).mkdir()
        for i in range(2):
            (tmp_path / g / f"{g}{i}.wav").write_bytes(b"x" * (i + 1))
    first = scan_dataset(tmp_path)
    stamp, folders = first.stamp(), folder_stamp(tmp_path)
    assert scan_dataset(tmp_path).stamp() == stamp
    path = tmp_path / "a" / "a0.wav"
    os.utime(path, ns=(0, path.stat().st_mtime_ns + 10**9))  # touched: the same names, another mtime
    assert scan_dataset(tmp_path).stamp() != stamp and folder_stamp(tmp_path) == folders
    (tmp_path / "b" / "b2.wav").write_bytes(b"y")  # a new clip: the genre folder's mtime changes
    assert folder_stamp(tmp_path) != folders
