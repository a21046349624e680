"""Experiments: a grid of settings × repeated seeds (× k folds), each trial a training run.

One run answers nothing: the seed-to-seed spread of test accuracy is several points, larger than
many effects a slider has. An experiment trains every point of a grid several times and reports
the mean ± std of segment and track accuracy per point.

- :mod:`.spec`: what an experiment is (:class:`ExperimentSpec`, the grid, the trials);
- :mod:`.runner`: running it, locally or on Dask, and launching it in a process of its own;
- :mod:`.record`: its folder as the app reads it (:class:`Experiment`);
- :mod:`.summary`: what it found (mean ± std per point, gaps, noise, tables, an estimate of its time).
"""

from genre.jobs.experiment.record import (
    LOG_FILE,
    PID_FILE,
    STOP_FILE,
    Experiment,
    list_experiments,
    open_experiment,
    trial_title,
)
from genre.jobs.experiment.runner import default_workers, execute_experiment, launch_experiment, run_experiment
from genre.jobs.experiment.spec import (
    CONFIGS,
    EXPERIMENT_FILE,
    KEEP_MODELS,
    NOT_VARIED,
    VARIABLES,
    ExperimentSpec,
    Trial,
    Work,
    cell,
    configs_for,
    grid,
    now,
    parse_vary,
    plan,
)
from genre.jobs.experiment.summary import (
    estimate_seconds,
    gaps,
    noise_note,
    overview,
    seed_spread,
    summarize,
    varied,
    write_tables,
)

__all__ = [
    "CONFIGS", "EXPERIMENT_FILE", "KEEP_MODELS", "LOG_FILE", "NOT_VARIED", "PID_FILE", "STOP_FILE", "VARIABLES", "Experiment",
    "ExperimentSpec", "Trial", "Work", "cell", "configs_for", "default_workers", "estimate_seconds", "execute_experiment",
    "gaps", "grid", "launch_experiment", "list_experiments", "noise_note", "open_experiment", "now", "overview", "parse_vary", "plan",
    "run_experiment", "seed_spread", "summarize", "trial_title", "varied", "write_tables",
]
