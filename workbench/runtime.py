"""Two adjustments to Streamlit's runtime.

After every script run, fragment runs included, Streamlit calls ``keras.backend.clear_session()``
when Keras is imported (``_clean_problem_modules`` in ``streamlit.runtime.scriptrunner``). Here
Keras is imported only to serve Classify's cached models (training runs in processes of their
own), and each clear costs ~0.22 s of the server's CPU and GIL: with the Train page's live view
redrawing every second, a fifth of a core, taken from the training process, for nothing. The app
builds no Keras models in its scripts, so there is nothing for the clear to free. Matplotlib's
figures are still closed after every run, as Streamlit does.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import runpy
import sys
import threading
import time
from pathlib import Path

import streamlit as st
from streamlit.runtime.scriptrunner import script_runner


def _close_figures() -> None:
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        plt.close("all")


def skip_keras_clear_session() -> bool:
    """Replace Streamlit's post-run clean-up with one that only closes figures; False if it has none."""
    if not hasattr(script_runner, "_clean_problem_modules"):
        return False  # a Streamlit without it: nothing to undo
    script_runner._clean_problem_modules = _close_figures
    return True


# --- every page runs through st.navigation -------------------------------------------------------------
#
# Streamlit also knows the scripts in pages/ as pages of its own (the older multipage scheme). Until
# the entry script has called st.navigation once in a server's life, a session opened at a page's URL
# (a bookmark, right after a restart) runs that script alone: no page config (a narrow layout), the
# sidebar listing file names, none of the entry script's set-up. Each page starts with
# ``runtime.through_navigation()``, which then runs the entry script instead; it runs the page.

_run = threading.local()
ENTRY = Path(__file__).resolve().parents[1] / "streamlit_app.py"


def navigate(pages) -> None:
    """What the entry script does last: ``st.navigation(pages).run()``, marked as such for the pages."""
    _run.navigating = True
    try:
        st.navigation(pages).run()
    finally:
        _run.navigating = False


def through_navigation() -> None:
    """The first line of every page: when Streamlit ran the page without the entry script, run that instead."""
    if getattr(_run, "navigating", False):
        return
    runpy.run_path(str(ENTRY), run_name="__main__")
    st.stop()


# --- memory back to the system ----------------------------------------------------------------------
#
# A closed tab's session is kept for reconnecting (server.disconnectedSessionTTL), but Streamlit's store of
# such sessions only drops an expired one when something else touches it, and never shuts it down: its
# uploads and media stay in the server. Caches expire the same lazy way. And glibc keeps freed heap in
# its arenas. A daemon thread does the housekeeping every half minute: expired sessions are shut down
# (their uploads, media and state freed), the caches of decoded audio and shared stores are cleared once
# no tab is open, and the freed heap goes back to the system (``malloc_trim``).

_HOUSEKEEPING = threading.Event()
EVERY_S = 30.0


# glibc gives each thread that allocates its own arena (up to 8 per core; the server has ~10 threads) and serves
# blocks up to 32 MB from them once such a block was freed (its mmap threshold grows): decoded clips, uploads and
# figures then fragment 16 arenas that malloc_trim cannot fully empty. Two arenas and blocks of 1 MB and more
# always mapped (and unmapped when freed) measured 429 MB a minute after the tour's tabs closed instead of 588,
# and a peak of 669 MB instead of 841 (benchmarks/bench_memory.py). MALLOC_ARENA_MAX / MALLOC_MMAP_THRESHOLD_
# in the environment win.
M_MMAP_THRESHOLD, M_ARENA_MAX = -3, -8  # mallopt's parameter numbers (malloc.h)
MALLOC_ARENAS, MMAP_FROM_BYTES = 2, 1 << 20


def _libc():
    name = ctypes.util.find_library("c")
    return ctypes.CDLL(name) if name else None


def tune_malloc() -> dict:
    """Fewer glibc arenas and large blocks always mapped, unless the environment sets them; {} without glibc."""
    import os

    libc = _libc()
    if libc is None or not hasattr(libc, "mallopt"):
        return {}
    done = {}
    if "MALLOC_ARENA_MAX" not in os.environ:
        done["arena_max"] = bool(libc.mallopt(M_ARENA_MAX, MALLOC_ARENAS))
    if "MALLOC_MMAP_THRESHOLD_" not in os.environ:
        done["mmap_threshold"] = bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_FROM_BYTES))
    return done


def keep_house_periodically(every_s: float = EVERY_S) -> bool:
    """Start (once per process) the thread that gives memory back; False where there is no Streamlit runtime."""
    if _HOUSEKEEPING.is_set():
        return True
    _HOUSEKEEPING.set()
    tune_malloc()

    def loop() -> None:
        while True:
            time.sleep(every_s)
            try:
                keep_house()
            except Exception:  # housekeeping must never take the server down
                pass

    threading.Thread(target=loop, name="housekeeping", daemon=True).start()
    return True


def forget_uploads(*values) -> int:
    """Give back the memory of files a visitor uploaded or recorded (widget values: an ``UploadedFile``, a list of
    them, or None) before their widget is reset with a new key; how many were let go.

    Streamlit keeps an upload until the browser deletes it (its x) or the session ends, and a widget drawn anew
    under another key deletes nothing: without this, every clip ever cleared from Classify stays in the server
    until the tab closes (a 5-minute song: 50 MB each). Streamlit's chat input lets go of its files the same way.
    """
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    manager = getattr(ctx, "uploaded_file_mgr", None)
    if manager is None:
        return 0
    forgotten = 0
    for value in values:
        for upload in value if isinstance(value, (list, tuple)) else [value]:
            file_id = getattr(upload, "file_id", None)
            if file_id:
                manager.remove_file(ctx.session_id, file_id)
                forgotten += 1
    return forgotten


def drop_state(session) -> None:
    """Let go of a shut-down session's state: its widget values (the uploads), the callbacks they keep and,
    through those, the globals of the page it last ran (Classify's clips as bytes).

    Shutting down frees the session's uploads and media in Streamlit's managers, but not the session object:
    Streamlit's runtime loop keeps the last session it served in a local variable (``_loop_coroutine``) until
    another tab connects, so without this a closed tab's last page stays in memory, twice its uploads on Classify.
    """
    from streamlit.runtime.state import SessionState

    if hasattr(session, "_session_state"):
        session._session_state = SessionState()
    fragments = getattr(session, "_fragment_storage", None)
    if fragments is not None and hasattr(fragments, "clear"):
        fragments.clear()


def keep_house() -> dict:
    """One round: shut down expired disconnected sessions, clear caches when no tab is open, trim the heap."""
    import gc

    from streamlit import runtime

    done = {"sessions_shut": 0, "caches_cleared": False, "trimmed": False}
    if runtime.exists():
        manager = runtime.get_instance()._session_mgr
        storage = getattr(getattr(manager, "_session_storage", None), "_cache", None)
        lock = getattr(manager, "_storage_lock", None)
        if storage is not None and lock is not None and hasattr(storage, "expire"):
            with lock:
                expired = storage.expire()
            for _, info in expired:
                info.session.shutdown()
                drop_state(info.session)
            done["sessions_shut"] = len(expired)
        if manager.num_active_sessions() == 0:
            st.cache_data.clear()  # decoded clips, augmented stores, maps: remade on the next visit
            from . import state, ui

            state.clear_shared()
            ui.clear_scans()
            done["caches_cleared"] = True
    gc.collect()
    libc = _libc()
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)
        done["trimmed"] = True
    return done
