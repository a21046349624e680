"""Tests for genre.jobs.experiment: --vary parsing, the grid, trials, summaries, and whole experiments run
locally (worker processes) and on a Dask LocalCluster."""

from __future__ import annotations

import json

import pytest
from conftest import SMALL_PARAMS

from genre.data.params import FeatureParams
from genre.errors import ParameterError
from genre.jobs import queue
from genre.jobs.experiment import VARIABLES, ExperimentSpec, grid, parse_vary, plan, run_experiment, summarize
from genre.jobs.runs import Run
from genre.learn.config import ModelConfig, TrainConfig

BASE = {"features": FeatureParams(**SMALL_PARAMS), "model": ModelConfig(hidden_units=(16,), learning_rate=1e-2)}


@pytest.mark.parametrize("text, expected", [
    ("n_mfcc=13,20,40", ("n_mfcc", [13, 20, 40])),
    ("dropout=0,0.3,0.5", ("dropout", [0.0, 0.3, 0.5])),
    ("hidden_units=512-256-64,256-64,64", ("hidden_units", [(512, 256, 64), (256, 64), (64,)])),
    ("learning_rate=1e-4,1e-3", ("learning_rate", [1e-4, 1e-3])),
    ("excerpt=start,whole", ("excerpt", ["start", "whole"])),
])
def test_vary_takes_any_setting_the_app_exposes(text, expected):
    assert parse_vary(text) == expected


@pytest.mark.parametrize("text, message", [
    ("n_mfccs=13", "cannot vary 'n_mfccs': choose from"),
    ("n_mfcc", "--vary takes NAME=V1,V2"),
    ("n_mfcc=13,x", "'x' is not a valid value"),
    ("dropout=0.3,1.5", "dropout must be in"),
    ("seed=1,2", "cannot vary 'seed'"),
    ("n_mfcc=13,13", "given twice"),
])
def test_bad_vary_is_a_parameter_error(text, message):
    with pytest.raises(ParameterError, match=message):
        parse_vary(text)


def test_every_config_field_but_the_experiments_own_can_vary():
    assert {"n_mfcc", "num_segments", "hidden_units", "dropout", "l2", "learning_rate", "batch_size",
            "epochs"} <= set(VARIABLES)
    assert not {"seed", "fold", "split"} & set(VARIABLES)


def test_the_grid_and_the_trials():
    points = grid([parse_vary("n_mfcc=13,20"), parse_vary("dropout=0,0.5")])
    assert points == [{"n_mfcc": 13, "dropout": 0.0}, {"n_mfcc": 13, "dropout": 0.5},
                      {"n_mfcc": 20, "dropout": 0.0}, {"n_mfcc": 20, "dropout": 0.5}]
    assert grid([]) == [{}]
    trials = plan(points, repeats=3, split="kfold", folds=5)
    assert len(trials) == 4 * 3 * 5 and {t.fold for t in trials} == set(range(5)) and {t.seed for t in trials} == {0, 1, 2}
    assert all(t.fold is None for t in plan(points, repeats=2, split="track", folds=5))
    with pytest.raises(ParameterError, match="varied twice"):
        grid([parse_vary("n_mfcc=13"), parse_vary("n_mfcc=20")])


def test_summary_is_mean_and_std_per_point_best_first():
    rows = [{"settings": {"d": 0}, "track_accuracy": 0.5, "segment_accuracy": 0.4},
            {"settings": {"d": 0}, "track_accuracy": 0.7, "segment_accuracy": 0.6},
            {"settings": {"d": 1}, "track_accuracy": 0.9, "segment_accuracy": 0.8}]
    summary = summarize(rows)
    assert [s["settings"] for s in summary] == [{"d": 1}, {"d": 0}]
    assert summary[1]["n"] == 2 and summary[1]["track_accuracy_mean"] == pytest.approx(0.6)
    assert summary[1]["track_accuracy_std"] == pytest.approx(0.1414, abs=1e-4) and summary[0]["track_accuracy_std"] == 0


def _check_contract(result: dict, n_trials: int) -> None:
    assert set(result) == {"trials", "summary", "missing"}
    assert len(result["trials"]) == n_trials
    for t in result["trials"]:
        assert set(t) >= {"settings", "seed", "fold", "segment_accuracy", "track_accuracy", "epochs_run", "seconds",
                          "run_id"}
        assert 0 <= t["track_accuracy"] <= 1 and t["epochs_run"] == 1
    means = [s["track_accuracy_mean"] for s in result["summary"]]
    assert means == sorted(means, reverse=True)
    json.dumps(result)  # JSON as it is


