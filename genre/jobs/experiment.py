"""Experiments: a grid of settings × repeated seeds (× k folds), each trial a training run.

One run answers nothing: the seed-to-seed spread of test accuracy is several points, larger than
many effects a slider has. An experiment trains every point of a grid several times and reports
the mean ± std of segment and track accuracy per point.

An experiment lives in a folder::

    experiment.json   what was asked: dataset, grid, repeats, split, backend
    runs/<run-id>/    one run record per trial (genre.jobs.runs), so the app can show them
    trials.csv, summary.json, summary.csv

Trials run in local worker processes (``workers``), or on a Dask cluster (``dask_client``): the
same supervisor and training processes as the app's runs, so a trial is exactly an app run.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import itertools
import json
import math
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from genre.atomic import read_json, write_text
from genre.data.params import FeatureParams
from genre.errors import GenreError, ParameterError
from genre.jobs.runs import Record
from genre.learn.config import ModelConfig, TrainConfig
from genre.process import ProcessId

EXPERIMENT_FILE = "experiment.json"
CONFIGS = {"features": FeatureParams, "model": ModelConfig, "train": TrainConfig}
# Settings an experiment sets itself (or that would make the trials not comparable).
NOT_VARIED = {"seed", "fold", "folds", "split", "lists", "files_per_genre", "exclude"}


@dataclass(frozen=True)
class Variable:
    """A setting an experiment can vary: ``NAME=V1,V2`` on the command line."""

    name: str
    config: str  # a key of CONFIGS
    parse: Callable[[str], Any]


def _parse_for(field: dataclasses.Field) -> Callable[[str], Any]:
    kind = str(field.type)
    if "tuple[int" in kind:  # hidden_units: 512-256-64
        return lambda text: tuple(int(u) for u in text.split("-"))
    if kind == "bool":
        return _boolean
    base = {"int": int, "float": float}.get(kind.split(" | ")[0], str)
    if kind.endswith("| None"):  # noise_snr=none,20
        return lambda text: None if text.strip().lower() in ("none", "off", "") else base(text)
    return base


def _boolean(text: str) -> bool:
    value = text.strip().lower()
    if value not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
        raise ValueError(f"{text!r} is not true or false")
    return value in ("true", "1", "yes", "on")


def _variables() -> dict[str, Variable]:
    out = {}
    for where, cls in CONFIGS.items():
        for f in dataclasses.fields(cls):
            if f.name not in NOT_VARIED:
                out[f.name] = Variable(f.name, where, _parse_for(f))
    return out


# Each value of a --vary is checked on its own here, on the defaults, except where a rule spans settings:
# augment_copies needs a transform, which the base config (checked with every point later) may give.
_PROBES = {"train": TrainConfig(time_mask=1)}
VARIABLES: dict[str, Variable] = _variables()  # every FeatureParams/ModelConfig/TrainConfig field, but NOT_VARIED


def parse_vary(text: str) -> tuple[str, list]:
    """``"n_mfcc=13,20"`` -> ``("n_mfcc", [13, 20])``; each value checked by building its config.

    Raises
    ------
    ParameterError
        Unknown name, a value that does not parse, or one its config refuses.
    """
    name, sep, values = text.partition("=")
    name = name.strip()
    if not sep or not values.strip():
        raise ParameterError(f"--vary takes NAME=V1,V2,...; got {text!r}")
    if name not in VARIABLES:
        raise ParameterError(f"cannot vary {name!r}: choose from {', '.join(sorted(VARIABLES))}")
    var = VARIABLES[name]
    parsed = []
    for raw in values.split(","):
        try:
            value = var.parse(raw.strip())
        except ValueError:
            raise ParameterError(f"--vary {name}: {raw.strip()!r} is not a valid value") from None
        try:
            _PROBES.get(var.config, CONFIGS[var.config]()).replace(**{name: value})
        except GenreError as exc:
            raise ParameterError(f"--vary {name}={raw.strip()}: {exc}") from None
        except TypeError as exc:
            raise ParameterError(f"--vary {name}={raw.strip()}: {exc}") from None
        parsed.append(value)
    if len(set(map(repr, parsed))) != len(parsed):
        raise ParameterError(f"--vary {name}: a value is given twice")
    return name, parsed


def grid(varies: list[tuple[str, list]]) -> list[dict]:
    """Every combination of the varied settings (one empty point when nothing varies)."""
    names = [n for n, _ in varies]
    if len(set(names)) != len(names):
        raise ParameterError("a setting is varied twice: give all its values in one --vary")
    return [dict(zip(names, combo)) for combo in itertools.product(*(values for _, values in varies))]


def configs_for(point: dict, base: dict[str, Any]) -> tuple[FeatureParams, ModelConfig, TrainConfig]:
    """The three configs of a grid point: ``base`` configs with the point's settings applied."""
    parts = {where: {k: v for k, v in point.items() if VARIABLES[k].config == where} for where in CONFIGS}
    return tuple(base[where].replace(**parts[where]) for where in CONFIGS)  # type: ignore[return-value]


