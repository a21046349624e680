"""Benchmark: one 12-trial sweep on the demo data, four ways, side by side in one run.

1. sequential, in one process: every trial trained by ``genre.jobs.execution.execute`` one after the other
   (TensorFlow imported once; the baseline);
2. ``python -m genre experiment ...``: each trial a run in the workspace's queue, taken by a warm process (one
   that imported Keras before the trial was queued), at most ``GENRE_MAX_RUNS`` at a time (one on 2 cores);
3. the same with ``--workers 2`` (the cap still holds);
4. the same grid on a 2-worker ``dask.distributed.LocalCluster``.

Each is a fresh process, timed from start to exit (wall clock), on the same cached features; the
grid is ``dropout=0,0.3,0.5`` x ``learning_rate=1e-4,1e-3`` x 2 repeats. It prints a table and writes
JSON (default ``benchmarks/results_experiment.json``). A benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from table import print_table  # noqa: E402

VARY = ["dropout=0,0.3,0.5", "learning_rate=1e-4,1e-3"]
REPEATS = 2

SEQUENTIAL = """
import sys
from genre.data import workspace
from genre.data.params import FeatureParams
from genre.learn.config import ModelConfig, TrainConfig
from genre.jobs.experiment import configs_for, grid, parse_vary, plan
from genre.data.extract import extract_to_store
from genre.jobs.runs import create_run
from genre.jobs.execution import execute

dataset, out, epochs, backend = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
varies = [parse_vary(v) for v in {vary!r}]
base = {{"features": FeatureParams(), "model": ModelConfig(), "train": TrainConfig(epochs=epochs)}}
path = workspace.features_path(dataset, FeatureParams())
fs, _ = extract_to_store(dataset, FeatureParams(), path)
for trial in plan(grid(varies), repeats={repeats}, split="track", folds=5):
    fp, mc, tc = configs_for(trial.settings, base)
    run = create_run(out, features_path=path, features=fs, model_config=mc, train_config=tc.replace(seed=trial.seed),
                     backend=backend, models_dir=out + "/models", source="bench")
    execute(run)
    assert run.state == "done", run.status()
""".format(vary=VARY, repeats=REPEATS)

CLUSTER = """
import sys
from dask.distributed import Client, LocalCluster
from genre.jobs.experiment import ExperimentSpec, parse_vary, run_experiment

dataset, out, epochs, backend = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
if __name__ == "__main__":
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster, Client(cluster) as client:
        spec = ExperimentSpec.build(dataset, [parse_vary(v) for v in {vary!r}], repeats={repeats}, epochs=epochs,
                                    backend=backend)
        result = run_experiment(spec, out, dask_client=client)
    assert all(t["track_accuracy"] is not None for t in result["trials"])
""".format(vary=VARY, repeats=REPEATS)


def timed(cmd: list[str], env: dict) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[:4]} failed:\n{proc.stderr[-3000:]}")
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--backend", choices=["tensorflow", "jax"], default="tensorflow")
    p.add_argument("--json-out", type=Path, default=Path(__file__).with_name("results_experiment.json"))
    a = p.parse_args(argv)
    from bench_start import end_spares  # the warm processes the queued modes leave waiting

    with tempfile.TemporaryDirectory(prefix="genre-bench-exp-", ignore_cleanup_errors=True) as tmp:
        home = Path(tmp) / "home"
        env = {**os.environ, "GENRE_HOME": str(home), "TF_CPP_MIN_LOG_LEVEL": "2"}
        py = sys.executable
        subprocess.run([py, "-m", "genre", "warmup"], cwd=REPO, env=env, check=True, capture_output=True)
        data = str(home / "demo-synthetic")
        subprocess.run([py, "-m", "genre", "extract", data, "--out", str(Path(tmp) / "warm.npz")], cwd=REPO, env=env,
                       check=True, capture_output=True)  # the features cache, so every mode starts alike
        load = os.getloadavg()[0]
        seconds = {
            "sequential, one process": timed([py, "-c", SEQUENTIAL, data, str(Path(tmp) / "seq"), str(a.epochs),
                                              a.backend], env),
            "experiment (the queue, warm processes)": timed(
                [py, "-m", "genre", "experiment", data, "--out", str(Path(tmp) / "w1"),
                 *[x for v in VARY for x in ("--vary", v)], "--repeats", str(REPEATS), "--epochs", str(a.epochs),
                 "--backend", a.backend, "--json"], env),
            "--workers 2": timed([py, "-m", "genre", "experiment", data, "--out", str(Path(tmp) / "w2"),
                                  *[x for v in VARY for x in ("--vary", v)], "--repeats", str(REPEATS), "--epochs",
                                  str(a.epochs), "--backend", a.backend, "--workers", "2", "--json"], env),
            "LocalCluster, 2 workers": timed([py, "-c", CLUSTER, data, str(Path(tmp) / "dask"), str(a.epochs),
                                              a.backend], env),
        }
        end_spares(home)
    base = seconds["sequential, one process"]
    rows = [{"mode": k, "wall (s)": f"{v:.1f}", "vs sequential": f"{base / v:.2f}x"} for k, v in seconds.items()]
    print(f"12 trials ({' x '.join(VARY)} x {REPEATS} repeats), {a.epochs} epochs each, demo features, "
          f"backend {a.backend}; load {load:.1f} before, {os.getloadavg()[0]:.1f} after")
    print_table(rows, ("mode", "wall (s)", "vs sequential"))
    a.json_out.write_text(json.dumps({"epochs": a.epochs, "backend": a.backend, "vary": VARY, "repeats": REPEATS,
                                      "seconds": seconds, "load_before": load}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
