"""genre workbench: the entry point. ``streamlit run streamlit_app.py``.

Nothing on the Home page's import path loads TensorFlow; only Classify does (training runs in processes of its own).
"""

import streamlit as st

from workbench import runtime, state

runtime.skip_keras_clear_session()  # see workbench/runtime.py: 0.22 s of CPU per fragment run otherwise
runtime.keep_house_periodically()  # closed tabs' uploads, figures and caches given back to the system

st.set_page_config(page_title="genre workbench", page_icon="🎵", layout="wide")
state.sweep_once()  # leftovers of killed processes (temp files, empty reserved model folders)

pages = [
    st.Page("pages/home.py", title="Home", icon="🏠", default=True),
    st.Page("pages/dataset.py", title="Dataset", icon="📁", url_path="dataset"),
    st.Page("pages/features.py", title="Features", icon="🎛️", url_path="features"),
    st.Page("pages/train.py", title="Train", icon="🧠", url_path="train"),
    st.Page("pages/classify.py", title="Classify", icon="🎧", url_path="classify"),
    st.Page("pages/runs.py", title="Runs", icon="📊", url_path="runs"),
    st.Page("pages/experiments.py", title="Experiments", icon="🧪", url_path="experiments"),
    st.Page("pages/workspace.py", title="Workspace", icon="💾", url_path="workspace"),
]
runtime.navigate(pages)
