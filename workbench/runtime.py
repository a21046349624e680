"""One adjustment to Streamlit's runtime, made once when the app starts.

After every script run, fragment runs included, Streamlit calls ``keras.backend.clear_session()``
when Keras is imported (``_clean_problem_modules`` in ``streamlit.runtime.scriptrunner``). Here
Keras is imported only to serve Classify's cached models (training runs in processes of their
own), and each clear costs ~0.22 s of the server's CPU and GIL: with the Train page's live view
redrawing every second, a fifth of a core, taken from the training process, for nothing. The app
builds no Keras models in its scripts, so there is nothing for the clear to free. Matplotlib's
figures are still closed after every run, as Streamlit does.
"""

from __future__ import annotations

import sys

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
