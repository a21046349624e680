"""The processes behind a run: ``python -m genre.jobs.worker supervise|train RUN_DIR``.

Started by :func:`genre.jobs.runs.launch`, not by hand. ``supervise`` imports no TensorFlow: it starts
``train`` (with the run's ``KERAS_BACKEND`` in its environment, set before Keras is imported),
waits for it and records how it ended. ``train`` turns SIGTERM into a stop after the current batch.
"""

from __future__ import annotations

import contextlib
import signal
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2 or argv[0] not in ("supervise", "train"):
        print("usage: python -m genre.jobs.worker supervise|train RUN_DIR", file=sys.stderr)
        return 2
    from genre.jobs.runs import STOP_FILE, Run, execute, supervise

    run = Run(Path(argv[1]))
    if argv[0] == "supervise":
        return supervise(run)

    def stop(signum, _frame):
        with contextlib.suppress(OSError):  # the record may be gone (deleted)
            (run.path / STOP_FILE).touch()

    signal.signal(signal.SIGTERM, stop)
    execute(run)
    return 0 if run.raw_status().get("state") in ("done", "stopped") else 1


if __name__ == "__main__":
    sys.exit(main())
