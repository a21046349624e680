"""Real-browser flows: ``streamlit run streamlit_app.py`` driven by Playwright in Debian's chromium.

One server per module, on a free port, with ``$GENRE_HOME`` in a temporary folder. Before it starts,
a subprocess prepares that folder through the library: the demo dataset (so "Set up the demo dataset"
finds it ready instead of synthesising it for ~20 s) and one small saved model bundle
("fixture-model"), so each test can run alone and in any order. Full-page screenshots of every step
go to ``test-artifacts/screenshots/``; every step fails on a Streamlit exception box.

Run: ``python -m pytest tests/test_browser.py -m browser -s``.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

if not Path("/usr/bin/chromium").exists():
    pytest.skip("browser tests need Debian's chromium at /usr/bin/chromium (scripts/test.sh installs it)",
                allow_module_level=True)

from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: E402
from playwright.sync_api import (
    expect,  # noqa: E402
    sync_playwright,  # noqa: E402  (after the skip on purpose)
)

from tests.browser_kit import (  # noqa: E402
    CHARTS_DRAWN_JS,
    DEMO_GENRES,
    REPO,
    SHOTS,
    TRAIN_WAIT_S,
    app_env,
    extract,
    launch_browser,
    live_epochs,
    new_tab,
    set_up_demo,
    start_server,
    start_training,
    stop_server,
)

# The flow's network: ~4 s an epoch here on 216 training rows, so the 1 s live redraw shows every epoch
# (the default network does 3 epochs of the demo in ~0.3 s, between two redraws).
SLOW_LAYERS, SLOW_BATCH = "3072, 3072", 8
FIXTURE_MODEL = "fixture-model"

# Runs in a subprocess with $GENRE_HOME set: the demo dataset plus one small saved bundle.
PREPARE = f"""
from genre.data import workspace
from genre.data.params import FeatureParams
from genre.learn.config import ModelConfig, TrainConfig
from genre.data.extract import extract_to_store
from genre.jobs.runs import create_run
from genre.jobs.execution import execute

root = workspace.ensure_demo_dataset()
params = FeatureParams(duration=6.0, num_segments=3, files_per_genre=4)
store = workspace.features_path(root, params)
fs, _ = extract_to_store(root, params, store)
run = create_run(workspace.runs_dir(), features_path=store, features=fs, train_config=TrainConfig(epochs=3),
                 model_config=ModelConfig(hidden_units=(32,), learning_rate=1e-3), name={FIXTURE_MODEL!r},
                 models_dir=workspace.models_dir(), source="cli")
execute(run)
assert run.state == "done", run.status()
print(run.bundle_path)
"""


def _report(request, text: str) -> None:
    """Show ``text`` in pytest's output even when output is captured (no ``-s``)."""
    plugins = request.config.pluginmanager
    tr, capman = plugins.get_plugin("terminalreporter"), plugins.get_plugin("capturemanager")
    if tr is None or capman is None:
        print(text, file=sys.stderr)
        return
    with capman.global_and_fixture_disabled():  # what capsys.disabled() does, for a module fixture
        tr.write("\n")
        tr.write_line(text)


@pytest.fixture(scope="module")
def app(request, tmp_path_factory) -> dict:
    """A running ``streamlit run streamlit_app.py``: ``{"url", "home", "log", "proc"}``.

    At the end, every run still going in that workspace is stopped, so no training process outlives the tests.
    """
    home = tmp_path_factory.mktemp("genre-home")
    log_path = home.parent / "streamlit.log"
    prep = subprocess.run([sys.executable, "-c", PREPARE], cwd=REPO, env=app_env(home), capture_output=True,
                          text=True, timeout=300)
    assert prep.returncode == 0, f"preparing $GENRE_HOME failed:\n{prep.stderr[-3000:]}"
    failed_before = request.session.testsfailed
    proc, url = start_server(home, log_path)
    info = {"url": url, "home": home, "log": log_path, "proc": proc}
    try:
        yield info
    finally:
        stop_server(info["proc"])
        _stop_all_runs(home)
        if request.session.testsfailed > failed_before:
            _report(request, f"--- last lines of the streamlit log ({log_path}) ---\n"
                             + "\n".join(log_path.read_text().splitlines()[-60:]))
        _report(request, f"browser screenshots: {SHOTS}")


