"""The insight views: the feature explorer (Features page) and the error analysis (Train results).

The maps, rows and filters come from :mod:`genre.data.explore` and :mod:`genre.learn.evaluate`; this module
draws them and turns the charts' and the table's selection events into those functions' arguments
(:func:`selected_track`, :func:`selected_cell`, :func:`selected_row`: pure, tested without a browser).
"""

from __future__ import annotations

from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

from genre import plots
from genre.data import explore
from genre.data.audio import load_audio
from genre.data.params import FeatureParams
from genre.errors import GenreError
from genre.learn import evaluate

TRACK_POINT, CELL_POINT = "track", "cell"  # selection parameters: Streamlit reports selections by these names
PLAY_SECONDS = 60.0  # of a long song, the player gets its first minute


# --- selection events -> arguments ---------------------------------------------------------------

def selected_points(event, name: str) -> list[dict]:
    """The points selected under the chart parameter ``name`` (Streamlit: a list of field dicts, or {})."""
    try:
        points = event["selection"][name]
    except (KeyError, TypeError):
        return []
    return [p for p in points if isinstance(p, dict)] if isinstance(points, list) else []


def selected_track(event) -> int | None:
    """Track id of the point selected on the explorer's map, or None."""
    points = [p for p in selected_points(event, TRACK_POINT) if "track" in p]
    return int(points[0]["track"]) if points else None


def selected_cell(event) -> tuple[str, str] | None:
    """``(true, predicted)`` of the confusion-matrix cell selected, or None."""
    points = [p for p in selected_points(event, CELL_POINT) if "true" in p and "predicted" in p]
    return (str(points[0]["true"]), str(points[0]["predicted"])) if points else None


def selected_row(event) -> int | None:
    """Position of the table row selected (``selection_mode="single-row"``), or None."""
    try:
        rows = event["selection"]["rows"]
    except (KeyError, TypeError):
        return None
    return int(rows[0]) if rows else None


# --- shared pieces -------------------------------------------------------------------------------

@st.cache_data(show_spinner=False, max_entries=4, ttl=600)
def _clip(path: str, sample_rate: int, stamp: float):
    return load_audio(path, sample_rate=sample_rate, max_seconds=PLAY_SECONDS)


def play(path: Path, sample_rate: int) -> bool:
    """An audio player for ``path`` (its first minute), or a warning when it cannot be read any more."""
    try:
        y = _clip(str(path), sample_rate, path.stat().st_mtime if path.is_file() else 0.0)
    except GenreError as exc:
        st.warning(f"Cannot play `{path.name}`: {exc}", icon="🔇")
        return False
    st.audio(y, sample_rate=sample_rate)
    return True


# --- the feature explorer ------------------------------------------------------------------------

@st.cache_data(show_spinner=False, max_entries=8, ttl=3600)  # the caller says what it maps
def _embedding(key: str, method: str, _fs) -> list[dict]:
    return explore.embed(_fs, method=method)


def map_chart(points: list[dict], method: str, found: list[bool] | None = None) -> alt.Chart:
    """The tracks as points coloured by genre, with a point selection on the track id; the scroll wheel zooms
    and a drag pans (a thousand tracks overlap otherwise). Points a search did not find fade and shrink."""
    label = explore.METHODS[method].label
    pick = alt.selection_point(name=TRACK_POINT, fields=["track"], on="click")
    zoom = alt.selection_interval(bind="scales", name="zoom")
    colors, markers = plots.genre_colors({p["genre"] for p in points}), plots.genre_markers({p["genre"] for p in points})
    found = [True] * len(points) if found is None else found
    data = pd.DataFrame([{**p, "alpha": 0.95 if f else 0.12, "size": 90 if f else 30} for p, f in zip(points, found)])
    return alt.Chart(data).mark_point(filled=True).encode(
        x=alt.X("x:Q", title=f"{label} 1", axis=alt.Axis(labels=False, ticks=False), scale=alt.Scale(padding=12)),
        y=alt.Y("y:Q", title=f"{label} 2", axis=alt.Axis(labels=False, ticks=False), scale=alt.Scale(padding=12)),
        color=alt.Color("genre:N", title="Genre", scale=alt.Scale(domain=list(colors), range=list(colors.values()))),
        shape=alt.Shape("genre:N", title="Genre", scale=alt.Scale(domain=list(markers), range=list(markers.values()))),
        opacity=alt.condition(pick, alt.Opacity("alpha:Q", scale=None, legend=None), alt.value(0.3)),
        size=alt.Size("size:Q", scale=None, legend=None),
        tooltip=[alt.Tooltip("file:N", title="File"), alt.Tooltip("genre:N", title="Genre"),
                 alt.Tooltip("segments:Q", title="Segments")],
    ).add_params(pick, zoom).properties(height=420)


