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
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = REPO / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
VIEWPORT = {"width": 1400, "height": 1000}
WAIT_MS = 120_000  # one step: the first TensorFlow import, librosa's numba compile on a fresh machine
TRAIN_WAIT_S = 300  # a whole run (TensorFlow import, tracing, epochs, saving); slow on a busy 2-core box
DEMO_GENRES = ("ambient", "chiptune", "rock", "swing", "techno", "waltz")
BATCH_SIZES = [8, 16, 32, 64, 128, 256]  # the Train page's options
# The flow's network: ~4 s an epoch here on 216 training rows, so the 1 s live redraw shows every epoch
# (the default network does 3 epochs of the demo in ~0.3 s, between two redraws).
SLOW_LAYERS, SLOW_BATCH = "3072, 3072", 8
FIXTURE_MODEL = "fixture-model"

if not CHROMIUM.exists():
    pytest.skip("browser tests need Debian's chromium at /usr/bin/chromium (scripts/test.sh installs it)",
                allow_module_level=True)

from playwright.sync_api import Page, sync_playwright  # noqa: E402  (after the skip on purpose)
from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: E402

# Runs in a subprocess with $GENRE_HOME set: the demo dataset plus one small saved bundle.
PREPARE = f"""
from genre import workspace
from genre.config import FeatureParams, ModelConfig, TrainConfig
from genre.extract import extract_to_store
from genre.jobs import TrainingJob

root = workspace.ensure_demo_dataset()
params = FeatureParams(duration=6.0, num_segments=3, files_per_genre=4)
fs, _ = extract_to_store(root, params, workspace.features_path(root, params))
job = TrainingJob(fs, ModelConfig(hidden_units=(32,), learning_rate=1e-3), TrainConfig(epochs=3),
                  name={FIXTURE_MODEL!r}, models_dir=workspace.models_dir()).start()
job.join()
assert job.status == "done", job.error
print(job.bundle_path)
"""


# --- the server and the browser ----------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.read().decode().strip() == "ok"
    except OSError:
        return False


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
    """A running ``streamlit run streamlit_app.py``: ``{"url", "home", "log"}``."""
    home = tmp_path_factory.mktemp("genre-home")
    log_path = home.parent / "streamlit.log"
    env = {k: v for k, v in os.environ.items() if k != "GENRE_DATASET"}
    env.update(GENRE_HOME=str(home), PYTHONUNBUFFERED="1", TF_CPP_MIN_LOG_LEVEL="2")
    prep = subprocess.run([sys.executable, "-c", PREPARE], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)
    assert prep.returncode == 0, f"preparing $GENRE_HOME failed:\n{prep.stderr[-3000:]}"

    port = _free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port),
           "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none"]  # edits to the repo during a run must not reload modules
    failed_before = request.session.testsfailed
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not _healthy(f"{url}/_stcore/health"):
            assert proc.poll() is None, f"streamlit exited ({proc.returncode}):\n{log_path.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"streamlit not healthy after 60 s:\n{log_path.read_text()[-3000:]}"
            time.sleep(0.3)
        yield {"url": url, "home": home, "log": log_path}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if request.session.testsfailed > failed_before:
            _report(request, f"--- last lines of the streamlit log ({log_path}) ---\n"
                             + "\n".join(log_path.read_text().splitlines()[-60:]))
        _report(request, f"browser screenshots: {SHOTS}")


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@contextlib.contextmanager
def tabs(browser, *names: str):
    """One tab per name, each in its own browser context (own cookies, so own Streamlit session).

    When the test fails, every tab is screenshotted as it is at that moment.
    """
    made = []
    for name in names:
        context = browser.new_context(viewport=VIEWPORT)
        context.set_default_timeout(WAIT_MS)
        context.add_init_script(COUNT_MESSAGES_JS)
        made.append(Tab(context.new_page(), name))
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


# Before the app's own scripts: count the messages the server sends on Streamlit's WebSocket, and
# note when the last one came. An action that makes the app rerun is answered by messages, so a
# test can wait for that answer before it waits for the page to settle.
COUNT_MESSAGES_JS = """(() => {
    const Native = window.WebSocket;
    window.__genreMessages = 0;
    window.__genreLastMessage = performance.now();
    window.WebSocket = class extends Native {
        constructor(...args) {
            super(...args);
            this.addEventListener("message", () => {
                window.__genreMessages++;
                window.__genreLastMessage = performance.now();
            });
        }
    };
})()"""

