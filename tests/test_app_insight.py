"""The insight views: the feature explorer on the Features page, and the error analysis of a run.

AppTest sets a chart's or a table's selection through its widget key, in the format the browser
sends (``{"selection": {<param>: [{field: value}]}}`` for a chart point, ``{"selection": {"rows": [i]}}``
for a table row); ``tests/test_browser.py`` clicks the real ones.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from genre import plots
from genre.learn.evaluate import track_rows
from tests.app_fixtures import TIMEOUT, open_page, texts
from workbench import insight

RUN_ID = "20250101-000000-abcdef"


# --- selection events -> arguments (pure) ---------------------------------------------------------

@pytest.mark.parametrize("event, expected", [
    ({"selection": {"track": [{"track": 3}]}}, 3),
    ({"selection": {"track": [{"track": 3}, {"track": 5}]}}, 3),  # shift-click adds points: the first counts
    ({"selection": {"track": {}}}, None),  # nothing selected
    ({"selection": {"track": [{"x": 1}]}}, None),
    ({"selection": {}}, None),
    ({}, None),
    (None, None),
])
def test_selected_track(event, expected):
    assert insight.selected_track(event) == expected


@pytest.mark.parametrize("event, expected", [
    ({"selection": {"cell": [{"true": "jazz", "predicted": "blues"}]}}, ("jazz", "blues")),
    ({"selection": {"cell": {}}}, None),
    ({"selection": {"cell": [{"true": "jazz"}]}}, None),
    ({"selection": {"track": [{"true": "jazz", "predicted": "blues"}]}}, None),  # another chart's parameter
    (None, None),
])
def test_selected_cell(event, expected):
    assert insight.selected_cell(event) == expected


@pytest.mark.parametrize("event, expected", [
    ({"selection": {"rows": [2], "columns": []}}, 2), ({"selection": {"rows": []}}, None), ({}, None), (None, None)])
def test_selected_row(event, expected):
    assert insight.selected_row(event) == expected


def test_a_new_filter_is_a_new_table():
    keys = {insight.table_key(RUN_ID, m, c) for m in (False, True) for c in (None, ("a", "b"), ("b", "a"))}
    assert len(keys) == 6 and all(RUN_ID in k for k in keys)


def test_the_feature_map_colours_genres_from_the_one_palette():
    points = [{"x": float(i), "y": 0.0, "genre": g, "track": i, "file": f"{g}.wav", "segments": 3}
              for i, g in enumerate(["rock", "blues", "metal", "ballroom-waltz"])]
    spec = insight.map_chart(points, "pca").to_dict()
    genres = ["ballroom-waltz", "blues", "metal", "rock"]
    scale = spec["encoding"]["color"]["scale"]
    assert scale["domain"] == genres  # an explicit domain: a genre's colour does not depend on the data's order
    assert scale["range"] == [plots.genre_colors(genres)[g] for g in genres]
    assert len(set(scale["range"])) == 4


def test_past_twenty_genres_the_feature_map_tells_them_apart_by_marker():
    genres = [f"g{i:02d}" for i in range(25)]
    points = [{"x": float(i), "y": 0.0, "genre": g, "track": i, "file": f"{g}.wav", "segments": 1}
              for i, g in enumerate(genres)]
    encoding = insight.map_chart(points, "pca").to_dict()["encoding"]
    pairs = set(zip(encoding["color"]["scale"]["range"], encoding["shape"]["scale"]["range"]))
    assert encoding["shape"]["scale"]["domain"] == genres and len(pairs) == 25


# --- the feature explorer -------------------------------------------------------------------------

def charts(at, prefix: str) -> list:
    return [c for c in at.get("vega_lite_chart") if (c.key or "").startswith(prefix)]


@pytest.fixture
def features_page(home, tiny):
    at = open_page("features", dataset_root=str(tiny.root), features=tiny.features,
                   features_path=str(tiny.store)).run()
    assert not at.exception
    return at


def test_the_features_page_maps_the_tracks_and_a_selected_point_plays_it(features_page, tiny):
    at, fs = features_page, tiny.features
    assert at.radio(key="explore_method").options == ["PCA", "t-SNE"]
    assert len(charts(at, f"explore-{fs.key}-pca")) == 1
    images = len(at.image)
    at.session_state[f"explore-{fs.key}-pca"] = {"selection": {"track": [{"track": 5}]}}
    at.run()
    assert not at.exception
    assert f"**{fs.files[5]}**" in texts(at.markdown)
    assert len(at.get("audio")) == 1
    assert len(at.image) == images + 1  # its MFCCs


def test_t_sne_is_one_click_away(features_page, tiny):
    at = features_page
    at.radio(key="explore_method").set_value("tsne").run()
    assert not at.exception
    assert len(charts(at, f"explore-{tiny.features.key}-tsne")) == 1


def test_a_track_whose_file_is_gone_is_still_shown_without_sound(features_page, tiny, tmp_path):
    from dataclasses import replace

    fs = replace(tiny.features, root=str(tmp_path / "moved"))
    at = open_page("features", dataset_root=str(tiny.root), features=fs, features_path=str(tiny.store)).run()
    at.session_state[f"explore-{fs.key}-pca"] = {"selection": {"track": [{"track": 0}]}}
    at.run()
    assert not at.exception
    assert "Cannot play" in texts(at.warning) and not at.get("audio")
    assert f"**{fs.files[0]}**" in texts(at.markdown)


# --- the error analysis ---------------------------------------------------------------------------

def analysis_script(path: str) -> None:
    from pathlib import Path

    from genre.jobs.runs import Run
    from workbench import insight

    insight.error_analysis_ui(Run(Path(path)))


def fabricated_run(folder: Path, tiny, *, tracks: bool | None = True) -> Path:
    """A finished run of the tiny features, its test tracks made up: every third one misclassified."""
    fs = tiny.features
    n = len(fs.genres)
    rows = np.flatnonzero(fs.segment < 2)
    truth = fs.y[rows]
    guess = np.where(fs.track[rows] % 3 == 0, (truth + 1) % n, truth)
    probs = np.full((len(rows), n), 0.1 / (n - 1))
    probs[np.arange(len(rows)), guess] = 0.9
    path = folder / RUN_ID
    path.mkdir(parents=True)
    result = {"metrics": {"split": "track"}}
    if tracks is None:
        result["tracks"] = []
    elif tracks:
        result["tracks"] = track_rows(probs, truth, fs.track[rows], fs.segment[rows], fs.files, fs.genres)
    (path / "run.json").write_text(json.dumps({"name": "fab", "dataset": str(tiny.root), "genres": list(fs.genres),
                                               "feature_params": fs.params.to_dict()}))
    (path / "status.json").write_text(json.dumps({"state": "done"}))
    (path / "result.json").write_text(json.dumps(result))
    return path


def table(at):
    (frame,) = at.dataframe
    return frame.value


def test_error_analysis_lists_the_test_tracks_and_filters_the_misclassified(tiny, tmp_path):
    at = AppTest.from_function(analysis_script, args=(str(fabricated_run(tmp_path, tiny)),),
                               default_timeout=TIMEOUT).run()
    assert not at.exception
    assert len(charts(at, f"errors-cell-{RUN_ID}")) == 1
    shown = table(at)
    assert list(shown.columns) == ["file", "true", "predicted", "probability", "agreed", "correct"]
    assert len(shown) == len(tiny.features.files) and (~shown["correct"]).sum() == 4  # tracks 0, 3, 6, 9
    at.toggle(key=f"errors-missed-{RUN_ID}").set_value(True).run()
    missed = table(at)
    assert len(missed) == 4 and not missed["correct"].any()
    assert "4 of 12 test tracks" in texts(at.caption)


def test_selecting_a_cell_filters_and_a_row_plays_the_track_and_shows_its_votes(tiny, tmp_path):
    at = AppTest.from_function(analysis_script, args=(str(fabricated_run(tmp_path, tiny)),),
                               default_timeout=TIMEOUT).run()
    g = tiny.features.genres
    at.session_state[f"errors-cell-{RUN_ID}"] = {"selection": {"cell": [{"true": g[0], "predicted": g[1]}]}}
    at.run()
    cell = table(at)
    assert len(cell) == 2 and set(cell["true"]) == {g[0]} and set(cell["predicted"]) == {g[1]}  # tracks 0 and 3
    assert f"(true {g[0]}, predicted {g[1]})" in texts(at.caption)
    at.session_state[insight.table_key(RUN_ID, False, (g[0], g[1]))] = {"selection": {"rows": [0]}}
    at.run()
    assert not at.exception
    assert f"❌ **{cell['file'].iloc[0]}**" in texts(at.markdown)
    assert "2 of 2 segments agreed" in texts(at.markdown)
    assert len(at.get("audio")) == 1 and len(at.image) == 1  # the player and the votes


@pytest.mark.parametrize("tracks, says", [(False, "before test tracks were recorded"),
                                           (None, "did not say which track each row came from")])
def test_a_run_without_test_tracks_says_why(tiny, tmp_path, tracks, says):
    at = AppTest.from_function(analysis_script, args=(str(fabricated_run(tmp_path, tiny, tracks=tracks)),),
                               default_timeout=TIMEOUT).run()
    assert not at.exception
    assert says in texts(at.info)
    assert not at.dataframe


def test_the_map_zooms_and_pans_and_fades_what_a_search_did_not_find():
    points = [{"x": float(i), "y": 0.0, "genre": g, "track": i, "file": f"{g}/{g}.0002{i}.wav", "segments": 3}
              for i, g in enumerate(["rock", "blues", "metal"])]
    spec = insight.map_chart(points, "pca", [True, False, True]).to_dict()
    params = {p["name"]: p for p in spec["params"]}
    assert params["zoom"]["bind"] == "scales" and params["zoom"]["select"]["type"] == "interval"
    rows = spec["datasets"][next(iter(spec["datasets"]))]
    assert [r["alpha"] for r in rows] == [0.95, 0.12, 0.95] and [r["size"] for r in rows] == [90, 30, 90]


def test_finding_tracks_on_the_map_by_name_and_genre(features_page, tiny):
    at, fs = features_page, tiny.features
    at.text_input(key="explore_find").set_value(Path(fs.files[5]).name).run()
    assert not at.exception and "1 of 12 tracks found; the others fade." in texts(at.caption)
    at.text_input(key="explore_find").set_value("").run()
    genre = at.multiselect(key="explore_genres").options[0]
    at.multiselect(key="explore_genres").set_value([genre]).run()
    assert "4 of 12 tracks found" in texts(at.caption)
