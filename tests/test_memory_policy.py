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