# True once the app has been idle for half a second since this wait began: no script run in progress
# (the attribute Streamlit's own end-to-end tests wait on), no message from the server, no element
# left over from the previous run, and every chart, table and image drawn.
SETTLED_JS = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    const all = (sel, ok) => [...document.querySelectorAll(sel)].every(ok);
    const now = performance.now();
    const ready = app !== null && app.getAttribute("data-test-script-state") === "notRunning"
        && now - window.__genreLastMessage > 500
        && document.querySelector('[data-stale="true"]') === null
        && all('[data-testid="stVegaLiteChart"]', e => e.querySelector("canvas, svg") !== null)
        && all('[data-testid="stDataFrame"]', e => e.querySelector("canvas") !== null)
        && all('[data-testid="stImage"] img', i => i.complete && i.naturalWidth > 0);
    if (!ready) { window.__genreIdleSince = null; return false; }
    window.__genreIdleSince = window.__genreIdleSince || now;
    return now - window.__genreIdleSince > 500;
}"""


CHARTS_DRAWN_JS = """() => {
    const charts = [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')];
    return charts.length >= 2 && charts.every(e => e.querySelector("canvas, svg") !== null);
}"""


# --- driving the app ---------------------------------------------------------------------------

class Tab:
    """One browser tab of the app, with the checks and screenshots every step takes."""

    def __init__(self, page: Page, name: str):
        self.page, self.name, self.shots = page, name, 0

    def check(self, step: str) -> None:
        """Fail on any Streamlit exception box (an uncaught error in a page script)."""
        boxes = self.page.locator('[data-testid="stException"]')
        if boxes.count():
            self.shot(f"{step}-exception")
            pytest.fail(f"[{self.name}] exception on the page at step {step!r}:\n"
                        f"{boxes.first.inner_text()[:2000]}\n(screenshots: {SHOTS})")

    def shot(self, step: str) -> Path:
        """A full-page screenshot. Streamlit scrolls inside its own container, so the viewport is
        stretched to the content's height first."""
        self.shots += 1
        path = SHOTS / f"{self.name}-{self.shots:02d}-{step}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        height = self.page.evaluate("""() => Math.max(document.documentElement.scrollHeight,
            ...[...document.querySelectorAll('[data-testid="stMain"], [data-testid="stAppViewContainer"], section')]
               .map(e => e.scrollHeight))""")
        self.page.set_viewport_size({"width": VIEWPORT["width"], "height": min(max(height, VIEWPORT["height"]), 8000)})
        try:
            self.page.screenshot(path=path, full_page=True)
        finally:
            self.page.set_viewport_size(VIEWPORT)
        return path

    def step(self, step: str) -> None:
        """The checks and screenshot after a step whose script run has ended."""
        self.settle()
        self.check(step)
        self.shot(step)

    def text(self, pattern: str | re.Pattern, *, where: str = "body"):
        """The first visible element inside ``where`` whose text matches ``pattern``, once it appears."""
        loc = self.page.locator(where).filter(has_text=pattern).first
        loc.wait_for(state="visible")
        return loc

    def nav(self, title: str, *, settle: bool = True) -> None:
        """Go to a page with the sidebar, in the same Streamlit session (page.goto would start a new one).

        ``settle=False`` for a page that redraws itself every second (Train while a run goes on): it
        is never idle, so only its title is waited for.
        """
        link = self.page.locator('[data-testid="stSidebarNavLink"]').filter(has_text=title)
        if settle:
            self.act(link.click)
        else:
            link.click()
        self.text(title, where="h1")

    def settle(self) -> None:
        """Wait until the script run has ended and its charts, tables and images are drawn.

        The idle time counts from this call: an earlier settle's must not make a later one return
        before the rerun that a click in between has caused.
        """
        self.page.evaluate("window.__genreIdleSince = null")
        self.page.wait_for_function(SETTLED_JS, polling=100)

    def act(self, action) -> None:
        """Do ``action`` (which makes the app rerun), wait for the server's answer, then settle.

        Without the wait, the next step can land while that rerun is on its way (under load, a
        few hundred ms later), and a file dropped then is lost when the rerun redraws the page.
        """
        before = self.page.evaluate("window.__genreMessages")
        action()
        self.page.wait_for_function("n => window.__genreMessages > n", arg=before, polling=50)
        self.settle()

    def metric(self, label: str) -> str:
        box = self.page.locator('[data-testid="stMetric"]').filter(
            has=self.page.get_by_text(label, exact=True)).first
        return box.locator('[data-testid="stMetricValue"]').inner_text().strip()

    def strip(self) -> str:
        """The status strip under the title (dataset, features, training, model)."""
        return self.page.locator('[data-testid="stCaptionContainer"]').filter(has_text="Dataset ·").first.locator(
            "xpath=ancestor::*[@data-testid='stHorizontalBlock'][1]").inner_text()

    def set_slider(self, label: str, value, options: list | None = None) -> None:
        """Move a slider (with ``options``, a select slider) to ``value`` with the keyboard, as a user
        would, one step per key press, and wait for the app to take it."""
        slider = self.page.locator('[data-testid="stSlider"]').filter(
            has=self.page.get_by_text(label, exact=True)).first
        thumb = slider.locator('input[type="range"]')
        now = type(value)(thumb.get_attribute("aria-valuetext"))
        steps = value - now if options is None else options.index(value) - options.index(now)
        if steps:
            thumb.focus()
            key = "ArrowRight" if steps > 0 else "ArrowLeft"
            self.act(lambda: [self.page.keyboard.press(key) for _ in range(abs(steps))])
        shown = slider.locator('[data-testid="stSliderThumbValue"]')
        assert shown.inner_text().strip() == str(value), f"{label}: the app did not keep {value}"

    def set_number(self, label: str, value: int) -> None:
        self._type(self.page.get_by_role("spinbutton", name=label, exact=True), label, str(value))

    def set_text(self, label: str, value: str) -> None:
        self._type(self.page.get_by_role("textbox", name=label, exact=True), label, value)

    def _type(self, box, label: str, value: str) -> None:
        if box.input_value() != value:
            self.act(lambda: (box.fill(value), box.press("Enter")))
        assert box.input_value() == value, f"{label}: the app did not keep {value!r}"

    def choose(self, label: str, option: str) -> None:
        box = self.page.get_by_role("combobox", name=label)
        if option not in box.locator("xpath=ancestor::*[@data-testid='stSelectbox'][1]").inner_text():
            box.click()
            self.act(lambda: self.page.get_by_role("option").filter(has_text=option).first.click())

    def upload(self, path: Path) -> None:
        """Drop a file on the uploader and wait until it is listed and the rerun it causes has ended."""
        self.settle()
        self.act(lambda: self.page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path)))
        self.page.locator('[data-testid="stFileUploader"]').get_by_text(path.name).first.wait_for()


def set_up_demo(tab: Tab, base: str) -> None:
    tab.page.goto(base + "/")
    tab.text("genre workbench", where="h1")
    tab.step("home")
    tab.page.get_by_role("button", name="Set up the demo dataset").click()
    tab.text("Demo dataset ready and selected", where='[data-testid="stAlert"]')
    assert "Dataset · demo-synthetic" in tab.strip()
    tab.step("demo-ready")


def extract(tab: Tab, *, duration: int, segments: int) -> None:
    """Features with non-default duration and segments, then extract (or hit the cache)."""
    tab.nav("Features")
    tab.text("Input shape", where='[data-testid="stMetric"]')  # the preview has been computed
    tab.set_slider("Duration used (s)", duration)
    tab.set_slider("Segments per track", segments)
    seg = f"{duration / segments:.2f} s"
    tab.page.wait_for_function("v => [...document.querySelectorAll('[data-testid=\"stMetricValue\"]')]"
                               ".some(e => e.textContent.trim() === v)", arg=seg)
    assert tab.metric("Segment length") == seg
    tab.step("features-set")
    tab.page.get_by_role("button", name="Extract features").click()
    done = tab.text(re.compile(r"Extracted [\d,]+ rows from \d+ files|Cache hit: these features"),
                    where='[data-testid="stAlert"]')
    tab.settle()
    assert "72 files" in done.inner_text() or "Cache hit" in done.inner_text()
    rows = 72 * segments
    assert f"Features · {rows} rows" in tab.strip(), "the status strip does not show the new features"
    tab.step("features-extracted")


def start_training(tab: Tab, epochs: int, *, layers: str | None = None, batch: int | None = None) -> None:
    tab.nav("Train")
    tab.set_number("Epochs", epochs)
    if layers is not None:
        tab.set_text("Hidden layers (units)", layers)
    if batch is not None:
        tab.set_slider("Batch size", batch, BATCH_SIZES)
    tab.step("train-settings")
    tab.page.get_by_role("button", name="Start training").click()
    tab.text(re.compile(r"Epoch \d+/%d" % epochs), where='[data-testid="stProgress"]')


def live_epochs(tab: Tab, epochs: int) -> int:
    """The epoch the live progress bar shows now (it is redrawn by a fragment every second)."""
    bar = tab.page.locator('[data-testid="stProgress"]').filter(has_text=re.compile(r"Epoch \d+/%d" % epochs))
    try:
        text = bar.first.inner_text(timeout=2000)
    except PlaywrightTimeout:  # between two redraws, or the run just ended
        return -1
    match = re.search(r"Epoch (\d+)/%d" % epochs, text)
    return int(match.group(1)) if match else -1


# --- the tests -----------------------------------------------------------------------------------

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
        assert "Training · done" in tab.strip()
        tab.step("train-results")

        tab.nav("Classify")
        clip = app["home"] / "demo-synthetic" / "waltz" / "waltz.00011.wav"
        tab.upload(clip)
        tab.text("Predicted genre", where='[data-testid="stMetric"]')
        tab.settle()
        assert tab.metric("Predicted genre") in DEMO_GENRES
        assert re.fullmatch(r"\d+%", tab.metric("Probability"))
        # The session's own model is chosen, with its 10 s / 4 segments: a 30 s clip gives 12 x 2.50 s.
        assert tab.metric("Segments") == "12 × 2.50 s"
        assert "Model · track-" in tab.strip()
        figures = tab.page.locator('[data-testid="stImage"] img')
        figures.nth(1).wait_for()
        assert all(img.evaluate("i => i.complete && i.naturalWidth > 0") for img in figures.all())
        tab.step("classify")

        tab.nav("Runs")
        tab.text("Compare curves", where="h3")
        tab.page.locator('[data-testid="stDataFrame"]').first.wait_for()
        tab.page.locator('[data-testid="stImage"] img').first.wait_for()
        tab.step("runs")


def test_two_tabs_keep_their_own_sessions(app, browser):
    """Tab A trains while tab B classifies with a saved model; neither sees the other's state."""
    epochs = 300  # long enough to be running through all of B's steps; A stops it
    with tabs(browser, "two-tabs-a", "two-tabs-b") as (a, b):
        set_up_demo(a, app["url"])
        extract(a, duration=10, segments=4)
        start_training(a, epochs)
        a.shot("training")

        b.page.goto(app["url"] + "/classify")
        b.text("Classify", where="h1")
        b.settle()
        b.choose("Model", FIXTURE_MODEL)
        b.upload(app["home"] / "demo-synthetic" / "rock" / "rock.00002.wav")
        b.text("Predicted genre", where='[data-testid="stMetric"]')
        b.settle()
        assert b.metric("Predicted genre") in DEMO_GENRES
        # The fixture model cuts 6 s into 3 segments: a 30 s clip gives 15 x 2.00 s.
        assert b.metric("Segments") == "15 × 2.00 s"
        strip = b.strip()
        assert "Training · none yet" in strip and "Features · not extracted" in strip, strip
        assert f"Model · {FIXTURE_MODEL}" in strip, strip
        b.step("classify")

        # A leaves the Train page and comes back: the run belongs to A's session, not to the page.
        a.nav("Runs")
        a.page.locator('[data-testid="stDataFrame"]').first.wait_for()
        assert "Training · running" in a.strip()
        a.step("runs-while-training")
        a.nav("Train", settle=False)
        a.text(re.compile(r"Epoch \d+/%d" % epochs), where='[data-testid="stProgress"]')

        # A's run went on meanwhile and is still its own.
        deadline, first = time.monotonic() + TRAIN_WAIT_S, live_epochs(a, epochs)
        while live_epochs(a, epochs) <= max(first, 0):
            assert time.monotonic() < deadline, "tab A's training made no progress"
            a.check("training")
            time.sleep(0.3)
        a.check("training")
        a.shot("still-training")
        a.page.get_by_role("button", name="Stop").click()
        a.text(re.compile(r"Run “.+”: stopped"), where="h3")
        a.settle()
        a.text("Stopped on request after", where='[data-testid="stAlert"]')
        a.text("Saved as model bundle", where='[data-testid="stAlert"]')
        stopped_after = int(a.metric("Epochs"))
        assert 1 <= stopped_after < epochs
        assert "Training · stopped" in a.strip()
        a.step("stopped")

        # B, on another page now, still has no training of its own and keeps its chosen model.
        b.nav("Runs")
        b.text("Compare curves", where="h3")
        strip = b.strip()
        assert "Training · none yet" in strip and f"Model · {FIXTURE_MODEL}" in strip, strip
        b.step("runs")