def test_a_local_experiment_runs_every_trial_as_a_run_in_worker_processes(gtzan, tmp_path, genre_home):
    from genre.jobs.runs import list_runs

    seen = []
    spec = ExperimentSpec.build(gtzan, [parse_vary("dropout=0,0.5")], repeats=2, epochs=1, workers=2, base=BASE)
    result = run_experiment(spec, tmp_path / "exp", on_progress=lambda done, total, row: seen.append((done, total)))
    _check_contract(result, 4)
    assert seen[-1] == (4, 4)
    assert [(t["settings"], t["seed"]) for t in result["trials"]] == [
        ({"dropout": 0.0}, 0), ({"dropout": 0.0}, 1), ({"dropout": 0.5}, 0), ({"dropout": 0.5}, 1)]
    assert {s["n"] for s in result["summary"]} == {2}
    runs = list_runs(tmp_path / "exp" / "runs")
    assert {r.id for r in runs} == {t["run_id"] for t in result["trials"]} and all(r.state == "done" for r in runs)
    assert (tmp_path / "exp" / "summary.csv").read_text().splitlines()[0].startswith("dropout,n,track_accuracy_mean")
    assert json.loads((tmp_path / "exp" / "experiment.json").read_text())["trials"] == 4


def test_kfold_trials_test_every_track_once_per_repeat_on_a_dask_cluster(gtzan, tmp_path, genre_home):
    from dask.distributed import Client, LocalCluster

    from genre.jobs.runs import Run

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        spec = ExperimentSpec.build(gtzan, [], repeats=1, split="kfold", folds=2, epochs=1, base=BASE)
        result = run_experiment(spec, tmp_path / "exp", dask_client=client)
    _check_contract(result, 2)
    assert [t["fold"] for t in result["trials"]] == [0, 1]
    tested = []
    for t in result["trials"]:
        run = Run(tmp_path / "exp" / "runs" / t["run_id"])
        assert run.spec["train_config"]["fold"] == t["fold"]
        tested.append(run.result()["metrics"]["n_tracks"])
    assert sum(tested) == 12  # the 12 tracks, each tested once over the two folds


def test_the_cli_checks_every_vary_before_any_work(tmp_path, capsys):
    from genre.cli import main

    assert main(["experiment", str(tmp_path), "--out", str(tmp_path / "exp"), "--vary", "n_mfcc=13",
                 "--vary", "dropot=0.1"]) == 2
    assert "cannot vary 'dropot'" in capsys.readouterr().err
    assert not (tmp_path / "exp").exists()


def test_a_trial_whose_process_is_killed_runs_once_more_under_a_new_record(gtzan, tmp_path, genre_home):
    import os
    import signal
    import threading
    import time

    from genre.jobs.runs import Run, list_runs

    killed = []

    def kill_the_first_trial() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not killed:
            for run in list_runs(tmp_path / "exp" / "runs"):
                pid = run.raw_status().get("pid")
                if run.epochs() and pid:
                    os.kill(pid, signal.SIGKILL)
                    killed.append(run.id)
                    return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_the_first_trial, daemon=True)
    killer.start()
    result = run_experiment(ExperimentSpec.build(gtzan, [], repeats=1, epochs=400, workers=1, base=BASE),
                            tmp_path / "exp")
    killer.join()
    assert killed, "no trial was running long enough to be killed"
    (trial,) = result["trials"]
    assert trial["run_id"] != killed[0] and trial["track_accuracy"] is not None and trial["epochs_run"] == 400
    dead = Run(tmp_path / "exp" / "runs" / killed[0]).status()
    assert dead["state"] == "failed" and dead["exit_code"] == -signal.SIGKILL  # kept, and honest


