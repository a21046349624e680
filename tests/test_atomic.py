"""SIGKILL in the middle of writing: a feature store or a bundle is absent or complete, never corrupt.

Each test runs the real thing in a process of its own (``python -m genre extract``; a loop of
``save_bundle`` on the JAX backend, the faster import), kills it with SIGKILL at a chosen point
found by watching the process (its open files, the temp files it makes), and checks what is
left, and that the next run works. Temp leftovers (``.name.*.tmp``) may remain; readers ignore them.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import conftest
import numpy as np
import pytest
from conftest import SMALL_PARAMS, write_audio

from genre.data.extract import extract_to_store
from genre.data.params import FeatureParams
from genre.data.store import load_features
from genre.errors import BundleError
from genre.learn.bundle import INFO_FILE, MODEL_FILE, list_bundles, load_bundle, save_bundle
from genre.learn.config import ModelConfig, TrainConfig

SR = 22050
# Hop 32 and 40 coefficients: ~3 s of extraction and a ~39 MB store, time enough to be caught mid-way.
EXTRACT = dict(sample_rate=SR, duration=10.0, num_segments=10, n_mfcc=40, hop_length=32)
CLI_ARGS = ["--sample-rate", "22050", "--duration", "10", "--segments", "10", "--n-mfcc", "40",
            "--hop-length", "32", "--jobs", "1"]


def _kill_when(proc: subprocess.Popen, ready, *, timeout: float = 120.0) -> bool:
    """SIGKILL ``proc`` as soon as ``ready()``; False when it ended first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if ready():
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            return True
        time.sleep(0.001)
    proc.kill()
    raise AssertionError(f"the process never reached the point to kill it at: {proc.args}")


def _temps(folder: Path, name: str) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.startswith(f".{name}.") and p.name.endswith(".tmp")]


def _size(paths) -> int:
    """Bytes written so far to the largest of ``paths`` (0 when there are none)."""
    sizes = [0]
    for p in paths:
        try:
            sizes.append(p.stat().st_size)
        except OSError:
            pass
    return max(sizes)


def _open_audio(pid: int, root: Path) -> set[str]:
    """Audio files of ``root`` that process ``pid`` has open now."""
    found = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return found
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(root)) and target.endswith(".wav"):
            found.add(target)
    return found


@pytest.fixture(scope="module")
def songs(tmp_path_factory) -> Path:
    """40 clips of 10 s at 22050 Hz in two genres."""
    root = tmp_path_factory.mktemp("kill") / "data"
    for g, kind in enumerate(["sine", "noise"]):
        for k in range(20):
            y = conftest.signal(kind, 10.0, SR, freq=200.0 + 10 * k, rng=np.random.default_rng([g, k]))
            write_audio(root / f"g{g}" / f"g{g}.{k:05d}.wav", y, SR)
    return root


def _start(args: list[str], log: Path, **kwargs) -> subprocess.Popen:
    """``python *args`` with its output in ``log`` (a pipe nobody reads could fill and stall it)."""
    with open(log, "wb") as fh:
        return subprocess.Popen([sys.executable, *args], stdout=fh, stderr=subprocess.STDOUT, **kwargs)


def _extract_cli(data: Path, out: Path) -> subprocess.Popen:
    return _start(["-m", "genre", "extract", str(data), "--out", str(out), *CLI_ARGS], out.parent / "log.txt",
                  cwd=out.parent, env={**os.environ, "GENRE_HOME": str(out.parent / "home")})


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="watches /proc/<pid>/fd")
def test_sigkill_during_extraction_leaves_no_store_and_the_next_run_works(songs, tmp_path):
    out = tmp_path / "f.npz"
    proc = _extract_cli(songs, out)
    seen: set[str] = set()

    def reading_the_fifth_file() -> bool:
        seen.update(_open_audio(proc.pid, songs))
        return len(seen) >= 5

    assert _kill_when(proc, reading_the_fifth_file), (tmp_path / "log.txt").read_text()
    assert proc.returncode == -signal.SIGKILL
    assert not out.exists() and _temps(tmp_path, out.name) == []
    fs, hit = extract_to_store(songs, FeatureParams(**EXTRACT), out)
    assert not hit and len(fs.files) == 40 and load_features(out).X.shape == (400, 690, 40)