def _stop_all_runs(home) -> None:
    from genre.jobs.runs import list_runs, wait

    for run in list_runs(home / "runs"):
        if run.running:
            run.request_stop()
            wait(run, timeout=60)


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = launch_browser(p)
        yield b
        b.close()


@contextlib.contextmanager
def tabs(browser, *names: str):
    """One tab per name, each in its own browser context (own cookies, so own Streamlit session).

    When the test fails, every tab is screenshotted as it is at that moment.
    """
    made = [new_tab(browser, name) for name in names]
    try:
        yield made
    except BaseException:
        for tab in made:
            with contextlib.suppress(Exception):
                tab.shot("failure")
        raise
    finally:
        print(f"\nbrowser screenshots: {SHOTS}")
        for tab in made:
            tab.page.context.close()


# --- the tests -----------------------------------------------------------------------------------

def test_a_page_opened_by_its_url_on_a_fresh_server_is_the_apps_page(app, browser):
    """The first session of a fresh server, opened at a page's URL (a bookmark): the app's navigation and
    layout, not Streamlit's file-name pages. (First in this file: the server has run no session yet.)"""
    with tabs(browser, "fresh") as (tab,):
        tab.page.goto(app["url"] + "/runs?n_mfcc=20")
        tab.text("Runs", where="h1")
        tab.settle()
        nav = tab.page.locator('[data-testid="stSidebarNav"]').inner_text()
        assert "Experiments" in nav and "streamlit app" not in nav, nav
        assert tab.page.locator('[data-testid="stMain"]').bounding_box()["width"] > 1000  # the wide layout
        tab.step("runs-by-url")


def test_demo_to_prediction_in_one_session(app, browser):
    """The whole workbench in one tab: demo -> non-default features -> live training -> classify -> runs."""
    epochs = 3
    with tabs(browser, "flow") as (tab,):
        set_up_demo(tab, app["url"])
        extract(tab, duration=10, segments=4)

        start_training(tab, epochs, layers=SLOW_LAYERS, batch=SLOW_BATCH)
        seen, charts, shot, deadline = set(), 0, False, time.monotonic() + TRAIN_WAIT_S
        saved = tab.page.get_by_text("Saved as model bundle")
        while not saved.count():
            assert time.monotonic() < deadline, f"training did not finish; epochs seen live: {sorted(seen)}"
            tab.check("training")
            epoch = live_epochs(tab, epochs)
            if epoch >= 0:
                seen.add(epoch)
                if epoch >= 2 and not shot:  # two points per curve: lines to see
                    with contextlib.suppress(PlaywrightTimeout):  # only the picture waits for the charts
                        tab.page.wait_for_function(CHARTS_DRAWN_JS, timeout=3000)
                    shot = tab.shot("training-live")
            charts = max(charts, tab.page.locator('[data-testid="stVegaLiteChart"]').count())
            time.sleep(0.2)
        tab.settle()
        # The fragment redrew the progress after every epoch (each takes seconds), and drew the live curves
        # meanwhile; the third epoch's count is on the results (the run ends right after it).
        assert {1, 2} <= seen, f"epochs not all seen live: {sorted(seen)} (screenshots: {SHOTS})"
        assert charts >= 2, f"no live accuracy/loss charts during training (screenshots: {SHOTS})"
        assert tab.metric("Epochs") == str(epochs)
        assert re.fullmatch(r"\d+\.\d%", tab.metric("Track accuracy (test, vote)"))
        assert tab.page.locator('[data-testid="stVegaLiteChart"]').count() >= 2
        assert "Training · last run done" in tab.strip()
        tab.step("train-results")

        tab.nav("Classify")
        clip = app["home"] / "demo-synthetic" / "waltz" / "waltz.00011.wav"
        tab.upload(clip)
        tab.text("Predicted genre", where='[data-testid="stMetric"]')
        tab.settle()
        assert tab.metric("Predicted genre") in DEMO_GENRES
        assert re.fullmatch(r"\d+%", tab.metric("Probability"))
        # The session's own model is chosen, with its 10 s / 4 segments: a 30 s clip is cut as its tracks were.
        assert tab.metric("Segments") == "4 × 2.50 s"
        tab.text("Used: 4 segments of 2.50 s from the first 10 s of the 30 s clip", where='[data-testid="stCaptionContainer"]')
        # The prediction ran in the predictor's worker: the server itself never loaded TensorFlow.
        assert "tensorflow" not in Path(f"/proc/{app['proc'].pid}/maps").read_text()
        assert "Model · dense-track-" in tab.strip()
        figures = tab.page.locator('[data-testid="stImage"] img')
        figures.nth(1).wait_for()
        assert all(img.evaluate("i => i.complete && i.naturalWidth > 0") for img in figures.all())
        tab.step("classify")

        tab.nav("Runs")
        tab.text("Compare", where="h3")
        tab.page.locator('[data-testid="stDataFrame"]').first.wait_for()
        tab.page.locator('[data-testid="stImage"] img').first.wait_for()
        tab.step("runs")


