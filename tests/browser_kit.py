"""Driving the real app in a real browser: Streamlit's server and Debian's chromium under Playwright.

Shared by the browser tests (``tests/test_browser*.py``) and the app benchmark
(``benchmarks/bench_app.py``), so both measure and check the thing a user meets.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")  # Debian's; never `playwright install`
SHOTS = REPO / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
VIEWPORT = {"width": 1400, "height": 1000}
WAIT_MS = 120_000  # one step: the first TensorFlow import, librosa's numba compile on a fresh machine
TRAIN_WAIT_S = 300  # a whole run (TensorFlow import, tracing, epochs, saving); slow on a busy 2-core box
DEMO_GENRES = ("ambient", "chiptune", "rock", "swing", "techno", "waltz")
BATCH_SIZES = [8, 16, 32, 64, 128, 256]  # the Train page's options


# --- the server and the browser ----------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.read().decode().strip() == "ok"
    except OSError:
        return False


def server_command(port: int) -> list[str]:
    return [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port),
            "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
            "--server.fileWatcherType", "none"]  # edits to the repo during a run must not reload modules


def app_env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "GENRE_DATASET"}
    env.update(GENRE_HOME=str(home), PYTHONUNBUFFERED="1", TF_CPP_MIN_LOG_LEVEL="2")
    return env


def start_server(home: Path, log_path: Path, port: int | None = None) -> tuple[subprocess.Popen, str]:
    """``streamlit run streamlit_app.py`` with ``$GENRE_HOME=home``, once healthy: ``(process, url)``."""
    port = port or free_port()
    with open(log_path, "a") as log:
        proc = subprocess.Popen(server_command(port), cwd=REPO, env=app_env(home), stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while not healthy(f"{url}/_stcore/health"):
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited ({proc.returncode}):\n{log_path.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            stop_server(proc)
            raise RuntimeError(f"streamlit not healthy after 60 s:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.3)
    return proc, url


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def stop_all_runs(home: Path, timeout: float = 60) -> None:
    """Ask every run still going in the workspace ``home`` to stop, and wait for each to end."""
    from genre.jobs.runs import list_runs, wait

    for run in list_runs(home / "runs"):
        if run.running:
            run.request_stop()
            wait(run, timeout=timeout)


def launch_browser(playwright):
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def new_tab(browser, name: str) -> "Tab":
    """A tab in a browser context of its own (own cookies, so its own Streamlit session)."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(WAIT_MS)
    context.add_init_script(COUNT_MESSAGES_JS)
    return Tab(context.new_page(), name)


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

    def slider_value(self, label: str) -> str:
        """The value a slider shows."""
        slider = self.page.locator('[data-testid="stSlider"]').filter(
            has=self.page.get_by_text(label, exact=True)).first
        return slider.locator('[data-testid="stSliderThumbValue"]').inner_text().strip()

    def set_number(self, label: str, value: int) -> None:
        self._type(self.page.get_by_role("spinbutton", name=label, exact=True), label, str(value))

    def set_text(self, label: str, value: str) -> None:
        self._type(self.page.get_by_role("textbox", name=label, exact=True), label, value)

    def _type(self, box, label: str, value: str) -> None:
        if box.input_value() != value:
            self.act(lambda: (box.fill(value), box.press("Enter")))
        assert box.input_value() == value, f"{label}: the app did not keep {value!r}"

    def choose(self, label: str, option: str) -> None:
        box = self.page.get_by_role("combobox", name=label, exact=True)
        if option not in box.input_value():  # Streamlit 1.67 keeps the chosen label in the input's value
            box.click()
            box.fill(option)  # a long list is drawn a screenful at a time: typing filters it down to the option
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