def test_stop_ends_the_trials_in_flight_keeps_them_and_starts_no_more(gtzan, tmp_path, genre_home):
    import threading
    import time

    from genre.jobs.runs import list_runs

    stop = threading.Event()

    def stop_after_an_epoch() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not any(r.epochs() for r in list_runs(tmp_path / "exp" / "runs")):
            time.sleep(0.05)
        stop.set()

    threading.Thread(target=stop_after_an_epoch, daemon=True).start()
    spec = ExperimentSpec.build(gtzan, [parse_vary("dropout=0,0.5")], repeats=1, epochs=10000, workers=1, base=BASE)
    result = run_experiment(spec, tmp_path / "exp", stop=stop)
    first, second = result["trials"]
    assert first["track_accuracy"] is not None and 1 <= first["epochs_run"] < 10000  # stopped, kept, scored
    assert second["run_id"] is None and "stopped" in second["error"]
    assert [s["n"] for s in result["summary"]] == [1]


def test_an_experiment_launched_for_the_app_outlives_it_reports_progress_and_stops_on_request(gtzan, tmp_path,
                                                                                               genre_home):
    """The Experiments page's path: a process of its own, read back from its folder, stopped by a file."""
    import time

    from genre.jobs.experiment import launch_experiment, list_experiments

    spec = ExperimentSpec.build(gtzan, [parse_vary("dropout=0,0.5")], base=BASE, repeats=1, epochs=10000, workers=1)
    exp = launch_experiment(spec, tmp_path / "exps" / "e1")
    assert list_experiments(tmp_path / "exps") == [exp]
    deadline = time.monotonic() + 180
    while not any(r.epochs() for r in exp.runs()):
        assert time.monotonic() < deadline, (exp.path / "log.txt").read_text()[-2000:]
        time.sleep(0.1)
    assert exp.running and exp.progress() == (0, 2)
    exp.request_stop()
    while exp.result() is None:
        assert time.monotonic() < deadline, (exp.path / "log.txt").read_text()[-2000:]
        time.sleep(0.1)
    first, second = exp.result()["trials"]
    assert first["track_accuracy"] is not None and second["run_id"] is None
    deadline = time.monotonic() + 30
    while exp.running:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert exp.progress() == (1, 2)
    exp.delete()
    assert list_experiments(tmp_path / "exps") == []


# --- the Experiments page's helpers ---------------------------------------------------------------

def _record(path, **files) -> None:
    path.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (path / f"{name}.json").write_text(json.dumps(data))


def test_the_spec_names_only_the_unvaried_settings_that_differ_from_the_defaults(gtzan):
    fp = FeatureParams(sample_rate=8000, duration=4.0, n_mfcc=20, files_per_genre=3, exclude=("x",))
    mc = ModelConfig(hidden_units=(64, 32), learning_rate=1e-3)
    spec = ExperimentSpec.build(gtzan, [parse_vary("n_mfcc=13,40")], base={"features": fp, "model": mc}, epochs=7)
    assert spec.fixed() == {"sample_rate": 8000, "duration": 4.0, "hidden_units": (64, 32), "learning_rate": 1e-3}
    assert spec.varied() == ["n_mfcc"] and ExperimentSpec.build(gtzan).fixed() == {}


def test_a_spec_survives_its_file_exactly_floats_and_layers_included(gtzan, tmp_path):
    """No text in between: 6 significant digits once turned 0.1234567 into 0.123457 on its way to the runner."""
    varies = [("learning_rate", [0.1234567891234, 3e-05]), ("hidden_units", [(512, 256, 64), (7,)])]
    base = {"features": FeatureParams(**SMALL_PARAMS), "model": ModelConfig(dropout=0.333333333333),
            "train": TrainConfig(noise_snr=17.123456789, augment_copies=1)}
    spec = ExperimentSpec.build(gtzan, varies, base=base, repeats=2, split="kfold", folds=3, epochs=5,
                                backend="jax", workers=2)
    spec.write(tmp_path)
    back = ExperimentSpec.read(tmp_path)
    assert back == spec
    assert back.configs() == spec.configs() and len(back.configs()) == 2 * 2 * 2 * 3
    assert back.configs()[0][1].learning_rate == 0.1234567891234 and back.configs()[0][1].hidden_units == (512, 256, 64)


