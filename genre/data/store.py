"""The feature store: MFCC rows with their labels and provenance, in one compressed ``.npz``.

``np.load(path, allow_pickle=False)`` gives everything: ``X`` (float32, rows x frames x
n_mfcc), ``y``, ``genres`` and ``files`` (str arrays; ``genres[y]`` names each row's genre,
``files[track]`` its file), ``track``, ``segment``, ``skipped`` (file, reason) and ``meta`` (the
feature parameters and cache key as JSON bytes).

Also reads and writes the notebook's JSON (``mapping``, ``mfcc``, ``labels``), so its
``load_data`` reads our export and we read its files.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from genre.atomic import atomic_path
from genre.data.params import FeatureParams
from genre.errors import FeatureStoreError, GenreError

FORMAT_VERSION = 3  # 3: every array plain (np.load gives X, names); 2 (read): X as byte planes; 1 (read)
FEATURES_VERSION = 1  # part of the cache key: bump when the same parameters would give other numbers
COMPRESS_LEVEL = 1  # zlib's fastest level (what a writer without the Huffman-only strategy uses)


def _huffman_only():
    """Deflate with zlib's Huffman-only strategy: what packs float32 features is entropy coding of their exponent
    bytes, and level 1's string matching finds almost nothing more in them at three times the cost (GTZAN-sized X,
    67.6 MB: level 1 62.9 MB in 1.57 s, Huffman only 62.6 MB in 0.56 s). Still deflate: ``np.load`` reads it."""
    return zlib.compressobj(COMPRESS_LEVEL, zlib.DEFLATED, -15, 8, zlib.Z_HUFFMAN_ONLY)


@dataclass(frozen=True, eq=False)
class FeatureSet:
    """MFCC rows of a dataset and where each came from.

    Attributes
    ----------
    X : np.ndarray [shape=(n, frames, n_mfcc), dtype=float32]
    y : np.ndarray [shape=(n,), dtype=int64]
        Genre index of each row.
    genres : tuple of str
    files : tuple of str
        Source files (relative to the dataset root), one per track.
    track : np.ndarray [shape=(n,), dtype=int32]
        Index into ``files`` of each row; -1 for all rows when the source did not record it.
    segment : np.ndarray [shape=(n,), dtype=int32]
        Segment index of each row within its track.
    params : FeatureParams
    skipped : tuple of (str, str)
        Files that could not be read, with the reason.
    key : str
        Cache key: digest of the parameters and the files' names, sizes and mtimes.
    """

    X: np.ndarray
    y: np.ndarray
    genres: tuple[str, ...]
    files: tuple[str, ...]
    track: np.ndarray
    segment: np.ndarray
    params: FeatureParams
    skipped: tuple[tuple[str, str], ...] = ()
    key: str = ""
    root: str = ""
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.y)

    @property
    def has_tracks(self) -> bool:
        """Whether each row's source track is known (False for the notebook's JSON)."""
        return bool(len(self.track)) and bool(np.all(self.track >= 0))

    def segments_per_file(self) -> np.ndarray:
        """Rows each of ``files`` gave [shape=(len(files),)] (0 for a skipped file)."""
        if not self.has_tracks:
            return np.zeros(len(self.files), dtype=np.int64)
        return np.bincount(self.track, minlength=len(self.files))

    def short_files(self) -> list[tuple[str, int]]:
        """``(file, segments)`` of the readable files shorter than ``duration``: they gave fewer segments than
        ``num_segments`` (or than ``max_segments`` of a whole track, when that is fewer).

        A whole track longer than ``duration`` gives as many segments as fit, up to ``max_segments``: its
        number depends on its length, and fewer than ``max_segments`` is no shortage.
        """
        p = self.params
        asked = min(p.num_segments, p.max_segments) if p.excerpt == "whole" else p.num_segments
        skipped = {name for name, _ in self.skipped}
        return [(f, int(n)) for f, n in zip(self.files, self.segments_per_file())
                if n < asked and f not in skipped]

    def summary(self) -> dict:
        counts = np.bincount(self.y, minlength=len(self.genres)) if len(self.y) else np.zeros(len(self.genres), int)
        return {
            "rows": len(self), "tracks": len(self.files), "skipped": len(self.skipped),
            "short": len(self.short_files()),
            "input_shape": list(self.X.shape[1:]), "rows_per_genre": dict(zip(self.genres, counts.tolist())),
        }


def cache_key(params: FeatureParams, files: list[Path], root: Path) -> str:
    """Digest of everything that determines the features: parameters, file names, sizes, mtimes.

    A file that has gone missing counts as size and mtime -1 (it is skipped, and the key differs).
    """
    h = hashlib.sha256(json.dumps({"v": FEATURES_VERSION, "params": params.cache_key()}, sort_keys=True).encode())
    for path in files:
        size, mtime = file_stamp(path) or (-1, -1)
        h.update(f"{path.relative_to(root).as_posix()}\0{size}\0{mtime}\n".encode())
    return h.hexdigest()[:24]


def file_stamp(path: Path) -> tuple[int, int] | None:
    """``(size, mtime_ns)`` of ``path``, or None when it does not exist (any more)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_size, st.st_mtime_ns


def _from_byte_planes(planes: np.ndarray, shape: list[int]) -> np.ndarray:
    """Format 2's X: 4 planes of bytes [shape=(4, X.size)], each byte position of the floats together."""
    X = np.ascontiguousarray(planes.T).view("<f4").reshape(shape)
    return X.astype(np.float32, copy=False)