def explorer_ui(fs) -> None:
    """A 2-D map of the tracks of ``fs``; clicking a track plays it and shows its MFCCs."""
    st.subheader("Explore the tracks")
    what = "MFCC" if fs.params.kind.grid else "embedding value"
    st.caption(f"Each point is a track: the mean and spread of each {what} over its segments, squeezed to two "
               "dimensions. Genres that form their own clusters are easy to tell apart; mixed ones are not.")
    method = st.radio("Map", list(explore.METHODS), horizontal=True, key="explore_method",
                      format_func=lambda m: explore.METHODS[m].label,
                      help="PCA: the two directions of largest spread (distances mean something). "
                           "t-SNE: keeps neighbours together (clusters mean something, distances between them not).")
    try:
        with st.spinner(f"Mapping {len(fs.files):,} tracks with {explore.METHODS[method].label}..."):
            points = _embedding(fs.key or f"unsaved-{id(fs)}", method, fs)
    except GenreError as exc:
        st.info(f"No map: {exc}.")
        return
    left, right = st.columns([2, 3])
    text = left.text_input("Find tracks", key="explore_find", placeholder="part of a file name, e.g. 00023")
    genres = right.multiselect("Highlight genres", sorted({p["genre"] for p in points}), key="explore_genres")
    found = explore.matches(points, text=text, genres=genres)
    if text or genres:
        st.caption(f"{sum(found)} of {len(points)} tracks found; the others fade.")
    event = st.altair_chart(map_chart(points, method, found), on_select="rerun", selection_mode=TRACK_POINT,
                            key=f"explore-{fs.key}-{method}")
    track = selected_track(event)
    point = next((p for p in points if p["track"] == track), None)
    if point is None:
        st.caption(f"Click a point to hear its track and see its {'MFCCs' if fs.params.kind.grid else 'embeddings'}. "
                   "Scroll to zoom, drag to pan, double-click to "
                   "reset the view.")
        return
    track_ui(fs, point)


def track_ui(fs, point: dict) -> None:
    """The track of one point of the map: player and MFCCs."""
    st.markdown(f"**{point['file']}** · {point['genre']}")
    play(Path(fs.root) / point["file"], fs.params.sample_rate)
    rows, p = explore.track_mfccs(fs, point["track"]), fs.params
    name = Path(point["file"]).name
    if not p.kind.grid:
        st.pyplot(plots.embedding_figure(rows, segment_seconds=p.segment_samples / p.sample_rate,
                                         title=f"{name}: musicnn {p.layer} embeddings of its {point['segments']} "
                                               "segment(s)"))
        return
    st.pyplot(plots.mfcc_figure(rows, sample_rate=p.sample_rate, hop_length=p.hop_length,
                                title=f"{name}: MFCCs of its {point['segments']} segment(s), one after another"))


# --- the error analysis --------------------------------------------------------------------------

def confusion_chart(rows: list[dict], genres: list[str]) -> alt.LayerChart:
    """Test tracks by true × predicted genre, with a point selection on the cell."""
    cells = pd.DataFrame(evaluate.confusion_cells(rows, genres))
    pick = alt.selection_point(name=CELL_POINT, fields=["true", "predicted"], on="click")
    base = alt.Chart(cells).encode(
        x=alt.X("predicted:N", sort=list(genres), title="Predicted"),
        y=alt.Y("true:N", sort=list(genres), title="True"),
        tooltip=[alt.Tooltip("true:N", title="True"), alt.Tooltip("predicted:N", title="Predicted"),
                 alt.Tooltip("count:Q", title="Tracks")])
    rect = base.mark_rect(stroke="white").encode(
        color=alt.Color("count:Q", title="Tracks", scale=alt.Scale(scheme="blues")),
        opacity=alt.condition(pick, alt.value(1.0), alt.value(0.35))).add_params(pick)
    text = base.mark_text(fontSize=13).encode(
        text=alt.Text("count:Q"),
        color=alt.condition(alt.datum.count > max(cells["count"].max(), 1) / 2, alt.value("white"), alt.value("black")))
    return (rect + text).properties(height=alt.Step(34), width=alt.Step(48))


