"""Every cache of the app is bounded: a number of entries and a time to live (the server's memory must come back)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LIVES_AS_LONG_AS_THE_SERVER = {("workbench/state.py", "predictor")}  # one object per process, by design


def _caches():
    for path in sorted([*REPO.glob("pages/*.py"), *REPO.glob("workbench/*.py"), REPO / "streamlit_app.py"]):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef):
                for deco in node.decorator_list:
                    if isinstance(deco, ast.Call) and getattr(deco.func, "attr", "") in ("cache_data", "cache_resource"):
                        yield str(path.relative_to(REPO)), node.name, {k.arg for k in deco.keywords}
                    elif getattr(deco, "attr", "") in ("cache_data", "cache_resource"):  # bare @st.cache_data
                        yield str(path.relative_to(REPO)), node.name, set()


CACHES = list(_caches())


def test_the_app_has_caches_to_check():
    assert len(CACHES) >= 10


@pytest.mark.parametrize("where, name, arguments", CACHES, ids=[f"{w}:{n}" for w, n, _ in CACHES])
def test_every_cache_is_bounded_in_entries_and_time(where, name, arguments):
    assert "max_entries" in arguments, f"{where}:{name} has no max_entries"
    if (where, name) not in LIVES_AS_LONG_AS_THE_SERVER:
        assert "ttl" in arguments, f"{where}:{name} has no ttl: its entries would stay for the server's life"


def test_housekeeping_outside_a_server_only_trims_and_never_fails():
    from workbench import runtime

    done = runtime.keep_house()
    assert done["sessions_shut"] == 0 and done["caches_cleared"] is False
    assert runtime.keep_house_periodically(every_s=3600) and runtime.keep_house_periodically()  # started once


def test_a_shut_down_sessions_state_is_let_go():
    """Streamlit keeps the last session it served alive in its loop: its widget values (uploads) must not be."""
    from types import SimpleNamespace

    from streamlit.runtime.state import SessionState

    from workbench import runtime

    old = SessionState()
    old["uploads"] = b"x" * 1000
    cleared = []
    session = SimpleNamespace(_session_state=old, _fragment_storage=SimpleNamespace(clear=lambda: cleared.append(1)))
    runtime.drop_state(session)
    assert session._session_state is not old and "uploads" not in session._session_state
    assert cleared == [1]
    runtime.drop_state(SimpleNamespace())  # a session of another Streamlit: nothing to drop, no error


@pytest.mark.parametrize("environment, tuned", [({}, {"arena_max", "mmap_threshold"}), ({"MALLOC_ARENA_MAX": "4"}, {"mmap_threshold"})])
def test_the_servers_heap_is_tuned_unless_the_environment_says_otherwise(environment, tuned):
    import json
    import os
    import subprocess
    import sys

    code = "import json; from workbench import runtime; print(json.dumps(runtime.tune_malloc()))"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")} | environment
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    done = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(done) == tuned and all(done.values())