def test_a_run_survives_a_reload_and_any_tab_can_watch_and_stop_it(app, browser):
    """Tab A starts a run and reloads; tab B classifies meanwhile, then watches A's run and stops it."""
    epochs = 300  # long enough to be running through all of B's steps; B stops it
    progress = '[data-testid="stProgress"]'
    with tabs(browser, "runs-a", "runs-b") as (a, b):
        set_up_demo(a, app["url"])
        extract(a, duration=10, segments=4)
        start_training(a, epochs)
        a.shot("training")

        # B, a session of its own, classifies with a saved model while A's run trains.
        b.page.goto(app["url"] + "/classify")
        b.text("Classify", where="h1")
        b.settle()
        b.choose("Model", FIXTURE_MODEL)
        b.upload(app["home"] / "demo-synthetic" / "rock" / "rock.00002.wav")
        b.text("Predicted genre", where='[data-testid="stMetric"]')
        b.settle()
        assert b.metric("Predicted genre") in DEMO_GENRES
        # The fixture model learned from the first 6 s in 3 segments: a 30 s clip is cut the same way.
        assert b.metric("Segments") == "3 × 2.00 s"
        strip = b.strip()
        # B's features came back from the cache (the workspace's last settings name A's extraction); the run is
        # the workspace's, so every tab's strip shows it.
        assert "Features · 288 rows" in strip and "Training · running" in strip, strip
        assert f"Model · {FIXTURE_MODEL}" in strip, strip
        b.step("classify")

        # A leaves the Train page and comes back: the run is still going and still shown.
        a.nav("Runs")
        a.page.locator('[data-testid="stDataFrame"]').first.wait_for()
        assert "Training · running" in a.strip()
        a.step("runs-while-training")
        a.nav("Train", settle=False)
        a.text(re.compile(r"Epoch \d+/%d" % epochs), where=progress)

        # A reloads the page: a new session, yet the URL brings back the same run, live.
        assert "run=" in a.page.url, a.page.url
        a.page.reload()
        a.text(re.compile(r"Epoch \d+/%d" % epochs), where=progress)
        deadline, first = time.monotonic() + TRAIN_WAIT_S, live_epochs(a, epochs)
        while live_epochs(a, epochs) <= max(first, 0):
            assert time.monotonic() < deadline, "tab A's run made no progress after the reload"
            a.check("training")
            time.sleep(0.3)
        a.shot("after-reload")

        # B opens Train: it sees A's run live (and could start its own), and stops A's.
        b.nav("Train", settle=False)
        b.text(re.compile(r"Epoch \d+/%d" % epochs), where=progress)
        b.page.get_by_role("button", name="Start training").wait_for()
        b.shot("watching-a")
        b.page.get_by_role("button", name="Stop").click()
        b.text(re.compile(r"Run “.+”: stopped"), where="h3")
        b.settle()
        b.text("Stopped on request after", where='[data-testid="stAlert"]')
        b.step("stopped-by-b")

        # A sees the same end, drawn from the same record.
        a.text(re.compile(r"Run “.+”: stopped"), where="h3")
        a.settle()
        a.text("Saved as model bundle", where='[data-testid="stAlert"]')
        stopped_after = int(a.metric("Epochs"))
        assert 1 <= stopped_after < epochs
        assert stopped_after == int(b.metric("Epochs"))
        assert "Training · last run stopped" in a.strip()
        a.step("stopped")


