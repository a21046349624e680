"""A training run: a process of its own, and a record on disk that any reader can follow.

The app, the CLI and the experiment runner all train through this module. A run's record lives in
``<runs_dir>/<run-id>/``::

    run.json       what was asked: name, features, configs, backend (written once, atomically)
    status.json    state, pids, times, message, exit code, bundle (rewritten atomically)
    epochs.jsonl   one JSON line per finished epoch (append-only)
    result.json    metrics and history when the run ends with a model (atomically)
    stop           present once a stop was asked for
    log.txt        what the training process printed
    model-offered  present while the saved model waits to be chosen by the first app session that sees it

States: ``pending`` (the process is starting: it imports TensorFlow), ``running``, and the final
``done``, ``stopped`` (on request; the model learned so far is saved) and ``failed`` (with a
message and, where known, the exit code). Readers never trust a non-final state blindly: a run
whose processes are gone without a final status reads as failed.

This module is the record (what a run is, as any reader sees it: the pages, the CLI, the experiment
runner); :mod:`genre.jobs.worker` holds the processes that execute it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from genre.atomic import read_json, write_text
from genre.data.params import FeatureParams
from genre.errors import GenreError, ParameterError, TrainingError
from genre.learn.config import ModelConfig, TrainConfig, check_features
from genre.process import kill_recorded, recorded_alive

RUN_FILE, STATUS_FILE, EPOCHS_FILE = "run.json", "status.json", "epochs.jsonl"
RESULT_FILE, STOP_FILE, LOG_FILE = "result.json", "stop", "log.txt"
BRIEF_FILE = "brief.json"  # result.json without the per-track rows of the error analysis: what lists read
OFFER_FILE = "model-offered"

FINAL_STATES = ("done", "stopped", "failed")
STATES = ("queued", "pending", "running", *FINAL_STATES)
IN_FLIGHT = "in flight"  # queued, pending or running, as a page drawn around a live view words it (phase())


def phase(state: str) -> str:
    """A state as the parts of a page outside a run's live view show it: in flight, or how it ended. The live view
    shows queued / starting / running itself, every half second, without redrawing the page around it."""
    return state if state in FINAL_STATES else IN_FLIGHT
BACKENDS = {  # name -> what the Train page and the CLI's help say about it
    "auto": "Auto (the faster for the network)",
    "tensorflow": "TensorFlow",
    "jax": "JAX",
}
BACKEND_HELP = ("Keras runs on either; the run and its saved model record which. Auto picks the faster on a CPU for "
                "the network (README, seconds per epoch): JAX for the dense network and the LSTM (~3x and 1.4x), "
                "TensorFlow for the CNN (1.2x).")
DEFAULT_BACKEND = "auto"


def resolve_backend(backend: str, kind: str) -> str:
    """The Keras backend a run of network ``kind`` uses when ``backend`` is chosen ("auto": the kind's faster)."""
    from genre.learn.model import MODEL_KINDS

    if backend not in BACKENDS:
        raise ParameterError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    return MODEL_KINDS[kind].backend if backend == "auto" and kind in MODEL_KINDS else backend


START_GRACE_S = 120.0  # a pending run with no live process after this long never started
_RUN_ID = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{6}$")


def new_run_id() -> str:
    """Time-ordered and unique: ``YYYYmmdd-HHMMSS-<6 random hex digits>``."""
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


class RecordGone(TrainingError):
    """The run's record was deleted while its process ran: the process ends, and writes nothing anew."""


def describe_exit(code: int | None) -> str:
    if code is None:
        return "the training process ended without a final status (exit code unknown)"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        hint = " (killed: out of memory, or by hand)" if -code == signal.SIGKILL else ""
        return f"the training process was ended by {name}{hint} before it finished (exit code {code})"
    return f"the training process exited with code {code} before it finished"


@dataclass(frozen=True)
class Record:
    """A read-only view of a record folder (a run's, an experiment's): every read goes to disk."""

    path: Path
    SPEC_FILE: ClassVar[str]  # what was asked, written once

    @property
    def id(self) -> str:
        return self.path.name

    @property
    def spec(self) -> dict:
        """``SPEC_FILE``: what was asked (empty when unreadable, or not written yet)."""
        return read_json(self.path / self.SPEC_FILE) or {}


@dataclass(frozen=True)
class Run(Record):
    """A view of one run's record. Every read goes to disk, so it is always current."""

    SPEC_FILE: ClassVar[str] = RUN_FILE

    @property
    def name(self) -> str:
        return self.spec.get("name") or self.id

    def configs(self, spec: dict | None = None) -> tuple[FeatureParams, ModelConfig, TrainConfig]:
        """The run's configs, from its spec (``spec``: one already read)."""
        s = self.spec if spec is None else spec
        return (FeatureParams.from_dict(s.get("feature_params", {})), ModelConfig.from_dict(s.get("model_config", {})),
                TrainConfig.from_dict(s.get("train_config", {})))

    # --- status ---------------------------------------------------------------------------------

    def raw_status(self) -> dict:
        return read_json(self.path / STATUS_FILE) or {"state": "pending"}

    def status(self) -> dict:
        """``status.json``, with a run whose processes are gone without a final status as failed."""
        from genre.jobs import queue

        st = self.raw_status()
        if st.get("state") in FINAL_STATES:
            return st
        if st.get("state") == "queued":
            if queue.is_queued(self.id):
                return st
            if queue.is_claimed(self.id):  # being handed to a warm process this instant
                return {**st, "state": "pending"}
        if self._processes_alive(st):
            return st
        known = any(st.get(k) for k in ("process", "supervisor", "pid", "supervisor_pid"))
        if not known and time.time() - float(st.get("created", 0) or 0) < START_GRACE_S:
            return st  # created, its supervisor not yet up
        st = self.raw_status()  # it may have ended between the two reads
        if st.get("state") in FINAL_STATES:
            return st
        return {**st, "state": "failed", "message": describe_exit(st.get("exit_code")), "orphaned": True}

    def _processes_alive(self, st: dict) -> bool:
        """Whether the training process or the supervisor the status names still runs (by identity, never a bare pid)."""
        return any(recorded_alive(st.get(key), st.get(legacy), names=str(self.path))
                   for key, legacy in (("process", "pid"), ("supervisor", "supervisor_pid")))

    @property
    def state(self) -> str:
        return self.status().get("state", "pending")

    @property
    def running(self) -> bool:
        return self.state not in FINAL_STATES

    def _update_status(self, **fields) -> dict:
        """Merge ``fields`` into ``status.json``. Raises RecordGone when the record was deleted meanwhile."""
        st = {**self.raw_status(), **fields}
        try:
            write_text(self.path / STATUS_FILE, json.dumps(st, indent=1), parents=False)
        except FileNotFoundError:
            raise RecordGone(f"the record of run {self.id} was deleted") from None
        return st

    # --- epochs, result -------------------------------------------------------------------------

    def epochs(self) -> list[dict]:
        """One dict per finished epoch (``epoch``, ``seconds`` since the network's build began: the clock of the
        result's ``seconds``; Keras' logs).

        Safe while the run writes: a last line still being written is not returned.
        """
        try:
            text = (self.path / EPOCHS_FILE).read_text(encoding="utf-8")
        except OSError:
            return []
        out = []
        for line in text.split("\n")[:-1]:  # only complete lines
            with contextlib.suppress(ValueError):
                out.append(json.loads(line))
        return out

    def history(self, epochs: list[dict] | None = None) -> dict[str, list[float]]:
        """The epoch log as Keras' ``History.history`` (key -> one value per epoch)."""
        epochs = self.epochs() if epochs is None else epochs
        keys = [k for k in (epochs[0] if epochs else {}) if k not in ("epoch", "seconds")]
        return {k: [e.get(k, float("nan")) for e in epochs] for k in keys}

    def result(self) -> dict | None:
        """``result.json``: metrics, history, seconds, stopped, summary (None until the run ends well)."""
        return read_json(self.path / RESULT_FILE)

    def brief(self) -> dict | None:
        """The result without its per-track rows (``tracks``, 97 % of a result): what a list of runs reads.

        ``brief.json``, written with the result; a record from before it is made from ``result.json`` once.
        """
        found = read_json(self.path / BRIEF_FILE)
        if found is not None:
            return found
        result = self.result()
        if result is None:
            return None
        found = brief_of(result)
        with contextlib.suppress(OSError):  # a read-only or just-deleted record: the brief is made each time
            write_text(self.path / BRIEF_FILE, json.dumps(found), parents=False)
        return found

    @property
    def bundle_path(self) -> Path | None:
        b = self.status().get("bundle")
        return Path(b) if b else None

    def eta_seconds(self, epochs: list[dict] | None = None) -> float | None:
        epochs = self.epochs() if epochs is None else epochs
        if not epochs or not self.running:
            return None
        total = self.spec.get("train_config", {}).get("epochs", len(epochs))
        return epochs[-1]["seconds"] / len(epochs) * max(total - len(epochs), 0)

    # --- control --------------------------------------------------------------------------------

    def queue_position(self) -> int | None:
        """How many queued runs are ahead of this one (None: it is not queued)."""
        from genre.jobs import queue

        return queue.position(self.id)

    def request_stop(self) -> None:
        """Ask the run to end after the current batch; what it learned is kept and saved. A queued run is taken
        out of the queue and ends stopped at once."""
        from genre.jobs import queue

        if queue.cancel(self.id):
            with contextlib.suppress(RecordGone):
                self._update_status(state="stopped", finished=time.time(),
                                    message="stopped while queued: it never started, no model")
            return
        with contextlib.suppress(FileNotFoundError):  # deleted: nothing left to stop
            write_text(self.path / STOP_FILE, time.strftime("%Y-%m-%d %H:%M:%S"), parents=False)

    @property
    def stop_requested(self) -> bool:
        return (self.path / STOP_FILE).exists()

    def offer_model(self) -> None:
        """Mark the run's model, once saved, as the one to choose next (the app does for the runs it starts)."""
        write_text(self.path / OFFER_FILE, "", parents=False)

    def claim_model(self) -> bool:
        """True once, for the first caller after the offered model was saved; False otherwise.

        The claim is an unlink: of several tabs (or a reloaded one) seeing the finished run, exactly one wins.
        """
        bundle = self.bundle_path
        if bundle is None or not bundle.is_dir():
            return False
        try:
            os.unlink(self.path / OFFER_FILE)
        except FileNotFoundError:
            return False
        return True

    def delete(self, timeout: float = 10.0) -> None:
        """Remove the record and the run's bundle. A running run's processes are killed first.

        Killed, not stopped: a stopped run would go on to save a model of a run that no longer exists.
        """
        from genre.jobs import queue

        queue.cancel(self.id)  # queued: no warm process takes it now
        # Out of the runs folder first: a process starting now finds no record to write to (and exits).
        trash = self.path.with_name(f".{self.id}.deleting")
        try:
            os.replace(self.path, trash)
        except FileNotFoundError:
            return
        st = read_json(trash / STATUS_FILE) or {}
        if st.get("state") not in FINAL_STATES:  # a finished run's process may live on: the CLI's, this one
            # The supervisor first (it would record the death); only processes that are still the record's own.
            for key, legacy in (("supervisor", "supervisor_pid"), ("process", "pid")):
                kill_recorded(st.get(key), st.get(legacy), names=str(self.path))
            deadline = time.monotonic() + timeout
            while self._processes_alive(st) and time.monotonic() < deadline:
                time.sleep(0.05)
        bundle = Path(st["bundle"]) if st.get("bundle") else None
        if bundle is not None and bundle.is_dir():
            from genre.learn.bundle import delete_bundle

            with contextlib.suppress(GenreError, OSError):
                delete_bundle(bundle)
        shutil.rmtree(trash, ignore_errors=True)


# --- creating, listing -------------------------------------------------------------------------

def create_run(runs_dir: str | Path, *, features_path: str | Path, features, model_config: ModelConfig,
               train_config: TrainConfig, name: str = "", backend: str = "tensorflow",
               models_dir: str | Path | None = None, bundle_out: str | Path | None = None,
               source: str = "app") -> Run:
    """Write a new run's record (state ``pending``); :func:`launch` or :func:`execute` trains it.

    Parameters
    ----------
    features_path : path
        The feature store the run trains on (the training process reads it).
    features : genre.data.store.FeatureSet
        That store, loaded: its genres, shape and dataset are recorded for the Runs page.
    models_dir : path, optional
        The bundle is saved in a folder of its own here, named after the run (reserved atomically).
    bundle_out : path, optional
        Or exactly here (the CLI's ``--out``), replacing what is there.
    """
    from genre.data.demo import is_synthetic

    chosen, backend = backend, resolve_backend(backend, model_config.kind)
    model_config, train_config = model_config.validate(), train_config.validate()
    check_features(features.params, model_config, train_config)
    runs_dir = Path(runs_dir)
    runs_dir.mkdir(parents=True, exist_ok=True)
    while True:  # os.mkdir is the reservation: two callers never get the same id
        run_id = new_run_id()
        try:
            os.mkdir(runs_dir / run_id)
            break
        except FileExistsError:
            continue
    run = Run(runs_dir / run_id)
    spec = {
        "id": run_id, "name": name or run_id, "created": time.time(), "source": source, "backend": backend,
        "backend_chosen": chosen,
        "features": str(Path(features_path).resolve()), "features_key": getattr(features, "key", ""),
        "dataset": getattr(features, "root", ""), "synthetic": is_synthetic(getattr(features, "root", "")),
        "genres": list(features.genres),
        "input_shape": list(features.X.shape[1:]), "rows": len(features), "tracks": len(features.files),
        "feature_params": features.params.to_dict(), "model_config": model_config.to_dict(),
        "train_config": train_config.to_dict(),
        "models_dir": None if models_dir is None else str(Path(models_dir).resolve()),
        "bundle_out": None if bundle_out is None else str(Path(bundle_out).resolve()),
    }
    write_text(run.path / RUN_FILE, json.dumps(spec, indent=1))
    write_text(run.path / STATUS_FILE, json.dumps({"state": "pending", "created": spec["created"]}))
    return run


def brief_of(result: dict) -> dict:
    """A result without its per-track rows."""
    return {k: v for k, v in result.items() if k != "tracks"}


def list_runs(runs_dir: str | Path) -> list[Run]:
    """Every run record under ``runs_dir``, newest first."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return []
    found = []
    for p in runs_dir.iterdir():
        if _RUN_ID.match(p.name):
            with contextlib.suppress(OSError):  # no run.json: not a run (or deleted meanwhile)
                found.append(((p / RUN_FILE).stat().st_mtime_ns, p.name, p))
    return [Run(p) for *_, p in sorted(found, reverse=True)]


def open_run(runs_dir: str | Path, run_id: str) -> Run | None:
    """The run ``run_id`` (from a URL, say), or None when there is no such record."""
    if not isinstance(run_id, str) or not _RUN_ID.match(run_id):
        return None
    run = Run(Path(runs_dir) / run_id)
    return run if (run.path / RUN_FILE).is_file() else None


def wait(run: Run, timeout: float | None = None, poll: float = 0.1) -> dict:
    """Block until ``run`` is in a final state (or ``timeout`` seconds passed); its status."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        st = run.status()
        if st.get("state") in FINAL_STATES or (deadline is not None and time.monotonic() > deadline):
            return st
        time.sleep(poll)


__all__ = ["BACKENDS", "FINAL_STATES", "Run", "STATES", "create_run", "list_runs", "open_run", "wait"]