@dataclass(frozen=True)
class Trial:
    settings: dict
    seed: int
    fold: int | None


def plan(points: list[dict], *, repeats: int, split: str, folds: int) -> list[Trial]:
    """Every trial: each grid point × ``repeats`` seeds (0, 1, ...) × each fold when ``split="kfold"``."""
    if not (isinstance(repeats, int) and 1 <= repeats <= 100):
        raise ParameterError(f"repeats must be an integer from 1 to 100, got {repeats!r}")
    fold_ids = list(range(folds)) if split == "kfold" else [None]
    return [Trial(p, seed, fold) for p in points for seed in range(repeats) for fold in fold_ids]


def summarize(trials: list[dict]) -> list[dict]:
    """One row per grid point: n and mean ± std of track and segment accuracy, best mean first."""
    groups: dict[str, list[dict]] = {}
    for t in trials:
        groups.setdefault(json.dumps(t["settings"], sort_keys=True, default=list), []).append(t)
    rows = []
    for key, members in groups.items():
        row = {"settings": members[0]["settings"], "n": len(members)}
        for metric in ("track_accuracy", "segment_accuracy"):
            values = [m[metric] for m in members]
            row[f"{metric}_mean"] = statistics.fmean(values)
            row[f"{metric}_std"] = statistics.stdev(values) if len(values) > 1 else 0.0
        rows.append(row)
    return sorted(rows, key=lambda r: -r["track_accuracy_mean"])


def write_tables(folder: Path, trials: list[dict], summary: list[dict]) -> None:
    """``summary.json``, ``summary.csv`` and ``trials.csv`` in ``folder`` (atomically)."""
    write_text(folder / "summary.json", json.dumps({"trials": trials, "summary": summary}, indent=1, default=list))
    names = sorted({k for row in summary for k in row["settings"]})
    for filename, rows, fields in (
        ("summary.csv", summary, ["n", "track_accuracy_mean", "track_accuracy_std", "segment_accuracy_mean",
                                  "segment_accuracy_std"]),
        ("trials.csv", trials, ["seed", "fold", "track_accuracy", "segment_accuracy", "epochs_run", "seconds",
                                "run_id"]),
    ):
        lines = [names + fields] + [[_cell(r["settings"].get(n)) for n in names] + [_cell(r.get(f)) for f in fields]
                                    for r in rows]
        from io import StringIO

        buf = StringIO()
        csv.writer(buf).writerows(lines)
        write_text(folder / filename, buf.getvalue())


def _cell(value) -> str:
    if isinstance(value, (tuple, list)):
        return "-".join(map(str, value))
    if isinstance(value, float):
        return f"{value:.6g}" if math.isfinite(value) else ""
    return "" if value is None else str(value)


def now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S")


# --- running --------------------------------------------------------------------------------------