def test_settings_stick_across_pages_reloads_and_new_tabs(app, browser):
    """Sliders keep their values after a visit elsewhere and a reload; the URL holds them; a new tab starts
    from the last values chosen."""
    with tabs(browser, "settings-a", "settings-b") as (a, b):
        set_up_demo(a, app["url"])
        a.nav("Features")
        a.text("Input shape", where='[data-testid="stMetric"]')
        a.set_slider("n_mfcc (coefficients)", 20)
        a.set_slider("Segments per track", 6)
        assert "n_mfcc=20" in a.page.url and "segments=6" in a.page.url, a.page.url
        a.nav("Train")
        a.set_number("Epochs", 7)
        a.nav("Features")
        a.text("Input shape", where='[data-testid="stMetric"]')
        assert a.slider_value("n_mfcc (coefficients)") == "20" and a.slider_value("Segments per track") == "6"
        a.page.reload()
        a.text("Input shape", where='[data-testid="stMetric"]')
        a.settle()
        assert a.slider_value("n_mfcc (coefficients)") == "20" and a.slider_value("Segments per track") == "6"
        a.step("features-after-reload")

        b.page.goto(app["url"] + "/train")  # a new session on another page: no URL settings, the last ones
        b.text("Train", where="h1")
        b.settle()
        # The value a user sees once the page has drawn (a heavy page may show the widget before its value).
        expect(b.page.get_by_role("spinbutton", name="Epochs", exact=True)).to_have_value("7", timeout=15000)
        b.nav("Features")
        assert b.slider_value("n_mfcc (coefficients)") == "20"
        b.step("features-in-a-new-tab")


# --- the insight views (issue 10: feature explorer, error analysis) -------------------------------------

ANALYSIS_RUN = "20000101-000000-a11a11"  # oldest id: listed last, so no other test's default run


def _analysis_run(home: Path) -> str:
    """A finished run made from the fixture model's record, its test tracks made up: every third one missed."""
    import json
    import shutil

    import numpy as np

    from genre.data.store import load_features
    from genre.jobs.runs import list_runs
    from genre.learn.evaluate import track_rows

    fixture = next(r for r in list_runs(home / "runs") if r.name == FIXTURE_MODEL)
    path = home / "runs" / ANALYSIS_RUN
    if path.exists():
        return ANALYSIS_RUN
    fs = load_features(fixture.spec["features"])
    n = len(fs.genres)
    guess = np.where(fs.track % 3 == 0, (fs.y + 1) % n, fs.y)
    probs = np.full((len(fs), n), 0.1 / (n - 1))
    probs[np.arange(len(fs)), guess] = 0.9
    result = {**fixture.result(), "tracks": track_rows(probs, fs.y, fs.track, fs.segment, fs.files, fs.genres)}
    tmp = home / "runs" / f".{ANALYSIS_RUN}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    (tmp / "run.json").write_text(json.dumps({**fixture.spec, "name": "analysis"}))
    (tmp / "status.json").write_text(json.dumps({"state": "done"}))
    (tmp / "result.json").write_text(json.dumps(result))
    tmp.rename(path)  # whole, or not at all: the server lists the runs folder meanwhile
    return ANALYSIS_RUN


def test_the_feature_explorer_plays_the_track_of_a_clicked_point(app, browser):
    """Features page: the map of the tracks shows a file on hover; clicking its point plays it and draws its MFCCs."""
    with tabs(browser, "explorer") as (tab,):
        tab.page.goto(app["url"] + "/features?duration=6&segments=3&files=4")  # the fixture's features: a cache hit
        tab.text("Features", where="h1")
        tab.settle()
        tab.page.get_by_role("button", name="Extract features").click()
        tab.text(re.compile(r"Cache hit|Extracted"), where='[data-testid="stAlert"]')
        tab.settle()
        tab.text("Explore the tracks", where="h3")
        points = tab.page.locator('[data-testid="stVegaLiteChart"] [role="graphics-symbol"][aria-label*="File: "]')
        assert points.count() == 24  # 6 genres x 4 files
        assert not tab.page.locator('[data-testid="stAudio"]').count()
        images = tab.page.locator('[data-testid="stImage"] img').count()  # the preview's MFCCs
        point = points.nth(5)
        label = point.get_attribute("aria-label")
        file = re.search(r"File: (\S+);", label).group(1)
        point.hover()
        tooltip = tab.page.locator("#vg-tooltip-element")
        tooltip.filter(has_text=file).wait_for()
        tab.act(point.click)
        tab.check("explorer-clicked")
        tab.text(f"{file} · ", where='[data-testid="stMarkdown"]')
        assert tab.page.locator('[data-testid="stAudio"]').count() == 1
        assert tab.page.locator('[data-testid="stImage"] img').count() == images + 1  # the track's MFCCs
        tab.step("explorer-selected")


