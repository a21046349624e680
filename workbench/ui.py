"""Bits every page draws: the status strip, errors, cached loaders."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from genre.data import workspace
from genre.errors import GenreError
from genre.jobs.runs import phase

from . import state


@st.cache_resource(show_spinner=False, max_entries=64, ttl=3600)
def _scan(root: str, files_per_genre: int, exclude: tuple, stamp: tuple):
    from genre.data.dataset import scan_dataset

    return scan_dataset(root, files_per_genre=files_per_genre, exclude=exclude)


def clear_scans() -> None:
    _scan.clear()


def try_scan(root: str, files_per_genre: int = -1, exclude: tuple = ()):
    """``(dataset, None)`` or ``(None, message)``; never raises for bad input.

    Cached per folder; the folder's and its genre folders' mtimes key the cache, so adding or
    removing clips is seen at once.
    """
    from genre.data.dataset import folder_stamp, scan_dataset

    try:
        workspace.check_data_root(root)
        path = Path(root).expanduser()
        if not path.is_dir():
            scan_dataset(path)  # raises the DatasetError that says what is wrong
        stamp = folder_stamp(path)
        return _scan(str(path), files_per_genre, tuple(exclude), stamp), None
    except GenreError as exc:
        return None, str(exc)
    except OSError as exc:
        return None, f"cannot read {root}: {exc.strerror or exc}"


def ensure_demo() -> Path:
    """Create the demo dataset (first use only) behind a progress bar."""
    if workspace.demo_ready():
        return workspace.demo_dir()
    bar = st.progress(0.0, text="Synthesising the demo dataset (once)...")
    path = workspace.ensure_demo_dataset(on_progress=lambda d, t: bar.progress(d / t, text=f"Synthesising clip {d}/{t}"))
    bar.empty()
    return path


def status_strip(slot=None):
    """One line each for dataset, features, model and training, shown at the top of every page.

    Returns its placeholder: a page that changes the state further down (extracting features,
    choosing a model) passes it back to redraw the strip, which would otherwise show the old state.
    """
    slot = slot if slot is not None else st.empty()
    with slot.container():
        _strip()
    return slot


def _strip() -> None:
    cols = st.columns(4)
    root = state.dataset_root()
    name = Path(root).name or root
    cols[0].caption(f"**Dataset** · {name}")
    fs = state.features()
    cols[1].caption("**Features** · " + (f"{len(fs)} rows of {'×'.join(map(str, fs.X.shape[1:]))}" if fs is not None
                                        else "not extracted"))
    runs = state.runs()
    running = [r for r in runs if r.running]
    latest = state.run() or (runs[0] if runs else None)  # this tab's run, else the newest in the workspace
    if running:
        # No epoch count: the strip is drawn once per page run, so on Train it would sit at an old
        # epoch beside the live progress bar.
        cols[2].caption("**Training** · " + ("running" if len(running) == 1 else f"{len(running)} running"))
    elif latest is not None:
        cols[2].caption(f"**Training** · last run {phase(latest.state)}", help=f"{latest.name} · {latest.id}")
    else:
        cols[2].caption("**Training** · none yet")
    cols[3].caption("**Model** · " + (state.bundle_label() or "none chosen"))
    st.divider()


def stop_button(target, *, help: str, stopping: str) -> None:
    """Stop for a run or an experiment (``stop_requested``, ``request_stop()``); says so once asked."""
    asked = target.stop_requested
    if st.button("Stop", icon="⏹️", disabled=asked, key=f"stop-{target.id}", help=help):
        target.request_stop()
        asked = True
    if asked:
        st.caption(stopping)


def count(n: int, word: str) -> str:
    """``1 genre``, ``2 genres``, ``2 copies``."""
    plural = word[:-1] + "ies" if word.endswith("y") and word[-2:-1] not in "aeiou" else word + "s"
    return f"{n:,} {word if n == 1 else plural}"


def percent(x: float | None, std: float | None = None) -> str:
    """An accuracy as every page shows it: ``87.3%``; with a spread, ``87.3% ± 2.1``; ``–`` when there is none."""
    if x is None or x != x:
        return "–"
    return f"{x:.1%}" + ("" if std is None or std != std else f" ± {100 * std:.1f}")


PERCENT_COLUMN = "%.1f%%"  # an accuracy column of a table, its values times 100: the same as percent()


def fmt_seconds(s: float | None) -> str:
    if s is None:
        return "–"
    s = int(round(s))
    return f"{s // 60} min {s % 60:02d} s" if s >= 60 else f"{s} s"