def _strings(values) -> np.ndarray:
    return np.array(list(values), dtype=np.str_)


def save_features(fs: FeatureSet, path: str | Path) -> Path:
    """Write ``fs`` to a compressed ``.npz`` atomically (what ``np.savez_compressed`` writes)."""
    path = Path(path)
    meta = {"format": FORMAT_VERSION, "params": fs.params.to_dict(), "key": fs.key, "root": fs.root,
            "meta": fs.meta}
    arrays = {"X": fs.X.astype(np.float32, copy=False), "y": fs.y.astype(np.int64, copy=False),
              "genres": _strings(fs.genres), "files": _strings(fs.files),
              "track": fs.track.astype(np.int32, copy=False), "segment": fs.segment.astype(np.int32, copy=False),
              "skipped": _strings(x for pair in fs.skipped for x in pair).reshape(-1, 2),
              "meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)}
    with atomic_path(path, suffix=".npz") as tmp:
        # np.savez_compressed's layout, at a compression level it does not let us choose.
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL) as zf:
            for name, array in arrays.items():
                with zf.open(f"{name}.npy", "w", force_zip64=True) as fh:
                    if getattr(fh, "_compressor", None) is not None:  # zipfile takes no strategy: its writer's own
                        fh._compressor = _huffman_only()  # compressor, swapped before the first byte
                    np.lib.format.write_array(fh, array, allow_pickle=False)
    return path


def load_features(path: str | Path) -> FeatureSet:
    """Read a store written by :func:`save_features`.

    Raises
    ------
    FeatureStoreError
        Missing, truncated, or not a genre feature store.
    DatasetError
        Outside the folders a shared server may read (``GENRE_DATA_ROOTS``).
    """
    from genre.data.workspace import check_data_root

    check_data_root(path)
    path = Path(path)
    if not path.is_file():
        raise FeatureStoreError(f"feature store not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(bytes(z["meta"]).decode())
            if meta.get("format") not in (1, 2, FORMAT_VERSION):
                raise FeatureStoreError(f"{path}: unknown feature store format {meta.get('format')!r}")
            arrays = {k: z[k] for k in ("X", "y", "track", "segment")}
            if meta["format"] == FORMAT_VERSION:  # names as arrays; before, in the JSON
                meta.update(genres=z["genres"].tolist(), files=z["files"].tolist(), skipped=z["skipped"].tolist())
        if meta["format"] == 2:
            arrays["X"] = _from_byte_planes(arrays["X"], meta["X_shape"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError, zipfile.BadZipFile, EOFError,
            json.JSONDecodeError) as exc:
        raise FeatureStoreError(f"{path} is not a readable feature store ({exc.__class__.__name__}: {exc})") from None
    try:
        params = FeatureParams.from_dict(meta["params"])
    except GenreError as exc:
        raise FeatureStoreError(f"{path}: bad feature parameters: {exc}") from None
    return FeatureSet(X=arrays["X"], y=arrays["y"], genres=tuple(meta["genres"]), files=tuple(meta["files"]),
                      track=arrays["track"], segment=arrays["segment"], params=params,
                      skipped=tuple(tuple(s) for s in meta["skipped"]), key=meta.get("key", ""),
                      root=meta.get("root", ""), meta=meta.get("meta", {}))


def export_json(fs: FeatureSet, path: str | Path, *, indent: int | None = None) -> Path:
    """Write the notebook's JSON: ``mapping``, ``mfcc`` (rows of frames x n_mfcc) and ``labels``.

    Extra keys (``track``, ``segment``, ``files``, ``params``) are ignored by the notebook's
    ``load_data`` and let :func:`import_json` restore the track of each row.
    """
    data = {
        "mapping": list(fs.genres), "labels": fs.y.tolist(), "mfcc": fs.X.tolist(),
        "track": fs.track.tolist(), "segment": fs.segment.tolist(), "files": list(fs.files),
        "params": fs.params.to_dict(),
    }
    with atomic_path(path, suffix=".json") as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=indent)
    return Path(path)


def import_json(path: str | Path, *, params: FeatureParams | None = None) -> FeatureSet:
    """Read the notebook's JSON (or our export). Without ``track`` keys, tracks are unknown (-1)."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        genres, labels, mfcc = data["mapping"], data["labels"], data["mfcc"]
        X = np.asarray(mfcc, dtype=np.float32)
        y = np.asarray(labels, dtype=np.int64)
    except FileNotFoundError:
        raise FeatureStoreError(f"JSON feature file not found: {path}") from None
    except (OSError, ValueError, KeyError, TypeError, json.JSONDecodeError) as exc:
        raise FeatureStoreError(f"{path} is not the notebook's JSON ({exc.__class__.__name__}: {exc})") from None
    if X.ndim != 3 or len(X) != len(y) or (len(y) and (y.min() < 0 or y.max() >= len(genres))):
        raise FeatureStoreError(f"{path}: 'mfcc' must be rows of frames x coefficients with one label "
                                "per row, each an index into 'mapping'")
    if params is None:
        params = FeatureParams.from_dict(data["params"]) if "params" in data else FeatureParams(n_mfcc=X.shape[2])
    n = len(y)
    track = np.asarray(data.get("track", [-1] * n), dtype=np.int32)
    segment = np.asarray(data.get("segment", [-1] * n), dtype=np.int32)
    return FeatureSet(X=X, y=y, genres=tuple(genres), files=tuple(data.get("files", ())), track=track,
                      segment=segment, params=params, key="", root=os.fspath(path))
