"""The processes behind runs and experiments: ``python -m genre.jobs.worker supervise|train RUN_DIR`` and
``python -m genre.jobs.worker experiment EXP_DIR``.

Started by :func:`genre.jobs.execution.launch` and :func:`genre.jobs.experiment.launch_experiment`, not by hand.
``supervise`` imports no TensorFlow: it starts ``train`` (with the run's ``KERAS_BACKEND`` in its environment,
set before Keras is imported), waits for it and records how it ended. ``train`` turns SIGTERM into a stop after
the current batch. ``experiment`` runs the spec in its folder (its trials are runs, each with these processes).
``supervise-spare`` and ``spare`` are a warm worker of a backend: a supervisor that imports nothing and a process
that has imported Keras, taking the workspace's queued runs of that backend one after another
(:func:`genre.jobs.execution.launch`).
"""

from __future__ import annotations

import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2 or argv[0] not in ("supervise", "train", "experiment", "spare", "supervise-spare"):
        print("usage: python -m genre.jobs.worker supervise|train RUN_DIR | experiment EXP_DIR | "
              "spare|supervise-spare BACKEND", file=sys.stderr)
        return 2
    from genre.jobs.execution import spare, supervise, supervise_spare, train_here
    from genre.jobs.runs import Run

    if argv[0] == "spare":
        return spare(argv[1])
    if argv[0] == "supervise-spare":
        return supervise_spare(argv[1])

    if argv[0] == "experiment":
        from genre.errors import GenreError
        from genre.jobs.experiment import execute_experiment

        try:
            return execute_experiment(argv[1])
        except GenreError as exc:  # one line in the log, as the CLI says it
            print(f"error: {exc}", file=sys.stderr)
            return 2

    run = Run(Path(argv[1]))
    return supervise(run) if argv[0] == "supervise" else train_here(run)


if __name__ == "__main__":
    sys.exit(main())
