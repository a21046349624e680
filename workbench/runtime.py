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
# What a closed tab held (its uploads, figures, decoded clips) is freed by Python, but glibc keeps freed
# heap in its arenas, so the server's RSS only grows. A daemon thread asks glibc to give it back
# (``malloc_trim``) every half minute: cheap when there is nothing to give.

_TRIMMING = threading.Event()
TRIM_EVERY_S = 30.0


def trim_memory_periodically(every_s: float = TRIM_EVERY_S) -> bool:
    """Start (once per process) the thread that returns freed heap to the system; False where glibc has no trim."""
    name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(name) if name else None
    if libc is None or not hasattr(libc, "malloc_trim"):
        return False
    if _TRIMMING.is_set():
        return True
    _TRIMMING.set()

    def trim() -> None:
        while True:
            time.sleep(every_s)
            libc.malloc_trim(0)

    threading.Thread(target=trim, name="malloc-trim", daemon=True).start()
    return True
