"""An experiment's folder, as the app reads it: its state, progress, trials, log; stop and delete.

::

    experiment.json   the spec (genre.jobs.experiment.spec.ExperimentSpec)
    pid               the runner's identity (genre.process.ProcessId)
    runs/<run-id>/    one run record per trial (genre.jobs.runs)
    trials.csv, summary.json, summary.csv, log.txt, stop
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from genre.atomic import read_json, write_text
from genre.errors import ParameterError
from genre.jobs.experiment.spec import EXPERIMENT_FILE, ExperimentSpec, now
from genre.jobs.runs import Record

SUMMARY_FILE, STOP_FILE, PID_FILE, LOG_FILE = "summary.json", "stop", "pid", "log.txt"


@dataclass(frozen=True)
class Experiment(Record):
    """A view of an experiment's folder; every read goes to disk."""

    SPEC_FILE: ClassVar[str] = EXPERIMENT_FILE

    def experiment_spec(self) -> ExperimentSpec:
        """The spec, as a validated :class:`ExperimentSpec` (ParameterError when unreadable)."""
        return ExperimentSpec.read(self.path)

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

    @property
    def state(self) -> str:
        """``running``, ``done``, ``stopped`` (on request) or ``failed`` (its process ended without a summary)."""
        if self.running:
            return "running"
        if self.result() is None:
            return "failed"
        return "stopped" if self.stop_requested else "done"

    def progress(self) -> tuple[int, int]:
        """(finished trials, planned trials)."""
        done = sum(1 for r in self.runs() if not r.running)
        return done, int(self.spec.get("trials", 0) or 0)

    def elapsed(self) -> float:
        """Seconds since the runner started (0 when it has not recorded itself yet)."""
        try:
            return max(0.0, time.time() - (self.path / PID_FILE).stat().st_mtime)
        except OSError:
            return 0.0

    def log_tail(self, lines: int = 20) -> str:
        """The end of the runner's log (why it failed)."""
        try:
            text = (self.path / LOG_FILE).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])

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


def trial_title(run_name: str, names) -> str:
    """A trial's varied settings, seed and fold from its run name (which has the fixed ones too)."""
    keep = {*names, "seed", "fold"}
    return " ".join(p for p in run_name.split() if p.split("=")[0] in keep) or run_name


def list_experiments(folder: str | Path, *, also=()) -> list[Experiment]:
    """Every experiment folder under ``folder``, newest first, then those of ``also`` (folders opened from
    elsewhere, e.g. made by ``python -m genre experiment --out DIR``) that are still experiments."""
    folder = Path(folder)
    found = [p for p in folder.iterdir() if (p / EXPERIMENT_FILE).is_file() or (p / PID_FILE).is_file()] \
        if folder.is_dir() else []
    out = [Experiment(p) for p in sorted(found, key=lambda p: p.stat().st_mtime_ns, reverse=True)]
    seen = {e.path.resolve() for e in out}
    for other in map(Path, also):
        if (other / EXPERIMENT_FILE).is_file() and other.resolve() not in seen:
            out.append(Experiment(other))
            seen.add(other.resolve())
    return out


def open_experiment(folder: str | Path) -> Experiment:
    """An experiment folder made elsewhere, if this process may read it (``GENRE_DATA_ROOTS``) and it is one."""
    from genre.data.workspace import check_data_root

    path = check_data_root(folder)
    if not (path / EXPERIMENT_FILE).is_file():
        raise ParameterError(f"{folder} is not an experiment folder (it has no {EXPERIMENT_FILE})")
    return Experiment(path)