def table_key(run_id: str, misclassified: bool, cell: tuple[str, str] | None) -> str:
    """The table's widget key: a new filter is a new table, so a row position never points at another track."""
    return f"errors-table-{run_id}-{int(misclassified)}-{'|'.join(cell) if cell else ''}"


def rows_table(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame({
        "file": [r["file"] for r in rows], "true": [r["true"] for r in rows],
        "predicted": [r["predicted"] for r in rows], "probability": [r["probability"] for r in rows],
        "agreed": [f"{r['agreeing']} of {r['segments']}" for r in rows], "correct": [r["correct"] for r in rows],
    }, columns=["file", "true", "predicted", "probability", "agreed", "correct"])


def error_analysis_ui(run) -> None:
    """The test tracks of ``run`` (a :class:`genre.jobs.runs.Run`): a confusion matrix whose cells filter a table
    of tracks; selecting a track plays it and shows how its segments voted."""
    st.subheader("Error analysis: the test tracks")
    rows = (run.result() or {}).get("tracks")
    if rows is None:
        st.info("This run was made before test tracks were recorded one by one: train again to see which "
                "tracks it gets wrong.", icon="ℹ️")
        return
    if not rows:
        st.info("This run recorded no test tracks: its features did not say which track each row came from "
                "(the notebook's JSON).", icon="ℹ️")
        return
    spec = run.spec
    genres = list(spec.get("genres") or sorted({r["true"] for r in rows} | {r["predicted"] for r in rows}))
    left, right = st.columns([1, 1])
    with left:
        cell = selected_cell(st.altair_chart(confusion_chart(rows, genres), on_select="rerun",
                                             key=f"errors-cell-{run.id}"))
    with right:
        st.caption("Click a cell of this matrix of test tracks to list its tracks; double-click it to clear.")
        missed = st.toggle("Only misclassified tracks", key=f"errors-missed-{run.id}")
    shown = evaluate.filter_rows(rows, misclassified=missed, cell=cell)
    where = f" (true {cell[0]}, predicted {cell[1]})" if cell else ""
    st.caption(f"{len(shown)} of {len(rows)} test tracks{where}. Select a row to hear it and see its votes.")
    event = st.dataframe(rows_table(shown), on_select="rerun", selection_mode="single-row", hide_index=True,
                         key=table_key(run.id, missed, cell), column_config={
                             "probability": st.column_config.ProgressColumn(
                                 "probability", format="%.2f", min_value=0.0, max_value=1.0,
                                 help="Mean probability of the predicted genre over the track's segments"),
                             "agreed": st.column_config.TextColumn(help="Segments whose own vote is the predicted genre"),
                         })
    row = selected_row(event)
    if row is not None and row < len(shown):
        votes_ui(shown[row], spec, genres)


def votes_ui(row: dict, spec: dict, genres: list[str]) -> None:
    """One test track: player (when its file is still there) and its segments' votes."""
    mark = "✅" if row["correct"] else "❌"
    st.markdown(f"{mark} **{row['file']}**: true {row['true']}, predicted {row['predicted']} "
                f"({row['probability']:.0%}; {row['agreeing']} of {row['segments']} segments agreed)")
    try:
        params = FeatureParams.from_dict(spec.get("feature_params", {}))
    except GenreError as exc:
        st.warning(f"The run's feature parameters cannot be read: {exc}")
        return
    root = spec.get("dataset")
    if root:
        play(Path(root) / row["file"], params.sample_rate)
    else:
        st.caption("The run does not record its dataset folder, so the track cannot be played.")
    st.pyplot(plots.segment_votes_figure(evaluate.segment_probabilities(row), genres=genres,
                                         segment_seconds=params.segment_samples / params.sample_rate,
                                         title=f"{Path(row['file']).name}: each segment's vote"))