def default_workers() -> int:
    """Trials at once on this machine: Keras already uses every core per fit, so half the cores, at least 1."""
    import os

    return max(1, (os.cpu_count() or 1) // 2)


def _run_in_process(run_dir: str) -> str:
    """A trial on a Dask worker: the same supervisor and training processes as an app run; its final state."""
    import subprocess
    import sys

    from genre.jobs.runs import Run, child_env

    run = Run(Path(run_dir))
    subprocess.run([sys.executable, "-m", "genre.jobs.worker", "supervise", run_dir], env=child_env(run),
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return run.state


def run_experiment(dataset: str | Path, out: str | Path, varies: list[tuple[str, list]], *, repeats: int = 3,
                   split: str = "track", folds: int = 5, lists: str | None = None, epochs: int | None = None,
                   backend: str = "tensorflow", workers: int | None = None, dask_client=None,
                   base: dict[str, Any] | None = None, on_progress=None, stop=None) -> dict:
    """Run every trial of the grid and summarize; returns the ``--json`` object of the CLI.

    Parameters
    ----------
    varies : list of (name, values)
        From :func:`parse_vary`.
    base : dict, optional
        ``{"features": FeatureParams, "model": ModelConfig, "train": TrainConfig}`` that unvaried settings
        come from (defaults: the notebook's).
    on_progress : callable(done, total, trial_row), optional
        After every finished trial.
    stop : threading.Event, optional
        When set, the trials in flight are stopped after their current batch (and kept); no more start.

    Returns
    -------
    dict
        ``{"trials": [...], "summary": [...], "missing": [...]}`` (see the CLI's contract).
    """
    from genre.data import workspace
    from genre.data.extract import extract_to_store
    from genre.jobs.runs import create_run
    from genre.learn.augment import load_or_augment
    from genre.learn.training import split_rows

    if split == "lists" and lists is None:  # GTZAN's own fault-filtered split, when this is GTZAN
        from genre.data.dataset import scan_dataset
        from genre.learn.splits import GTZAN_LISTS, looks_like_gtzan

        found = scan_dataset(dataset)
        if looks_like_gtzan(found.genres, [p.name for files in found.files for p in files]):
            lists = str(GTZAN_LISTS)
    base = {**{k: cls() for k, cls in CONFIGS.items()}, **(base or {})}
    if epochs is not None:
        base["train"] = base["train"].replace(epochs=epochs)
    base["train"] = base["train"].replace(split=split, folds=folds, lists=lists)
    points = grid(varies)
    trials = plan(points, repeats=repeats, split=split, folds=folds)
    configs = [configs_for(t.settings, base) for t in trials]  # every point's settings checked before any work
    out = Path(out)
    (out / "runs").mkdir(parents=True, exist_ok=True)
    write_text(out / EXPERIMENT_FILE, json.dumps({
        "dataset": str(Path(dataset).resolve()), "varies": [[n, v] for n, v in varies], "repeats": repeats,
        "split": split, "folds": folds, "lists": lists, "backend": backend, "created": now(), "trials": len(trials),
        "base": {k: c.to_dict() for k, c in base.items()}}, indent=1, default=list))

    stores: dict[str, tuple[Path, Any]] = {}  # one extraction per distinct feature setting (the store's cache)
    missing: set[str] = set()
    runs = []
    for trial, (fp, mc, tc) in zip(trials, configs):
        key = json.dumps(fp.identity(), sort_keys=True, default=list)
        if key not in stores:
            path = workspace.features_path(dataset, fp)
            stores[key] = (path, extract_to_store(dataset, fp, path, jobs=-1)[0])
        path, fs = stores[key]
        if tc.augmentation() is not None:  # once per setting here, not in parallel by every trial that needs it
            load_or_augment(fs, path, tc, jobs=-1)
        tc = tc.replace(seed=trial.seed, fold=trial.fold or 0)
        missing |= set(split_rows(fs, tc).missing)  # a trial that cannot split fails here, before any training
        make = functools.partial(create_run, out / "runs", features_path=path, features=fs, model_config=mc,
                                 train_config=tc, name=_label(trial), backend=backend, models_dir=out / "models",
                                 source="experiment")
        runs.append((trial, make))

    rows = _execute(runs, workers or default_workers(), dask_client, on_progress, stop)
    summary = summarize([r for r in rows if r["track_accuracy"] is not None])
    write_tables(out, rows, summary)
    return {"trials": rows, "summary": summary, "missing": sorted(missing)}


def _label(trial: Trial) -> str:
    parts = [f"{k}={_cell(v)}" for k, v in trial.settings.items()] + [f"seed={trial.seed}"]
    return " ".join(parts + ([f"fold={trial.fold}"] if trial.fold is not None else []))


def _row(trial: Trial, run) -> dict:
    result = run.result() or {}
    m = result.get("metrics", {})
    return {"settings": trial.settings, "seed": trial.seed, "fold": trial.fold,
            "segment_accuracy": m.get("segment_accuracy"), "track_accuracy": m.get("track_accuracy"),
            "epochs_run": m.get("epochs_run", 0), "seconds": result.get("seconds", 0.0), "run_id": run.id,
            **({} if result else {"error": run.status().get("message", "failed")})}


def _died(status: dict) -> bool:
    """A trial whose process was killed (or vanished), as opposed to one that failed with a reason."""
    return bool(status.get("orphaned")) or (status.get("exit_code") or 0) < 0


def _execute(trials, workers: int, dask_client, on_progress, stop) -> list[dict]:
    """Run the trials (``(trial, make_run)``), ``workers`` at a time locally or on Dask; a trial whose
    process dies is run once more, under a new run record (the dead one stays, failed)."""
    rows: dict[int, dict] = {}
    total = len(trials)

    def finished(i: int, run) -> None:
        rows[i] = _row(trials[i][0], run)
        if on_progress is not None:
            on_progress(len(rows), total, rows[i])

    if dask_client is not None:
        from dask.distributed import as_completed

        made = {i: make() for i, (_, make) in enumerate(trials)}
        futures = {dask_client.submit(_run_in_process, str(run.path), pure=False, retries=1): i
                   for i, run in made.items()}
        for future in as_completed(futures):
            finished(futures[future], made[futures[future]])
            if stop is not None and stop.is_set():
                for run in made.values():
                    run.request_stop()
        return [rows[i] for i in range(total)]

    stop = stop if stop is not None else threading.Event()
    queue, flying, retried = list(range(total)), [], set()
    while queue or flying:
        try:
            _tick(trials, queue, flying, retried, workers, stop, finished)
        except KeyboardInterrupt:  # Ctrl-C: as Stop; the trials in flight end after their batch and are kept
            stop.set()
        if stop.is_set() and not flying:
            break
    for i, (trial, _) in enumerate(trials):  # never started: the experiment was stopped first
        if i not in rows:
            rows[i] = {"settings": trial.settings, "seed": trial.seed, "fold": trial.fold, "segment_accuracy": None,
                       "track_accuracy": None, "epochs_run": 0, "seconds": 0.0, "run_id": None,
                       "error": "not run: the experiment was stopped"}
    return [rows[i] for i in range(total)]


def _tick(trials, queue, flying, retried, workers: int, stop, finished) -> None:
    """One turn of the local scheduler: start trials while workers are free, collect the ended ones."""
    from genre.jobs.runs import launch

    while queue and len(flying) < workers and not stop.is_set():
        i = queue.pop(0)
        run = trials[i][1]()
        launch(run)
        flying.append((i, run))
    time.sleep(0.2)
    for i, run in list(flying):
        status = run.status()
        if status.get("state") not in ("done", "stopped", "failed"):
            if stop.is_set() and not run.stop_requested:
                run.request_stop()
            continue
        flying.remove((i, run))
        if _died(status) and i not in retried:  # its process was killed: once more, under a new record
            retried.add(i)
            queue.insert(0, i)
            continue
        finished(i, run)


# --- an experiment's record, for the app ------------------------------------------------------------

SUMMARY_FILE, STOP_FILE, PID_FILE, LOG_FILE = "summary.json", "stop", "pid", "log.txt"


@dataclass(frozen=True)
class Experiment(Record):
    """A view of an experiment's folder; every read goes to disk."""

    SPEC_FILE: ClassVar[str] = EXPERIMENT_FILE

    def runs(self) -> list:
        from genre.jobs.runs import list_runs

        return list_runs(self.path / "runs")

    def result(self) -> dict | None:
        """``{"trials", "summary"}`` once the experiment has ended (stopped or not), else None."""
        return read_json(self.path / SUMMARY_FILE)

    def _process(self) -> tuple:
        """The runner's identity as :func:`launch_experiment` recorded it, and the bare pid of an older record."""
        try:
            text = (self.path / PID_FILE).read_text()
        except OSError:
            return None, None
        try:
            data = json.loads(text)
        except ValueError:
            return None, None
        return (data, None) if isinstance(data, dict) else (None, data if isinstance(data, int) else None)

    @property
    def running(self) -> bool:
        from genre.process import recorded_alive

        return self.result() is None and recorded_alive(*self._process(), names=str(self.path))

    def progress(self) -> tuple[int, int]:
        """(finished trials, planned trials)."""
        done = sum(1 for r in self.runs() if not r.running)
        return done, int(self.spec.get("trials", 0) or 0)

    def request_stop(self) -> None:
        write_text(self.path / STOP_FILE, now())

    @property
    def stop_requested(self) -> bool:
        return (self.path / STOP_FILE).exists()

    def delete(self, timeout: float = 10.0) -> None:
        """Remove the experiment: its runner and running trials are killed first (a stopped runner would
        start no more trials, but would write its summary into a folder that no longer exists)."""
        import shutil

        from genre.process import kill_recorded, recorded_alive

        process = self._process()
        if self.running and kill_recorded(*process, names=str(self.path)):  # only the runner it recorded
            deadline = time.monotonic() + timeout
            while recorded_alive(*process, names=str(self.path)) and time.monotonic() < deadline:
                time.sleep(0.05)
        for run in self.runs():
            if run.running:
                run.delete()
        shutil.rmtree(self.path, ignore_errors=True)


def list_experiments(folder: str | Path) -> list[Experiment]:
    """Every experiment folder under ``folder``, newest first."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if (p / EXPERIMENT_FILE).is_file() or (p / PID_FILE).is_file()]
    return [Experiment(p) for p in sorted(found, key=lambda p: p.stat().st_mtime_ns, reverse=True)]


def launch_experiment(dataset: str | Path, out: str | Path, vary: list[str], *, repeats: int, split: str,
                      folds: int, epochs: int, backend: str, workers: int | None = None,
                      lists: str | None = None, exclude: tuple[str, ...] = (),
                      files_per_genre: int = -1) -> Experiment:
    """Start ``python -m genre experiment`` in a process of its own (it outlives the caller's), writing to ``out``.

    Its Stop is the ``stop`` file in ``out`` (:meth:`Experiment.request_stop`).
    """
    import os
    import subprocess
    import sys

    for text in vary:
        parse_vary(text)  # a bad value is said here, not by a process that dies
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "genre", "experiment", str(dataset), "--out", str(out), "--repeats", str(repeats),
           "--split", split, "--folds", str(folds), "--epochs", str(epochs), "--backend", backend, "--json"]
    cmd += [a for v in vary for a in ("--vary", v)]
    cmd += ["--workers", str(workers)] if workers else []
    cmd += ["--lists", str(lists)] if lists else []
    cmd += [a for folder in exclude for a in ("--exclude", folder)]
    cmd += ["--files-per-genre", str(files_per_genre)] if files_per_genre != -1 else []
    with open(out / LOG_FILE, "ab") as log:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
    ident = ProcessId.of(proc.pid)  # known from its fork on: the identity that can be judged and signalled
    write_text(out / PID_FILE, json.dumps(ident.to_dict() if ident is not None else proc.pid))
    threading.Thread(target=proc.wait, daemon=True).start()  # reaped: no zombie
    return Experiment(out)


# --- for the Experiments page -----------------------------------------------------------------------

def fixed_vary(config, skip=()) -> list[str]:
    """``--vary`` entries of one value for the fields of ``config`` that differ from its class's defaults.

    The runner's base is the defaults; these carry another base (the app's current settings) to it.
    Fields that cannot be varied (``NOT_VARIED``) and the names in ``skip`` (the ones varied) are left out.
    """
    default = type(config)()
    return [f"{f.name}={_cell(getattr(config, f.name))}" for f in dataclasses.fields(config)
            if f.name in VARIABLES and f.name not in skip and getattr(config, f.name) is not None
            and getattr(config, f.name) != getattr(default, f.name)]


def varied(spec: dict) -> list[str]:
    """The settings an experiment varied over more than one value (its single-valued ``--vary`` were fixed)."""
    return [name for name, values in spec.get("varies", []) if len(values) > 1]


def state_of(exp: Experiment) -> str:
    """``running``, ``done``, ``stopped`` (on request) or ``failed`` (its process ended without a summary)."""
    if exp.running:
        return "running"
    if exp.result() is None:
        return "failed"
    return "stopped" if (exp.path / STOP_FILE).exists() else "done"


def log_tail(exp: Experiment, lines: int = 20) -> str:
    """The end of the experiment process's log (why it failed)."""
    try:
        text = (exp.path / LOG_FILE).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])


