"""Workspace: what takes space on disk, and removing in bulk what is no longer needed (genre.jobs.disk)."""

import pandas as pd
import streamlit as st

from genre.data import workspace
from genre.jobs import disk
from workbench import runtime, state, ui

runtime.through_navigation()  # a page opened by URL on a fresh server runs through the entry script

st.title("💾 Workspace")
ui.status_strip()
MB = 1024 * 1024


def size(n: int) -> str:
    return f"{n / MB:,.1f} MB" if n < 1024 * MB else f"{n / MB / 1024:,.2f} GB"


def usage_ui() -> None:
    rows = disk.usage()
    st.caption(f"`{workspace.home()}` · {size(sum(r['bytes'] for r in rows))} in all.")
    table = pd.DataFrame([{"what": r["what"], "items": r["items"], "MB": round(r["bytes"] / MB, 1)} for r in rows])
    left, right = st.columns([2, 3])
    left.dataframe(table, hide_index=True)
    right.bar_chart(table, x="what", y="MB", horizontal=True, height=260)


def caches_ui() -> None:
    st.subheader("Feature caches no run needs")
    unused = disk.unused_feature_caches(keep=[p for p in [state.features_path()] if p])
    if not unused:
        st.caption("Every feature cache is used by a run (or is the one in use on the Features page).")
        return
    total = sum(map(disk.size_of, unused))
    st.caption(f"{ui.count(len(unused), 'cache file')} ({size(total)}) that no run of the workspace or of an experiment "
               "trained on, and that is not the features in use: extracting those settings again would remake them.")
    if st.button(f"Remove them ({size(total)})", icon="🧹"):
        st.success(f"Removed: {size(disk.remove(unused))} freed.")
        st.rerun()


def _delete_runs(ids: list[str]) -> None:
    st.session_state["confirm_bulk"] = False
    freed, failed = 0, []
    for run in state.runs():
        if run.id in ids:
            try:
                freed += disk.size_of(run.path) + (disk.size_of(run.bundle_path) if run.bundle_path else 0)
                run.delete()
            except OSError as exc:
                failed.append(f"{run.name}: {exc}")
    st.session_state["bulk_result"] = (freed, failed)


def runs_ui() -> None:
    st.subheader("Runs, in bulk")
    c1, c2 = st.columns(2)
    states = c1.multiselect("State", ["failed", "stopped", "done"], default=["failed"], key="bulk_states",
                            help="Runs in flight are never chosen.")
    days = c2.number_input("Created more than ... days ago (0: any)", 0, 3650, 0, key="bulk_days")
    chosen = disk.select_runs(state.runs(), states=states, older_than_days=days or None)
    if not chosen:
        st.caption("No run matches.")
        return
    st.dataframe(pd.DataFrame([{"run": r.name, "state": r.state, "id": r.id} for r in chosen]), hide_index=True,
                 height=min(300, 38 + 35 * len(chosen)))
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    confirm = left.checkbox(f"Yes, delete these {ui.count(len(chosen), 'run')} and their saved models",
                            key="confirm_bulk")
    right.button("Delete", icon="🗑️", disabled=not confirm, on_click=_delete_runs, args=([r.id for r in chosen],),
                 key="bulk_delete")


usage_ui()
if "bulk_result" in st.session_state:
    freed, failed = st.session_state.pop("bulk_result")
    st.success(f"Deleted: {size(freed)} freed.")
    for line in failed:
        st.error(f"Could not delete {line}")
caches_ui()
runs_ui()
st.caption("Experiments are deleted on the Experiments page; an experiment can keep only its best trial's model "
           "(or none) when it is started.")
