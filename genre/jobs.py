"""Training in a background thread, so a UI can redraw and stay responsive meanwhile.

The worker never touches the UI: it appends one dict per epoch to ``logs`` and checks a
stop event. A UI polls ``logs``/``status`` and draws them (Streamlit: a fragment that reruns
every second). Everything the UI needs is plain data, safe to read from another thread.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from pathlib import Path

from .config import ModelConfig, TrainConfig
from .errors import GenreError
from .store import FeatureSet
from .training import TrainResult, train

log = logging.getLogger("genre")


class TrainingJob:
    """One training run in a daemon thread.

    Attributes
    ----------
    status : str
        "pending", "running", "done", "stopped" (stopped on request, model kept) or "failed".
    logs : list of dict
        One per finished epoch: ``epoch``, ``seconds`` since start, and Keras' logs.
    result : TrainResult or None
    bundle_path : Path or None
        Where the model was saved (when ``models_dir`` was given).
    error : str or None
    """

    def __init__(self, features: FeatureSet, model_config: ModelConfig, train_config: TrainConfig, *,
                 name: str, models_dir: str | Path | None = None, extra: dict | None = None):
        self.features, self.model_config, self.train_config = features, model_config, train_config
        self.name, self.models_dir, self.extra = name, models_dir, extra or {}
        self.logs: list[dict] = []
        self.status = "pending"
        self.result: TrainResult | None = None
        self.bundle_path: Path | None = None
        self.error: str | None = None
        self.started: float | None = None
        self.finished: float | None = None
        self.stop_event = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> "TrainingJob":
        self.started = time.time()
        self.status = "running"
        self._thread = threading.Thread(target=self._run, name=f"train-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the run to end after the current batch; what was learned is kept and saved."""
        self.stop_event.set()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self.status in ("pending", "running")

    @property
    def epochs_done(self) -> int:
        return len(self.logs)

    @property
    def elapsed(self) -> float:
        if self.started is None:
            return 0.0
        return (self.finished or time.time()) - self.started

    def eta_seconds(self) -> float | None:
        """Seconds left at the mean epoch time so far (None before the first epoch)."""
        if not self.logs or not self.running:
            return None
        per_epoch = self.logs[-1]["seconds"] / len(self.logs)
        return per_epoch * (self.train_config.epochs - len(self.logs))

    def history(self) -> dict[str, list[float]]:
        """The epoch logs as Keras' ``History.history`` (key -> list per epoch)."""
        logs = list(self.logs)  # a snapshot: the worker may append meanwhile
        keys = [k for k in (logs[0] if logs else {}) if k not in ("epoch", "seconds")]
        return {k: [entry.get(k, float("nan")) for entry in logs] for k in keys}

    def _on_epoch(self, epoch: int, logs: dict) -> None:
        self.logs.append({"epoch": epoch, "seconds": time.time() - (self.started or time.time()), **logs})

    def _run(self) -> None:
        try:
            result = train(self.features, self.model_config, self.train_config,
                           on_epoch=self._on_epoch, stop=self.stop_event)
            self.result = result
            if self.models_dir is not None:
                self.bundle_path = self._save(result)
            self.status = "stopped" if result.stopped else "done"
        except GenreError as exc:
            self.error, self.status = str(exc), "failed"
        except Exception as exc:  # a bug, but the UI must show it rather than hang
            log.error("training %s failed:\n%s", self.name, traceback.format_exc())
            self.error, self.status = f"{exc.__class__.__name__}: {exc}", "failed"
        finally:
            self.finished = time.time()

    def _save(self, result: TrainResult) -> Path:
        from .bundle import save_bundle, unique_bundle_path
        from .model import model_summary

        fs = self.features
        path = unique_bundle_path(self.models_dir, self.name)
        return save_bundle(path, model=result.model, genres=fs.genres, params=fs.params,
                           model_config=self.model_config, train_config=self.train_config,
                           metrics=result.metrics, history=result.history,
                           extra={"seconds": result.seconds, "stopped": result.stopped,
                                  "summary": model_summary(result.model), "dataset": fs.root, **self.extra})