def _last(values) -> float | None:
    finite = [float(v) for v in values or () if v is not None and math.isfinite(float(v))]
    return finite[-1] if finite else None


def gaps(exp: Experiment) -> list[dict]:
    """The summary's rows (best first), each with the train - validation accuracy gap of its trials.

    A trial's gap is its run's last ``accuracy`` minus its last ``val_accuracy``: how much better the
    model did on the data it learned from than on held-out data (large: it memorised). ``gap_mean`` and
    ``gap_std`` are over the point's trials that have both curves (None when none has).
    """
    from genre.jobs.runs import Run

    result = exp.result() or {}
    per_point: dict[str, list[float]] = {}
    for trial in result.get("trials", []):
        if not trial.get("run_id"):
            continue
        history = (Run(exp.path / "runs" / trial["run_id"]).result() or {}).get("history", {})
        train, val = _last(history.get("accuracy")), _last(history.get("val_accuracy"))
        if train is not None and val is not None:
            per_point.setdefault(_key(trial["settings"]), []).append(train - val)
    rows = []
    for row in result.get("summary", []):
        found = per_point.get(_key(row["settings"]), [])
        rows.append({**row, "gap_mean": statistics.fmean(found) if found else None,
                     "gap_std": statistics.stdev(found) if len(found) > 1 else (0.0 if found else None)})
    return rows