def test_error_analysis_cell_and_row_selections(app, browser):
    """Train results: clicking a confusion-matrix cell filters the test tracks; selecting a row plays the track
    and draws its segments' votes."""
    run_id = _analysis_run(app["home"])
    with tabs(browser, "errors") as (tab,):
        tab.page.goto(app["url"] + f"/train?run={run_id}")
        tab.text("Error analysis", where="h3")
        tab.settle()
        count = tab.page.locator('[data-testid="stCaptionContainer"]').filter(has_text=re.compile(r"of \d+ test tracks"))
        total = int(re.search(r"of (\d+) test tracks", count.inner_text()).group(1))
        assert total == 24
        # A cell off the diagonal with tracks in it (labels read "Predicted: ...; True: ...; Tracks: n").
        cells = tab.page.locator('[data-testid="stVegaLiteChart"] [role="graphics-symbol"][aria-label*="Tracks: "]')
        cells.first.wait_for()  # a busy machine draws the matrix after the page has settled
        labels = [cells.nth(i).get_attribute("aria-label") for i in range(cells.count())]
        parsed = [dict(part.split(": ", 1) for part in label.split("; ")) for label in labels]
        i = next(i for i, c in enumerate(parsed) if c["True"] != c["Predicted"] and int(c["Tracks"]) > 0)
        true, predicted, n = parsed[i]["True"], parsed[i]["Predicted"], int(parsed[i]["Tracks"])
        tab.act(lambda: cells.nth(i).click(position={"x": 3, "y": 3}))  # a corner: the count is drawn in the middle
        tab.check("cell-clicked")
        assert f"{n} of {total} test tracks (true {true}, predicted {predicted})" in count.inner_text()
        tab.shot("errors-cell")
        # The table's first row, by its selection box (the grid is a canvas: a click at its place).
        assert not tab.page.locator('[data-testid="stAudio"]').count()
        grid = tab.page.locator('[data-testid="stDataFrame"]').last
        grid.scroll_into_view_if_needed()
        box = grid.bounding_box()
        tab.act(lambda: tab.page.mouse.click(box["x"] + 16, box["y"] + 35 + 17))
        tab.check("row-selected")
        tab.text(re.compile(rf"❌ .*: true {true}, predicted {predicted}"), where='[data-testid="stMarkdown"]')
        assert tab.page.locator('[data-testid="stAudio"]').count() == 1
        tab.page.locator('[data-testid="stImage"] img').last.wait_for()  # the votes
        tab.step("errors-row")


def test_a_runs_report_and_bundle_download_and_the_bundle_imports_on_classify(app, browser, tmp_path):
    """Runs: a finished run's report (.html) and bundle (.zip) download; the report opens offline as one
    self-contained page (no request leaves the file); the zip imports on Classify and becomes the model."""
    import zipfile

    with tabs(browser, "export") as (tab,):
        tab.page.goto(app["url"] + "/runs")
        tab.text("Export", where="h3")
        tab.settle()
        # The fixture model's run (other tests add runs, some without a model of their own).
        tab.choose("Run or saved model to export", f"{FIXTURE_MODEL} · ")
        chosen = tab.page.get_by_role("combobox", name="Run or saved model to export", exact=True).input_value()
        name = chosen.split(" · ")[0]
        assert name == FIXTURE_MODEL
        with tab.page.expect_download() as report:
            tab.page.get_by_role("button", name="Report (.html)").click()
        assert report.value.suggested_filename.endswith("-report.html")
        html_path = tmp_path / report.value.suggested_filename
        report.value.save_as(html_path)
        with tab.page.expect_download() as bundle:
            tab.page.get_by_role("button", name="Model bundle (.zip)").click()
        zip_path = tmp_path / bundle.value.suggested_filename
        bundle.value.save_as(zip_path)
        folder = zip_path.stem  # the bundle's folder
        assert sorted(zipfile.ZipFile(zip_path).namelist()) == [f"{folder}/bundle.json", f"{folder}/model.keras"]
        tab.step("runs-export")

        offline = new_tab(browser, "export-report")  # a context of its own: only the report's requests
        try:
            requests = []
            offline.page.on("request", lambda r: requests.append(r.url))
            offline.page.goto(html_path.as_uri())
            assert offline.page.locator("h1").inner_text() == name
            metric = offline.page.locator(".metric").filter(has_text="Track accuracy (test, vote)")
            assert re.fullmatch(r"\d+\.\d%", metric.locator(".value").inner_text())
            assert offline.page.get_by_text("By track (honest, default)").is_visible()
            figures = offline.page.locator("figure svg")
            assert figures.count() == 2 and figures.first.is_visible()
            assert [u for u in requests if not u.startswith(("file:", "data:"))] == [], requests
            offline.page.screenshot(path=SHOTS / "export-report.png", full_page=True)
        finally:
            offline.page.context.close()

        tab.page.goto(app["url"] + "/classify")
        tab.text("Classify", where="h1")
        tab.settle()
        tab.page.get_by_role("button", name="Import").click()
        dropzone = tab.page.locator('[data-testid="stPopoverBody"] [data-testid="stFileUploaderDropzoneInput"]')
        tab.act(lambda: dropzone.set_input_files(str(zip_path)))
        done = tab.text("it is now the chosen model", where='[data-testid="stAlert"]')
        imported = re.search(r"as model “(.+?)”", done.inner_text()).group(1)
        assert imported == f"{FIXTURE_MODEL} (imported)"  # its own name, and that it is a copy
        assert f"Model · {imported}" in tab.strip()
        assert len([p for p in (app["home"] / "models").iterdir() if p.name.startswith(folder)]) == 2  # own folder
        tab.step("classify-imported")


