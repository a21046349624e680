"""Predictions in a process of its own, so the process that asks (the app's server) never imports TensorFlow.

``import tensorflow`` costs the app's server ~650 MB it never gives back, and a model deserialized
there is a model a visitor's upload made it read. A :class:`Predictor` keeps one worker process
(``python -m genre.jobs.predictor``) that loads bundles (the last few stay loaded) and classifies clips,
checks an imported model, says what musicnn hears in a clip, or extracts musicnn embeddings for the
Features page (requests take turns: a classification waits for an extraction in progress); the caller gets
back what :func:`genre.learn.predict.predict_file` or :func:`genre.learn.bundle.load_bundle` would have
returned or raised. The worker ends itself after a few
idle minutes, giving its memory back, and is started again on the next request; a worker that died
(killed, out of memory) is replaced, and the request is tried once more.

Messages are pickles over the worker's stdin/stdout, between this library and itself only.
"""

from __future__ import annotations

import os
import pickle
import struct
import subprocess
import sys
import threading
from collections import OrderedDict
from pathlib import Path

from genre import errors
from genre.errors import GenreError

IDLE_EXIT_S = 300.0  # the worker ends after this long without a request (its memory back to the system)
LOADED_BUNDLES = 4  # bundles the worker keeps loaded


class PredictorError(GenreError):
    """The prediction worker failed in a way that is not the clip's or the model's fault."""


def _send(stream, obj) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(struct.pack("<Q", len(data)) + data)
    stream.flush()


def _recv(stream):
    head = stream.read(8)
    if len(head) < 8:
        raise EOFError
    size = struct.unpack("<Q", head)[0]
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)


