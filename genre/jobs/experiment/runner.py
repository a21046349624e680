"""Running an experiment: every trial a training run, in local worker processes or on a Dask cluster.

The trials run in the same supervisor and training processes as the app's runs, so a trial is exactly
an app run. :func:`launch_experiment` starts the runner in a process of its own (the worker entry
``python -m genre.jobs.worker experiment EXP_DIR``), which reads the spec from the folder.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from pathlib import Path
from typing import Any

from genre.atomic import write_text
from genre.jobs.experiment.record import LOG_FILE, PID_FILE, STOP_FILE, Experiment
from genre.jobs.experiment.spec import EXPERIMENT_FILE, KEEP_MODELS, ExperimentSpec, Trial
from genre.jobs.experiment.summary import summarize, write_tables
from genre.process import ProcessId


def default_workers() -> int:
    """Trials at once on this machine: Keras already uses every core per fit, so half the cores, at least 1."""
    import os

    return max(1, (os.cpu_count() or 1) // 2)


def _run_in_process(run_dir: str) -> str:
    """A trial on a Dask worker: the same supervisor and training processes as an app run; its final state."""
    import subprocess
    import sys

    from genre.jobs.execution import child_env
    from genre.jobs.runs import Run

    run = Run(Path(run_dir))
    subprocess.run([sys.executable, "-m", "genre.jobs.worker", "supervise", run_dir], env=child_env(run),
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return run.state


def run_experiment(spec: ExperimentSpec, out: str | Path, *, dask_client=None, on_progress=None,
                   stop=None) -> dict:
    """Run every trial of ``spec`` and summarize; returns the ``--json`` object of the CLI.

    Parameters
    ----------
    spec : ExperimentSpec
        Written to ``out/experiment.json`` unless it is there already (a launched experiment's).
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

    out = Path(out)
    (out / "runs").mkdir(parents=True, exist_ok=True)
    if not (out / EXPERIMENT_FILE).is_file():
        spec.write(out)
    if dask_client is None:  # the warm workers import Keras while the trials are prepared below (~1 s saved)
        from genre.jobs.execution import ensure_spare
        from genre.jobs.runs import resolve_backend

        for backend in sorted({resolve_backend(spec.backend, mc.kind) for _, mc, _ in spec.configs()}):
            ensure_spare(backend)
    stores: dict[str, tuple[Path, Any]] = {}  # one extraction per distinct feature setting (the store's cache)
    missing: set[str] = set()
    runs = []
    for trial, (fp, mc, tc) in zip(spec.trials(), spec.configs()):
        key = json.dumps(fp.identity(), sort_keys=True, default=list)
        if key not in stores:
            path = workspace.features_path(spec.dataset, fp)
            stores[key] = (path, extract_to_store(spec.dataset, fp, path, jobs=-1)[0])
        path, fs = stores[key]
        if tc.augmentation() is not None:  # once per setting here, not in parallel by every trial that needs it
            load_or_augment(fs, path, tc, jobs=-1)
        missing |= set(split_rows(fs, tc).missing)  # a trial that cannot split fails here, before any training
        make = functools.partial(create_run, out / "runs", features_path=path, features=fs, model_config=mc,
                                 train_config=tc, name=trial.label, backend=spec.backend, models_dir=out / "models",
                                 source="experiment")
        runs.append((trial, make))

    rows = _execute(runs, spec.workers or default_workers(), dask_client, on_progress, stop)
    summary = summarize([r for r in rows if r["track_accuracy"] is not None])
    write_tables(out, rows, summary)
    prune_models(out, rows, summary, spec.keep_models)
    return {"trials": rows, "summary": summary, "missing": sorted(missing)}


def prune_models(out: Path, rows: list[dict], summary: list[dict], keep: str) -> list[str]:
    """Delete the trials' models that ``keep`` ("all", "best", "none") does not keep; the run ids pruned.

    The best trial is the best point's (summary order) best-scoring seed. A pruned trial's record stays, with
    its metrics and curves, and says its model was not kept.
    """
    from genre.jobs.runs import Run
    from genre.learn.bundle import delete_bundle

    if keep == "all":
        return []
    best = None
    if keep == "best" and summary:
        point = [r for r in rows if r["settings"] == summary[0]["settings"] and r.get("track_accuracy") is not None]
        best = max(point, key=lambda r: r["track_accuracy"])["run_id"] if point else None
    pruned = []
    for row in rows:
        if not row.get("run_id") or row["run_id"] == best:
            continue
        run = Run(out / "runs" / row["run_id"])
        if run.bundle_path is not None:
            delete_bundle(run.bundle_path)
            run._update_status(bundle=None, model="not kept: the experiment kept " + KEEP_MODELS[keep])
            pruned.append(run.id)
    return pruned


def _row(trial: Trial, run) -> dict:
    result = run.brief() or {}
    m = result.get("metrics", {})
    return {"settings": trial.settings, "seed": trial.seed, "fold": trial.fold,
            "segment_accuracy": m.get("segment_accuracy"), "track_accuracy": m.get("track_accuracy"),
            "epochs_run": m.get("epochs_run", 0), "seconds": result.get("seconds", 0.0), "run_id": run.id,
            **({} if result else {"error": run.status().get("message", "failed")})}


def _died(status: dict) -> bool:
    """A trial whose process was killed (or vanished) before it ended, as opposed to one that failed with a reason
    (or a trial that ended, and whose warm worker died afterwards, resetting for the next)."""
    return status.get("state") == "failed" and (bool(status.get("orphaned")) or (status.get("exit_code") or 0) < 0)


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
    """One turn of the local scheduler: queue trials while workers are free (and one more), collect the ended ones."""
    from genre.jobs import queue as queue_
    from genre.jobs.execution import launch
    from genre.jobs.runs import FINAL_STATES

    # One more queued than may train, when the trials fill every slot of the workspace: a worker that ends a trial
    # finds the next one waiting, rather than waiting for this loop to notice (with a slot to spare, a queued trial
    # would train at once: more trials at once than asked for).
    ahead = 1 if workers >= queue_.max_runs() else 0
    while queue and len(flying) < workers + ahead and not stop.is_set():
        i = queue.pop(0)
        run = trials[i][1]()
        launch(run)
        flying.append((i, run))
    time.sleep(0.2)
    for i, run in list(flying):
        if stop.is_set() and queue_.cancel(run.id):  # queued, never started: as a trial not run, with no record
            flying.remove((i, run))
            run.delete()
            continue
        status = run.status()
        if status.get("state") not in FINAL_STATES:
            if stop.is_set() and not run.stop_requested:
                run.request_stop()
            continue
        flying.remove((i, run))
        if _died(status) and i not in retried:  # its process was killed: once more, under a new record
            retried.add(i)
            queue.insert(0, i)
            continue
        finished(i, run)


def launch_experiment(spec: ExperimentSpec, out: str | Path) -> Experiment:
    """Write ``spec`` to ``out`` and start its runner in a process of its own (it outlives the caller's).

    Its Stop is the ``stop`` file in ``out`` (:meth:`Experiment.request_stop`); its output goes to ``log.txt``.
    """
    import os
    import subprocess
    import sys

    out = Path(out)
    spec.validate().write(out)
    with open(out / LOG_FILE, "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "genre.jobs.worker", "experiment", str(out)],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
    ident = ProcessId.of(proc.pid)  # known from its fork on: the identity that can be judged and signalled
    write_text(out / PID_FILE, json.dumps(ident.to_dict() if ident is not None else proc.pid))
    threading.Thread(target=proc.wait, daemon=True).start()  # reaped: no zombie
    return Experiment(out)


def execute_experiment(out: str | Path) -> int:
    """The worker entry of a launched experiment: run the spec in ``out``; Ctrl-C or the stop file end it."""
    import sys

    from genre.jobs.execution import StopFlag

    out = Path(out)
    spec = ExperimentSpec.read(out)

    def progress(done: int, total: int, row: dict) -> None:
        print(f"trial {done}/{total}: {row.get('error') or 'done'}", file=sys.stderr, flush=True)

    result = run_experiment(spec, out, on_progress=progress, stop=StopFlag(out / STOP_FILE))
    failed = sum(1 for t in result["trials"] if t.get("error"))
    print(f"{len(result['trials']) - failed} of {len(result['trials'])} trials done", file=sys.stderr)
    return 0