def _key(settings: dict) -> str:
    return json.dumps(settings, sort_keys=True, default=list)


def seed_spread(summary: list[dict]) -> float | None:
    """The typical seed-to-seed std of track accuracy: the median over the points trained more than once."""
    stds = [row["track_accuracy_std"] for row in summary if row.get("n", 0) > 1]
    return statistics.median(stds) if stds else None


def estimate_seconds(runs, *, backend: str, epochs: list[int], workers: int) -> float | None:
    """Roughly how long trials of ``epochs`` (one entry per trial) take, ``workers`` at a time.

    From finished runs on ``backend``: the median seconds per epoch (build, fit and test, over the
    epochs run) and the median start-up (the process importing Keras and loading the features).
    None when no such run has finished. Feature extraction is not counted.
    """
    per_epoch, startup = [], []
    for run in runs:
        result = run.result()
        if not result or run.spec.get("backend", "tensorflow") != backend:
            continue
        done = int(result.get("metrics", {}).get("epochs_run") or 0)
        if done > 0 and result.get("seconds"):
            per_epoch.append(float(result["seconds"]) / done)
            status = run.raw_status()
            if status.get("started") and status.get("created"):
                startup.append(max(0.0, float(status["started"]) - float(status["created"])))
    if not per_epoch or not epochs:
        return None
    each, start = statistics.median(per_epoch), statistics.median(startup) if startup else 0.0
    return sum(start + each * e for e in epochs) / max(1, min(workers, len(epochs)))