class Predictor:
    """A client of one prediction worker; thread-safe (requests take turns: the worker uses every core)."""

    def __init__(self, *, idle_exit_s: float = IDLE_EXIT_S, backend: str = "tensorflow"):
        self.idle_exit_s, self.backend = idle_exit_s, backend
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None

    @property
    def pid(self) -> int | None:
        """The worker's pid while one runs (for tests and the memory benchmark)."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def predict(self, bundle_path: str | Path, data: bytes, *, name: str):
        """:func:`genre.learn.predict.predict_file` of the upload ``data`` by the bundle at ``bundle_path``, in the worker."""
        return self._ask("predict", str(bundle_path), bytes(data), name)

    def hear(self, data: bytes, *, name: str) -> dict:
        """What the pretrained music network (musicnn, genre.data.musicnn) hears in a clip: ``{"top": [(tag, p),
        ...], "over_time": [(seconds, tag, p), ...]}`` (the top tag of each 3 s patch)."""
        return self._ask("hear", data, name)

    def extract(self, root: str | Path, params, out: str | Path, *, on_progress=None) -> bool:
        """:func:`genre.data.extract.extract_to_store` in the worker, for features a network computes (musicnn's:
        the server never runs it). Returns whether ``out`` already held them; ``on_progress(done, total)`` is called
        here as files are done. Anything that interrupts the wait (an exception from ``on_progress``, such as the
        app's rerun on Stop) ends the worker, and the extraction with it."""
        return self._ask("extract", str(root), params, str(out), on_progress=on_progress)

    def check_bundle(self, bundle_path: str | Path) -> None:
        """Load the bundle at ``bundle_path`` in the worker (Keras safe mode, shapes checked); raises BundleError."""
        self._ask("check", str(bundle_path))

    def close(self) -> None:
        with self._lock:
            self._stop()

    def _ask(self, *request, on_progress=None):
        with self._lock:
            for attempt in (1, 2):  # a worker that died (idle exit, killed) is replaced once
                self._start()
                try:
                    _send(self._proc.stdin, request)
                    while (reply := _recv(self._proc.stdout))[0] == "progress":
                        if on_progress is not None:
                            on_progress(*reply[1])
                    ok, value = reply
                except BaseException as exc:
                    if not isinstance(exc, (EOFError, BrokenPipeError, OSError)):  # interrupted: the work goes too
                        self._stop(kill=True)
                        raise
                    self._stop()
                    if attempt == 2:
                        raise PredictorError("the prediction worker ended while working on this request "
                                             "(out of memory?)") from None
                    continue
                if ok:
                    return value
                kind, message = value
                raise getattr(errors, kind, PredictorError)(message)

    def _start(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            return
        env = {**os.environ, "KERAS_BACKEND": self.backend, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"}
        self._proc = subprocess.Popen([sys.executable, "-m", "genre.jobs.predictor", str(self.idle_exit_s)],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                      env=env, cwd=Path(__file__).resolve().parents[2])

    def _stop(self, *, kill: bool = False) -> None:
        if self._proc is None:
            return
        if kill:
            self._proc.kill()
        for stream in (self._proc.stdin, self._proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc = None


def _identity(path: str) -> tuple:
    s = (Path(path) / "bundle.json").stat()
    return (path, s.st_ino, s.st_size, s.st_mtime_ns)  # a bundle re-created at the same path is loaded afresh


def hear(*, data, name: str | None = None) -> dict:
    """musicnn's tags for a clip (its bytes and file name, or its path): its top five over the clip, and the top tag
    of each 3 s patch."""
    from genre.data import musicnn
    from genre.data.audio import load_audio

    y = load_audio(data, sample_rate=musicnn.SAMPLE_RATE, name=name)
    tags = musicnn.embed(musicnn.shared(), y, musicnn.SAMPLE_RATE, layer="tags")
    if not len(tags):
        raise errors.ClipTooShortError(f"{name or Path(data).name} is shorter than the 3 s the pretrained network "
                                       "listens to")
    seconds = musicnn.PATCH_FRAMES * musicnn.HOP / musicnn.SAMPLE_RATE
    return {"top": musicnn.top_tags(tags, k=5),
            "over_time": [(round(i * seconds, 1), musicnn.TAGS[int(t.argmax())], float(t.max()))
                          for i, t in enumerate(tags)]}


def serve(stdin, stdout, idle_exit_s: float) -> None:
    """The worker's loop: answer requests until stdin closes or nothing came for ``idle_exit_s`` seconds."""
    import select

    from genre.data.extract import extract_to_store
    from genre.learn.bundle import load_bundle
    from genre.learn.predict import predict_file

    loaded: OrderedDict = OrderedDict()

    def bundle(path: str):
        key = _identity(path)
        if key not in loaded:
            loaded[key] = load_bundle(path)
            while len(loaded) > LOADED_BUNDLES:
                loaded.popitem(last=False)
        loaded.move_to_end(key)
        return loaded[key]

    while select.select([stdin], [], [], idle_exit_s)[0]:
        try:
            request = _recv(stdin)
        except EOFError:
            return
        try:
            if request[0] == "predict":
                _, path, data, name = request
                answer = (True, predict_file(bundle(path), data, name=name))
            elif request[0] == "extract":
                _, root, params, out = request
                answer = (True, extract_to_store(root, params, out,
                                                 on_progress=lambda done, total: _send(stdout, ("progress",
                                                                                                (done, total))))[1])
            elif request[0] == "hear":
                answer = (True, hear(data=request[1], name=request[2]))
            else:
                load_bundle(request[1])
                answer = (True, None)
        except GenreError as exc:
            answer = (False, (type(exc).__name__, str(exc)))
        except OSError as exc:  # a bundle deleted meanwhile
            answer = (False, ("BundleError", f"cannot read the model: {exc.strerror or exc}"))
        except Exception as exc:  # a bug: said, not a dead worker
            answer = (False, ("PredictorError", f"{type(exc).__name__}: {exc}"))
        _send(stdout, answer)


if __name__ == "__main__":
    protocol = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # whatever a library prints goes to stderr, never into the replies
    serve(sys.stdin.buffer, protocol, float(sys.argv[1]) if len(sys.argv) > 1 else IDLE_EXIT_S)
