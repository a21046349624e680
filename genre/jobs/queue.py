"""One fair queue of training runs for the whole workspace, and a cap on how many train at once.

Every run the app starts, and every trial of a local experiment, is an entry in ``<workspace>/queue/``,
named ``<priority><enqueued, ns>.<run id>.<backend>`` with the run's folder inside: sorted by name, a run a
user started (priority 0) goes ahead of queued experiment trials (1), then first come, first served.
A warm worker (:mod:`genre.jobs.worker`; a *spare* while it waits) claims the first entry of its backend by
renaming it into ``claimed/`` (atomic: one claimant wins) while it holds one of :func:`max_runs` slots,
``slot-<i>.lock`` files it keeps an ``flock`` on for as long as its run trains (the lock dies with the process),
then takes the next.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from pathlib import Path

from genre.data import workspace

PRIORITY = {"app": 0, "cli": 0, "experiment": 1}  # a run's source -> its place in the queue


def folder() -> Path:
    return workspace.home() / "queue"


def max_runs() -> int:
    """How many runs train at once in this workspace: ``$GENRE_MAX_RUNS``, else half the cores (a fit already
    uses every core), at least one."""
    with contextlib.suppress(ValueError):
        wanted = int(os.environ.get("GENRE_MAX_RUNS", ""))
        if wanted >= 1:
            return wanted
    return max(1, (os.cpu_count() or 1) // 2)


def enqueue(run_path: Path, run_id: str, backend: str, priority: int) -> Path:
    """Put a run in the queue; its entry."""
    (folder() / "claimed").mkdir(parents=True, exist_ok=True)
    entry = folder() / f"{priority}{time.time_ns():020d}.{run_id}.{backend}"
    tmp = entry.with_name(f".{entry.name}.tmp")
    tmp.write_text(str(Path(run_path).resolve()))
    os.replace(tmp, entry)  # whole or absent: a claimant never reads half an entry
    return entry


def entries(backend: str | None = None) -> list[Path]:
    """The queued entries (of ``backend``), first in line first."""
    try:
        found = [p for p in folder().iterdir() if p.is_file() and p.name[0].isdigit() and p.name.count(".") == 2]
    except FileNotFoundError:
        return []
    return sorted((p for p in found if backend is None or p.name.rsplit(".", 1)[1] == backend), key=lambda p: p.name)


def _find(run_id: str, where: Path) -> Path | None:
    with contextlib.suppress(FileNotFoundError):
        for p in where.iterdir():
            if p.name.count(".") >= 2 and p.name.split(".")[1] == run_id:
                return p
    return None


def position(run_id: str) -> int | None:
    """How many entries are ahead of the run's own (of any backend: they share the slots), or None when it is not
    queued."""
    names = [p.name.split(".")[1] for p in entries()]
    return names.index(run_id) if run_id in names else None


def is_queued(run_id: str) -> bool:
    return _find(run_id, folder()) is not None


def is_claimed(run_id: str) -> bool:
    return _find(run_id, folder() / "claimed") is not None


def cancel(run_id: str) -> bool:
    """Take a queued run out of the queue; False when it was not queued (claimed already, or never)."""
    entry = _find(run_id, folder())
    if entry is None:
        return False
    try:
        entry.unlink()
    except FileNotFoundError:  # claimed meanwhile
        return False
    return True


def claim(backend: str) -> tuple[Path, Path] | None:
    """Take the first queued run of ``backend``: ``(claimed entry, run folder)``, or None when there is none."""
    for entry in entries(backend):
        target = folder() / "claimed" / entry.name
        try:
            os.rename(entry, target)  # atomic: of two claimants, one wins
        except FileNotFoundError:
            continue  # claimed or cancelled meanwhile
        return target, Path(target.read_text().strip())
    return None


HERE = "here"  # an entry's backend for a run its own process trains (the CLI's): no spare claims it


def claim_own(run_id: str) -> Path | None:
    """Take the run's own entry out of the queue (its process trains it): the claimed entry, or None when it is
    not queued (cancelled)."""
    entry = _find(run_id, folder())
    if entry is None:
        return None
    target = folder() / "claimed" / entry.name
    try:
        os.rename(entry, target)
    except FileNotFoundError:
        return None
    return target


def done(claimed: Path) -> None:
    """The claimed run has ended: its entry goes."""
    with contextlib.suppress(FileNotFoundError):
        claimed.unlink()


def take_slot() -> int | None:
    """An open file holding one of the :func:`max_runs` slots (an ``flock`` released when it closes or the
    process ends), or None when every slot is taken."""
    folder().mkdir(parents=True, exist_ok=True)
    for i in range(max_runs()):
        fd = os.open(folder() / f"slot-{i}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        return fd
    return None


@contextlib.contextmanager
def locked(name: str):
    """An exclusive lock on ``queue/<name>.lock`` (e.g. while checking for and starting a spare)."""
    folder().mkdir(parents=True, exist_ok=True)
    fd = os.open(folder() / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