def test_a_record_written_before_the_spec_still_reads(gtzan, tmp_path):
    old = {"dataset": str(gtzan), "varies": [["dropout", [0.0, 0.5]], ["n_mfcc", [20]]], "repeats": 2,
           "split": "kfold", "folds": 3, "lists": None, "backend": "tensorflow", "created": "2026-11-01 10:00:00",
           "trials": 12, "base": {"features": FeatureParams().to_dict(), "model": ModelConfig().to_dict(),
                                  "train": {"epochs": 5}}}
    (tmp_path / "experiment.json").write_text(json.dumps(old))
    spec = ExperimentSpec.read(tmp_path)
    assert spec.train.split == "kfold" and spec.train.folds == 3 and spec.train.epochs == 5
    assert len(spec.trials()) == 12 and spec.fixed() == {"n_mfcc": 20} and spec.varied() == ["dropout"]


@pytest.mark.parametrize("changes, message", [
    ({"repeats": 0}, "repeats must be"), ({"backend": "torch"}, "backend must be"), ({"workers": 0}, "workers"),
    ({"varies": (("dropout", (2.0,)),)}, "dropout must be in"),
    ({"features": FeatureParams(duration=3.0, num_segments=3, hop_length=500, sample_rate=8000)}, "multiple of hop"),
])
def test_a_spec_that_cannot_run_is_refused_before_any_work(gtzan, changes, message):
    import dataclasses

    with pytest.raises(ParameterError, match=message):
        dataclasses.replace(ExperimentSpec.build(gtzan, base=BASE), **changes).validate()


def test_gaps_are_last_train_minus_last_validation_accuracy_averaged_per_point(tmp_path):
    from genre.jobs.experiment import Experiment, gaps, seed_spread, varied

    trials = [{"settings": {"dropout": 0.0, "n_mfcc": 13}, "run_id": "a", "track_accuracy": 0.5, "segment_accuracy": 0.4},
              {"settings": {"dropout": 0.0, "n_mfcc": 13}, "run_id": "b", "track_accuracy": 0.7, "segment_accuracy": 0.6},
              {"settings": {"dropout": 0.5, "n_mfcc": 13}, "run_id": None, "track_accuracy": None,
               "segment_accuracy": None, "error": "not run: the experiment was stopped"}]
    summary = summarize(trials[:2])
    _record(tmp_path / "e", experiment={"varies": [["dropout", [0.0, 0.5]], ["n_mfcc", [13]]]},
            summary={"trials": trials, "summary": summary})
    _record(tmp_path / "e" / "runs" / "a", result={"history": {"accuracy": [0.5, 0.9], "val_accuracy": [0.4, 0.6]}})
    _record(tmp_path / "e" / "runs" / "b", result={"history": {"accuracy": [0.8, 1.0], "val_accuracy": [0.5, float("nan")]}})
    exp = Experiment(tmp_path / "e")
    (row,) = gaps(exp)
    assert row["gap_mean"] == pytest.approx((0.3 + 0.5) / 2) and row["gap_std"] == pytest.approx(0.1414, abs=1e-4)
    assert row["track_accuracy_mean"] == summary[0]["track_accuracy_mean"]
    assert varied(exp.spec) == ["dropout"]  # n_mfcc had one value: fixed, not varied
    assert exp.state == "done"
    assert seed_spread(summary) == pytest.approx(0.1414, abs=1e-4)
    assert seed_spread([{**summary[0], "n": 1}]) is None  # one trial per point: no spread to judge by
    (tmp_path / "e" / "summary.json").unlink()
    assert exp.state == "failed" and gaps(exp) == []


