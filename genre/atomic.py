"""Atomic writes: a temp file (or folder) beside the target, then ``os.replace``; and reading them back.

An interrupted write leaves the old target (or none), never a half-written one. The result gets
the mode any new file (0o666) or folder (0o777) gets under the umask, not the private 0o600/0o700
of ``tempfile``'s temp files.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

_umask_lock = threading.Lock()


def current_umask() -> int:
    """The process's umask, read without changing it where Linux reports it (/proc/self/status)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _umask_lock:  # elsewhere the only way is to set it and put it back (briefly process-wide)
        mask = os.umask(0o077)
        os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(target: str | Path, *, suffix: str = "", parents: bool = True) -> Iterator[Path]:
    """Yield a temp file path in ``target``'s folder; on success it replaces ``target``.

    ``parents=False`` for a record's files: a folder deleted meanwhile is a FileNotFoundError, not made anew.
    """
    target = Path(target)
    if parents:
        target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix + ".tmp", dir=target.parent)
    os.close(fd)
    try:
        os.chmod(tmp, 0o666 & ~current_umask())
        yield Path(tmp)
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def write_text(target: str | Path, text: str, *, parents: bool = True) -> None:
    with atomic_path(target, parents=parents) as tmp:
        tmp.write_text(text, encoding="utf-8")


def read_json(path: str | Path) -> dict | None:
    """The JSON object in ``path``, or None when it is missing, unreadable or not an object.

    What :func:`write_text` wrote is read whole or not at all, so a reader never needs to retry.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def update_json(path: str | Path, changes: dict) -> dict:
    """Merge ``changes`` into the JSON object in ``path`` (written atomically); the merged object.

    Writers take turns on a lock file beside it (``flock``), so two sessions updating different keys
    at once both keep their change: a read-merge-write without it can lose one.
    """
    import fcntl

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(f".{path.name}.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            merged = {**(read_json(path) or {}), **changes}
            write_text(path, json.dumps(merged, indent=1))
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return merged


@contextlib.contextmanager
def atomic_dir(target: str | Path) -> Iterator[Path]:
    """Yield a temp folder beside ``target``; on success it takes ``target``'s place whole."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        os.chmod(tmp, 0o777 & ~current_umask())
        yield tmp
        old = None
        if target.exists():
            old = target.with_name(f".{target.name}.{os.getpid()}.old")
            os.replace(target, old)
        os.replace(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
