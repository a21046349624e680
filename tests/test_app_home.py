"""AppTest: the Home page (entry point, navigation, demo set-up)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from streamlit.testing.v1 import AppTest

from genre.data import workspace
from tests.app_fixtures import APP, TIMEOUT, button, open_page

NO_TENSORFLOW = textwrap.dedent(f"""
    import json, sys, time
    from streamlit.testing.v1 import AppTest

    start = time.perf_counter()
    at = AppTest.from_file({str(APP)!r}, default_timeout={TIMEOUT}).run()
    print(json.dumps({{
        "seconds": time.perf_counter() - start,
        "exceptions": [e.value for e in at.exception],
        "titles": [t.value for t in at.title],
        "tensorflow": sorted(m for m in sys.modules if m == "tensorflow" or m.startswith(("tensorflow.", "keras"))),
    }}))
""")


def test_home_renders_without_importing_tensorflow(home):
    # A fresh interpreter: other tests in this process may already have imported TensorFlow.
    out = subprocess.run([sys.executable, "-c", NO_TENSORFLOW], capture_output=True, text=True, timeout=120,
                         cwd=APP.parent)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["exceptions"] == []
    assert report["titles"] == ["🎵 genre workbench"]
    assert report["tensorflow"] == [], "the Home page must not wait for TensorFlow"
    assert report["seconds"] < 30  # loose: the point is "no TensorFlow", which takes ~5 s alone


def test_home_is_the_default_page_and_offers_the_demo(home):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert [t.value for t in at.title] == ["🎵 genre workbench"]
    assert not button(at, "Set up the demo dataset").disabled
    assert not workspace.demo_ready()


def test_every_page_is_reachable_by_switch_page(home):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    for page, title in [("dataset", "📁 Dataset"), ("features", "🎛️ Features"), ("runs", "📊 Runs"),
                        ("home", "🎵 genre workbench")]:
        at.session_state["dataset_root"] = str(home / "nowhere")  # keep Dataset from synthesising the demo
        at.switch_page(f"pages/{page}.py").run()
        assert not at.exception, page
        assert [t.value for t in at.title] == [title]


def test_demo_button_creates_the_demo_dataset_and_selects_it(home, monkeypatch):
    # The real demo (6 genres x 12 clips x 30 s) takes ~20 s on 2 cores; the page flow is the same when small.
    monkeypatch.setitem(workspace.DEMO_ARGS, "clips_per_genre", 2)
    monkeypatch.setitem(workspace.DEMO_ARGS, "duration", 2.0)
    at = open_page("home").run()
    button(at, "Set up the demo dataset").click().run()
    assert not at.exception
    assert workspace.demo_ready()
    assert sorted(p.name for p in workspace.demo_dir().iterdir() if p.is_dir()) == sorted(
        ["ambient", "chiptune", "rock", "swing", "techno", "waltz"])
    assert str(workspace.demo_dir()) in at.success[0].value
    assert at.session_state["dataset_root"] == str(workspace.demo_dir())