def test_the_estimate_comes_from_finished_runs_of_the_same_network_on_the_same_backend_scaled_by_size(tmp_path):
    """A CNN epoch is ~10x a dense one: a CNN sweep is not estimated from dense runs, and size scales the time."""
    from genre.jobs.experiment import Work, estimate_seconds
    from genre.jobs.runs import Run

    def run(name, backend, kind, seconds, epochs, rows=100, shape=(10, 10), created=100.0, started=110.0):
        _record(tmp_path / name, run={"backend": backend, "input_shape": list(shape), "model_config": {"kind": kind}},
                status={"state": "done", "created": created, "started": started},
                result={"seconds": seconds, "metrics": {"epochs_run": epochs, "n_train_segments": rows}})
        return Run(tmp_path / name)

    runs = [run("a", "tensorflow", "dense", 10.0, 10), run("b", "tensorflow", "dense", 40.0, 10),
            run("c", "jax", "dense", 1.0, 10), run("d", "tensorflow", "dense", 30.0, 10),
            run("e", "tensorflow", "cnn", 100.0, 5, rows=50)]
    # dense on TF: median 3 s per epoch for 100 rows of 10x10 (3e-4 s per unit), start-up 10 s
    dense = Work("tensorflow", "dense", 20, 100 * 10 * 10)
    seconds, basis = estimate_seconds(runs, [dense] * 4, workers=2)
    assert seconds == pytest.approx(4 * (10 + 3 * 20) / 2) and basis == "from 3 dense runs on tensorflow"
    assert estimate_seconds(runs, [Work("tensorflow", "dense", 20, 2 * 100 * 10 * 10)], workers=1)[0] == \
        pytest.approx(10 + 6 * 20)  # twice the rows: twice the time per epoch
    cnn, _ = estimate_seconds(runs, [Work("tensorflow", "cnn", 10, 100 * 10 * 10)], workers=1)
    assert cnn == pytest.approx(10 + 40 * 10)  # 20 s per epoch for 50 rows: 40 for 100
    assert estimate_seconds(runs, [Work("jax", "lstm", 5, 1.0)], workers=1) == (
        None, "no lstm run on jax has finished in this workspace yet")


def test_an_auto_experiment_runs_each_network_on_its_faster_backend(gtzan):
    spec = ExperimentSpec.build(gtzan, [parse_vary("kind=dense,cnn")], base=BASE, repeats=1)
    assert spec.backend == "auto" and [(w.kind, w.backend) for w in spec.work(12)] == [("dense", "jax"),
                                                                                       ("cnn", "tensorflow")]
    dense, cnn = spec.work(12)
    assert dense.size == pytest.approx(12 * SMALL_PARAMS["num_segments"] * 0.7 * 13 * FeatureParams(**SMALL_PARAMS).input_shape[0])


def test_deleting_a_running_experiment_kills_its_runner_and_trials(gtzan, tmp_path, genre_home):
    import time

    from genre.jobs.experiment import launch_experiment, list_experiments
    from genre.process import ProcessId

    spec = ExperimentSpec.build(gtzan, [parse_vary("dropout=0,0.5")], base=BASE, repeats=1, epochs=10000, workers=1)
    exp = launch_experiment(spec, tmp_path / "exps" / "e2")
    deadline = time.monotonic() + 180
    while not any(r.epochs() for r in exp.runs()):
        assert time.monotonic() < deadline, (exp.path / "log.txt").read_text()[-2000:]
        time.sleep(0.1)
    started = [r for r in exp.runs() if r.raw_status().get("state") != "queued"]  # the next trial waits queued
    processes = [ProcessId.from_dict(json.loads((exp.path / "pid").read_text()))] + [
        ProcessId.from_dict(r.raw_status().get(key)) for r in started for key in ("process", "supervisor")]
    assert started and None not in processes  # the runner and each started trial's processes, by identity
    exp.delete()
    assert list_experiments(tmp_path / "exps") == [] and not exp.path.exists()
    assert not queue.entries()  # no trial left queued
    time.sleep(1.0)
    assert not any(p.alive() for p in processes)  # nothing trains on, nothing recreates the folder
    assert not exp.path.exists()


def test_the_cli_passes_left_out_folders_to_the_features(gtzan, tmp_path, genre_home, capsys):
    from genre.cli import main

    assert main(["experiment", str(gtzan), "--out", str(tmp_path / "exp"), "--exclude", "jazz", "--epochs", "1"]) == 2
    assert "no folder to exclude named jazz" in capsys.readouterr().err


@pytest.mark.parametrize("text, want", [
    ("kind=dense,cnn,lstm", ("kind", ["dense", "cnn", "lstm"])),
    ("standardize=false,true", ("standardize", [False, True])),
    ("noise_snr=none,20", ("noise_snr", [None, 20.0])),
    ("patience=none,5", ("patience", [None, 5])),
    ("l1=0,1e-4", ("l1", [0.0, 1e-4])),
    ("augment_copies=0,2", ("augment_copies", [0, 2])),
])
def test_every_remedy_is_a_setting_to_vary(text, want):
    assert parse_vary(text) == want


def test_a_bad_boolean_is_refused_before_any_work():
    with pytest.raises(ParameterError, match="standardize"):
        parse_vary("standardize=maybe")


