"""Scanning a GTZAN-shaped folder: one sub-folder per genre, audio files inside.

Genres are sorted by name, so a genre's label never depends on ``os.walk`` order;
files are sorted too, so ``files_per_genre`` always picks the same clips.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from genre.errors import DatasetError, ParameterError

MIN_TRACKS = 5  # fewer tracks than this in a genre earns a warning
AUDIO_EXTENSIONS = frozenset({".wav", ".flac", ".ogg", ".mp3", ".au", ".aiff", ".aif"})


def is_audio_file(path: Path) -> bool:
    """True for a visible regular file whose extension is an audio format we read."""
    return path.is_file() and not path.name.startswith(".") and path.suffix.lower() in AUDIO_EXTENSIONS


@dataclass(frozen=True)
class Dataset:
    """What a scan found.

    Attributes
    ----------
    root : Path
    genres : tuple of str
        Sorted genre names; the label of a genre is its index here.
    files : tuple of tuple of Path
        ``files[i]`` are the (sorted, possibly limited) audio files of ``genres[i]``.
    available : tuple of int
        How many audio files each genre has before ``files_per_genre`` is applied.
    """

    root: Path
    genres: tuple[str, ...]
    files: tuple[tuple[Path, ...], ...]
    available: tuple[int, ...]

    @property
    def n_files(self) -> int:
        return sum(len(f) for f in self.files)

    def items(self) -> list[tuple[Path, int]]:
        """``(path, label)`` for every selected file, genre by genre."""
        return [(path, label) for label, paths in enumerate(self.files) for path in paths]

    def counts(self) -> dict[str, int]:
        """Selected files per genre."""
        return {g: len(f) for g, f in zip(self.genres, self.files)}

    def small_genres(self, minimum: int = MIN_TRACKS) -> dict[str, int]:
        """Genres with fewer than ``minimum`` selected files: too few to learn or to test honestly."""
        return {g: n for g, n in self.counts().items() if n < minimum}

    def stamp(self) -> str:
        """A digest of the selected files' names, sizes and mtimes: it changes when any file does."""
        import hashlib

        h = hashlib.sha256()
        for path, _ in self.items():
            try:
                st = path.stat()
                size, mtime = st.st_size, st.st_mtime_ns
            except OSError:
                size = mtime = -1
            h.update(f"{path.relative_to(self.root).as_posix()}\0{size}\0{mtime}\n".encode())
        return h.hexdigest()[:24]


def folder_stamp(root: str | Path) -> tuple[int, ...]:
    """The mtimes of ``root`` and its sub-folders: they change when a clip or a genre folder is added or removed."""
    path = Path(root).expanduser()
    return tuple(p.stat().st_mtime_ns for p in [path, *sorted(path.iterdir())] if p.is_dir())


def subfolders(root: str | Path) -> list[str]:
    """The visible sub-folders of ``root`` (its candidate genres), sorted; none when it cannot be read."""
    try:
        return sorted(p.name for p in Path(root).expanduser().iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError:
        return []


def scan_dataset(root: str | Path, *, files_per_genre: int = -1,
                 genres: Sequence[str] | None = None, exclude: Sequence[str] = ()) -> Dataset:
    """Find the genres and audio files of a GTZAN-shaped folder.

    Parameters
    ----------
    root : str or Path
        Folder with one sub-folder per genre. Hidden folders and stray files at the top are ignored.
    files_per_genre : int
        -1 for all files, else at most this many (the first ones in sorted order).
    genres : sequence of str, optional
        Only these genre folders, in this order (a model's genres, for evaluation). Each must exist.
    exclude : sequence of str
        Folders that are not genres (``unlabelled/``, ``misc/``): left out. Each must exist.

    Raises
    ------
    DatasetError
        Missing folder, a file instead of a folder, no genre sub-folders, a genre with no audio.
    """
    from genre.data.workspace import check_data_root

    if not (files_per_genre == -1 or (isinstance(files_per_genre, int) and files_per_genre >= 1)):
        raise ParameterError(f"files_per_genre must be -1 (all) or a positive integer, got {files_per_genre!r}")
    check_data_root(root)  # a shared server reads only where it may (GENRE_DATA_ROOTS)
    root = Path(root).expanduser()
    if not root.exists():
        raise DatasetError(f"dataset folder not found: {root}")
    if not root.is_dir():
        raise DatasetError(f"dataset path is a file, not a folder: {root}")
    found = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    unknown = sorted(set(exclude) - set(found))
    if unknown:
        raise DatasetError(f"no folder to exclude named {', '.join(unknown)} in {root} (its folders: "
                           f"{', '.join(found) or 'none'})")
    found = [name for name in found if name not in set(exclude)]
    if genres is None:
        names = found
        if not names:
            raise DatasetError(f"no genre sub-folders in {root}: expected one folder per genre (e.g. blues/, rock/)")
    else:
        names = list(genres)
        missing = [g for g in names if g not in found]
        if missing:
            raise DatasetError(f"genre folder(s) missing in {root}: {', '.join(missing)}")
    files, available, empty = [], [], []
    for name in names:
        audio = sorted((p for p in (root / name).iterdir() if is_audio_file(p)), key=lambda p: p.name)
        if not audio:
            empty.append(name)
        available.append(len(audio))
        files.append(tuple(audio if files_per_genre == -1 else audio[:files_per_genre]))
    if empty:
        allowed = ", ".join(sorted(e.lstrip(".") for e in AUDIO_EXTENSIONS))
        raise DatasetError(f"genre folder(s) with no audio files ({allowed}) in {root}: {', '.join(empty)}")
    return Dataset(root=root, genres=tuple(names), files=tuple(files), available=tuple(available))