# --- issue 14: a session that opens any page first sees the workspace the user set up ---------------------

def test_a_new_session_on_any_page_sees_the_left_out_folders_and_the_features(app, browser, tmp_path):
    """Tab A chooses a folder with a non-genre folder in it, leaves that out and extracts; tabs opened
    afterwards straight on Features, Train and Experiments (a bookmark, a reload) see the same workspace."""
    import shutil

    data = tmp_path / "my-music"
    for genre in DEMO_GENRES[:3]:
        (data / genre).mkdir(parents=True)
        for clip in sorted((app["home"] / "demo-synthetic" / genre).glob("*.wav"))[:5]:
            shutil.copy(clip, data / genre / clip.name)
    (data / "unlabelled").mkdir()
    for clip in sorted((app["home"] / "demo-synthetic" / DEMO_GENRES[3]).glob("*.wav"))[:4]:
        shutil.copy(clip, data / "unlabelled" / clip.name)
    with tabs(browser, "fresh-a", "fresh-b") as (a, b):
        a.page.goto(app["url"] + "/dataset")
        a.text("Dataset", where="h1")
        a.settle()
        a.set_text("Dataset folder", str(data))
        a.text("4 genres, 19 clips", where='[data-testid="stCaptionContainer"]')
        box = a.page.get_by_role("combobox", name="Leave out folders", exact=True)
        box.click()
        a.act(lambda: a.page.get_by_role("option").filter(has_text="unlabelled").first.click())
        a.text("3 genres, 15 clips", where='[data-testid="stCaptionContainer"]')
        a.step("left-out")
        a.nav("Features")
        a.text("Input shape", where='[data-testid="stMetric"]')
        a.act(lambda: a.page.get_by_role("button", name="Reset to the notebook's defaults").click())  # other tests' settings
        a.page.get_by_role("button", name="Extract features").click()
        a.text(re.compile(r"Extracted 75 rows from 15 files|Cache hit"), where='[data-testid="stAlert"]')
        a.step("extracted")

        for page in ("features", "train", "experiments", ""):
            b.page.goto(f"{app['url']}/{page}")  # a new session each time: no state but the workspace's
            b.text("Dataset ·", where='[data-testid="stCaptionContainer"]')
            b.settle()
            b.check(f"fresh-{page or 'home'}")
            assert "Features · 75 rows of 259×13" in b.strip(), (page, b.strip())
            if page == "features":
                assert b.metric("Training rows (if every clip is long enough)") == "75"
            if page == "train":
                assert b.page.get_by_role("button", name="Start training").is_enabled()
            if page == "experiments":
                b.text("3 genres, 15 tracks", where='[data-testid="stCaptionContainer"]')
                b.text("without unlabelled", where='[data-testid="stCaptionContainer"]')
            b.shot(f"fresh-{page or 'home'}")

        a.nav("Dataset")  # back to the demo dataset, as the other tests of this module expect
        a.act(lambda: a.page.get_by_role("button", name="Use the demo dataset").click())
        a.text("6 genres, 72 clips", where='[data-testid="stCaptionContainer"]')