def test_augmentation_is_made_once_before_the_trials_and_each_trial_uses_it(gtzan, tmp_path, genre_home):
    from genre.learn.config import TrainConfig

    base = {**BASE, "train": TrainConfig(time_mask=3)}
    spec = ExperimentSpec.build(gtzan, [parse_vary("augment_copies=0,1")], repeats=1, epochs=1, workers=1, base=base)
    result = run_experiment(spec, tmp_path / "exp")
    assert len(list((genre_home / "features").glob("*.aug-*.npz"))) == 1
    by_copies = {t["settings"]["augment_copies"]: t for t in result["trials"]}
    runs = {k: Run(tmp_path / "exp" / "runs" / t["run_id"]) for k, t in by_copies.items()}
    assert runs[0].result()["metrics"]["n_augmented_rows"] == 0
    assert runs[1].result()["metrics"]["n_augmented_rows"] == runs[1].result()["metrics"]["n_train_segments"]


@pytest.mark.parametrize("keep, models_left", [("best", 1), ("none", 0)])
def test_an_experiment_can_keep_only_its_best_trials_model_or_none(gtzan, tmp_path, genre_home, keep, models_left):
    spec = ExperimentSpec.build(gtzan, [parse_vary("dropout=0,0.5")], repeats=1, epochs=1, workers=2, base=BASE,
                                keep_models=keep)
    result = run_experiment(spec, tmp_path / "exp")
    models = [p for p in (tmp_path / "exp" / "models").iterdir() if not p.name.startswith(".")]
    assert len(models) == models_left
    runs = {t["run_id"]: Run(tmp_path / "exp" / "runs" / t["run_id"]) for t in result["trials"]}
    kept = [r for r in runs.values() if r.bundle_path is not None]
    assert len(kept) == models_left and all(r.brief()["metrics"]["track_accuracy"] is not None for r in runs.values())
    if keep == "best":
        best_point = result["summary"][0]["settings"]
        assert kept[0].id == next(t["run_id"] for t in result["trials"] if t["settings"] == best_point)
    assert all("not kept" in r.status()["model"] for r in runs.values() if r.bundle_path is None)
    assert ExperimentSpec.read(tmp_path / "exp").keep_models == keep


@pytest.mark.parametrize("cap, workers, launched", [(1, 1, 2), (2, 1, 1), (2, 2, 3)])
def test_an_experiment_queues_a_trial_ahead_only_when_its_trials_fill_every_slot(monkeypatch, genre_home, cap, workers,
                                                                                 launched):
    """One trial queued ahead lets a worker that ends a trial take the next at once; with a slot to spare it would
    train at once, more trials at once than the experiment's workers."""
    import threading

    from genre.jobs.experiment import runner

    monkeypatch.setenv("GENRE_MAX_RUNS", str(cap))
    started = []
    monkeypatch.setattr("genre.jobs.execution.launch", started.append)

    class Training:
        id, stop_requested = "trial", False

        def status(self):
            return {"state": "running"}

    queue, flying = list(range(5)), []
    runner._tick([(None, Training)] * 5, queue, flying, set(), workers, threading.Event(), lambda i, run: None)
    assert len(started) == len(flying) == launched


def test_a_local_experiment_has_its_warm_workers_import_keras_while_it_prepares_the_trials(gtzan, tmp_path,
                                                                                         monkeypatch):
    events = []
    monkeypatch.setattr("genre.jobs.execution.ensure_spare", lambda backend: events.append(("worker", backend)))

    def extract(*args, **kwargs):
        events.append(("extract", None))
        raise KeyboardInterrupt  # enough: what came before is what is tested

    monkeypatch.setattr("genre.data.extract.extract_to_store", extract)
    spec = ExperimentSpec.build(gtzan, [parse_vary("kind=dense,cnn")], repeats=1, epochs=1, base=BASE)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(spec, tmp_path / "exp")
    assert events == [("worker", "jax"), ("worker", "tensorflow"), ("extract", None)]  # auto: each kind's faster


def test_a_trial_is_run_again_only_when_its_process_died_before_it_ended():
    from genre.jobs.experiment.runner import _died

    assert _died({"state": "failed", "exit_code": -9}) and _died({"state": "failed", "orphaned": True})
    assert not _died({"state": "failed", "exit_code": 1, "message": "a reason"})
    assert not _died({"state": "done", "exit_code": -9})  # done and kept; its worker died afterwards