@pytest.mark.parametrize("replacing", [False, True], ids=["first-store", "replacing-a-store"])
def test_sigkill_while_the_store_is_written_leaves_the_old_store_or_the_new_one(songs, tmp_path, replacing):
    out = tmp_path / "f.npz"
    params = FeatureParams(**EXTRACT)
    if replacing:
        old, _ = extract_to_store(songs, params.replace(num_segments=5), out)  # other parameters: a cache miss
    proc = _extract_cli(songs, out)
    assert _kill_when(proc, lambda: _size(_temps(tmp_path, out.name)) > 4_000_000), (tmp_path / "log.txt").read_text()
    leftovers = _temps(tmp_path, out.name)
    if replacing:
        assert load_features(out).key == old.key  # the old store, whole
    else:
        assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("f.npz")] == (["f.npz"] if replacing else [])
    fs, hit = extract_to_store(songs, params, out)
    assert not hit and load_features(out).key == fs.key
    assert set(_temps(tmp_path, out.name)) == set(leftovers)  # left alone, and never read


SAVER = textwrap.dedent("""
    import sys
    from genre.learn.model import import_keras
    import_keras("jax")
    from genre.learn.bundle import save_bundle
    from genre.data.params import FeatureParams
    from genre.learn.config import ModelConfig, TrainConfig
    from genre.learn.model import build_model

    params, mc = FeatureParams(**{params!r}), ModelConfig(hidden_units=(2048, 2048))
    model = build_model(params.input_shape, 3, mc)  # 5 M weights: a 20 MB model.keras
    i = 0
    while True:
        save_bundle(sys.argv[1], model=model, genres=("a", "b", "c"), params=params, model_config=mc,
                    train_config=TrainConfig(), metrics={{"save": i}}, history={{}})
        i += 1
""").format(params=SMALL_PARAMS)


class _FakeModel:
    def save(self, path):
        Path(path).write_bytes(b"not a model")


@pytest.mark.parametrize("when", ["first-save", "replacing"])
def test_sigkill_during_a_bundle_save_leaves_no_corrupt_bundle(tmp_path, when):
    models = tmp_path / "models"
    models.mkdir()
    path = models / "run"
    proc = _start(["-c", SAVER, str(path)], tmp_path / "log.txt",
                  env={**os.environ, "GENRE_HOME": str(tmp_path / "home")})
    saved_once = False

    def writing_the_model() -> bool:  # a few MB into model.keras (of the first save, or of a later one)
        nonlocal saved_once
        saved_once = saved_once or (path / INFO_FILE).is_file()
        written = _size(p / MODEL_FILE for p in _temps(models, path.name))
        return (when == "replacing") == saved_once and written > 2_000_000

    assert _kill_when(proc, writing_the_model), (tmp_path / "log.txt").read_text()
    assert [b.path for b in list_bundles(models)] == ([path] if path.exists() else [])  # dot-folders ignored
    if when == "first-save":
        assert not path.exists()
        with pytest.raises(BundleError, match="not found"):
            load_bundle(path)
    else:
        b = load_bundle(path)  # a complete bundle, model and all
        assert b.genres == ("a", "b", "c") and b.model.count_params() > 5_000_000
    # The next save works beside whatever temp folder was left.
    save_bundle(path, model=_FakeModel(), genres=("x", "y"), params=FeatureParams(), model_config=ModelConfig(),
                train_config=TrainConfig(), metrics={}, history={})
    assert load_bundle(path, load_model=False).genres == ("x", "y")
    assert [b.path for b in list_bundles(models)] == [path]


def test_concurrent_json_updates_never_lose_a_write(tmp_path):
    """Sessions updating settings.json at once: each one's key survives (a plain read-merge-write loses some)."""
    from concurrent.futures import ThreadPoolExecutor

    from genre.atomic import read_json, update_json

    path = tmp_path / "settings.json"

    def write(i: int) -> None:
        for j in range(20):
            update_json(path, {f"k{i}-{j}": j})

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(write, range(8)))
    assert len(read_json(path)) == 8 * 20
