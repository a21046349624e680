"""Tests for ``python -m genre``: the end-to-end flow, the JSON contracts, and bad input as one line + exit 2."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import make_wav

GENRES = ["ambient", "chiptune", "rock"]  # the first three demo genres
EXTRACT_ARGS = ["--sample-rate", "8000", "--duration", "3", "--segments", "3", "--n-fft", "512",
                "--hop-length", "256"]


def run_cli(*args, home: Path, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "GENRE_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "genre", *map(str, args)], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def _ok(proc: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return proc


@pytest.fixture(scope="module")
def flow(tmp_path_factory):
    """demo-data -> extract (twice) -> train, run once for this module's tests."""
    work = tmp_path_factory.mktemp("cli")
    home = work / "home"
    run = lambda *a: _ok(run_cli(*a, home=home, cwd=work))  # noqa: E731
    steps = {
        "demo": run("demo-data", "data", "--genres", 3, "--clips-per-genre", 4, "--duration", 3),
        "extract": run("extract", "data", "--out", "features.npz", *EXTRACT_ARGS, "--jobs", 2, "--json", "out.json"),
        "extract_again": run("extract", "data", "--out", "features.npz", *EXTRACT_ARGS, "--jobs", 2),
        "train": run("train", "features.npz", "--out", "model", "--epochs", 2, "--batch-size", 8),
    }
    return work, home, steps


def test_demo_data_writes_a_gtzan_shaped_folder(flow):
    work, _, steps = flow
    assert sorted(p.name for p in (work / "data").iterdir() if p.is_dir()) == GENRES
    assert all(len(list((work / "data" / g).glob("*.wav"))) == 4 for g in GENRES)
    assert steps["demo"].stdout == ""


def test_extract_writes_the_store_and_the_notebooks_json(flow):
    from genre.data.store import load_features

    work, _, steps = flow
    fs = load_features(work / "features.npz")
    assert fs.genres == tuple(GENRES) and fs.X.shape == (36, 32, 13)
    data = json.loads((work / "out.json").read_text())
    assert data["mapping"] == GENRES and len(data["mfcc"]) == 36 and len(data["labels"]) == 36
    assert "36 rows of (32, 13) from 12 files (0 skipped)" in steps["extract"].stderr
    assert "cache hit" not in steps["extract"].stderr
    assert steps["extract"].stdout == ""


def test_the_second_extract_with_the_same_arguments_is_a_cache_hit(flow):
    assert "cache hit" in flow[2]["extract_again"].stderr


def test_train_writes_a_bundle_and_reports_the_split(flow):
    from genre.learn.bundle import load_bundle

    work, _, steps = flow
    b = load_bundle(work / "model", load_model=False)
    assert b.genres == tuple(GENRES) and b.train_config.epochs == 2
    assert len(b.history["loss"]) == 2
    assert "split by track" in steps["train"].stderr and "track accuracy" in steps["train"].stderr


def test_train_by_default_runs_each_network_on_its_faster_backend(flow):
    """No --backend (and no $GENRE_BACKEND): auto, JAX for the dense network; the run says what was chosen."""
    from genre.jobs.runs import list_runs

    work, home, _ = flow
    env = {k: v for k, v in os.environ.items() if k != "GENRE_BACKEND"} | {"GENRE_HOME": str(home)}
    proc = subprocess.run([sys.executable, "-m", "genre", "train", "features.npz", "--out", "auto-model", "--epochs",
                           "1", "--batch-size", "8", "--name", "auto"], cwd=work, env=env, capture_output=True,
                          text=True, timeout=300)
    _ok(proc)
    assert "on jax" in proc.stderr
    (run,) = [r for r in list_runs(home / "runs") if r.name == "auto"]
    assert (run.spec["backend"], run.spec["backend_chosen"]) == ("jax", "auto")
    assert any((home / "cache" / "jax").iterdir())  # compiled once, kept for the next run


def _clips(work: Path) -> list[str]:
    return [f"data/{g}/{g}.00000.wav" for g in GENRES]


def _check_prediction(result: dict, clip: str) -> None:
    assert set(result) == {"path", "genre", "probabilities", "segments"}
    assert result["path"] == clip
    assert result["genre"] in GENRES
    assert list(result["probabilities"]) == GENRES
    assert sum(result["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
    assert result["genre"] == max(result["probabilities"], key=result["probabilities"].get)
    assert result["segments"] == 3  # 3 s demo clips, 1 s segments


def test_predict_json_prints_exactly_one_object_in_the_contract(flow, capsys, monkeypatch):
    # In-process (TensorFlow is loaded once per session); the subprocess run below checks stdout stays clean.
    from genre.cli import main

    work, _, _ = flow
    monkeypatch.chdir(work)
    assert main(["predict", "model", *_clips(work), "--json"]) == 0
    stdout = capsys.readouterr().out
    assert stdout.count("\n") == 1  # one line
    out = json.loads(stdout)  # fails on anything besides one JSON document
    assert list(out) == ["results"] and len(out["results"]) == 3
    for clip, result in zip(_clips(work), out["results"]):
        _check_prediction(result, clip)


def test_predict_with_a_corrupt_clip_reports_it_and_exits_non_zero(flow):
    work, home, _ = flow
    (work / "corrupt.wav").write_bytes(b"RIFF....WAVE broken")
    clips = [_clips(work)[0], "corrupt.wav", "missing.wav", _clips(work)[1]]
    proc = run_cli("predict", "model", *clips, "--json", home=home, cwd=work)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert proc.stdout.count("\n") == 1
    results = json.loads(proc.stdout)["results"]
    assert [r["path"] for r in results] == clips
    _check_prediction(results[0], clips[0])
    _check_prediction(results[3], clips[3])
    assert set(results[1]) == {"path", "error"} and "corrupt.wav" in results[1]["error"]
    assert set(results[2]) == {"path", "error"} and "not found" in results[2]["error"]


def test_evaluate_json_has_the_contracts_keys(flow):
    work, home, _ = flow
    proc = _ok(run_cli("evaluate", "model", "data", "--json", home=home, cwd=work))
    out = json.loads(proc.stdout)
    assert {"genres", "n_tracks", "skipped", "track_accuracy", "segment_accuracy", "confusion"} <= set(out)
    assert out["genres"] == GENRES and out["n_tracks"] == 12 and out["skipped"] == []
    assert len(out["confusion"]) == 3 and sum(map(sum, out["confusion"])) == 12
    assert 0 <= out["track_accuracy"] <= 1 and 0 <= out["segment_accuracy"] <= 1


# --- bad input: one line on stderr, exit code 2, no traceback -------------------------------------

def _prepare(work: Path, name: str) -> None:
    if name == "a-file.wav":
        (work / name).write_bytes(b"x")
    elif name == "garbage.npz":
        (work / name).write_bytes(b"not a feature store")
    elif name == "empty-model":
        (work / name).mkdir(exist_ok=True)
    elif name == "clip.wav":
        make_wav(work / name, 2.0, 8000)
    elif name == "few.npz":  # 4 tracks: a test split of 2 leaves 2, and early stopping takes 1 of those
        from dataclasses import replace

        import numpy as np

        from genre.data.store import load_features, save_features

        fs = load_features(work / "features.npz")
        keep = np.isin(fs.track, [0, 1, 4, 8])
        save_features(replace(fs, X=fs.X[keep], y=fs.y[keep], track=fs.track[keep], segment=fs.segment[keep]),
                      work / name)


BAD_INPUTS = {
    "missing-dataset": (["extract", "no-such-dir", "--out", "f.npz", *EXTRACT_ARGS], "dataset folder not found"),
    "dataset-is-a-file": (["extract", "a-file.wav", "--out", "f.npz", *EXTRACT_ARGS], "is a file"),
    "hop-longer-than-fft": (["extract", "data", "--out", "f.npz", "--n-fft", "256", "--hop-length", "512"],
                            "hop_length"),
    "n-mfcc-0": (["extract", "data", "--out", "f.npz", "--n-mfcc", "0"], "n_mfcc"),
    "segments-0": (["extract", "data", "--out", "f.npz", "--segments", "0"], "num_segments"),
    "files-per-genre-0": (["extract", "data", "--out", "f.npz", "--files-per-genre", "0"], "files_per_genre"),
    "hop-multiple-of-segment": (["extract", "data", "--out", "f2.npz", *EXTRACT_ARGS[:-2], "--hop-length", "250",
                                 "--jobs", "1"], "multiple of hop_length"),
    "missing-features": (["train", "no-such.npz", "--out", "m"], "feature store not found"),
    "garbage-features": (["train", "garbage.npz", "--out", "m"], "not a readable feature store"),
    "bad-epochs": (["train", "features.npz", "--out", "m", "--epochs", "0"], "epochs"),
    "missing-model": (["predict", "no-such-model", "clip.wav"], "model bundle not found"),
    "model-without-bundle-json": (["predict", "empty-model", "clip.wav"], "bundle.json is missing"),
    "evaluate-missing-model": (["evaluate", "no-such-model", "data"], "model bundle not found"),
    "jobs-0": (["extract", "data", "--out", "f.npz", *EXTRACT_ARGS, "--jobs", "0"], "jobs must be"),
    "evaluate-jobs-0": (["evaluate", "model", "data", "--jobs", "0"], "jobs must be"),
    "malformed-dask-scheduler": (["extract", "data", "--out", "f.npz", *EXTRACT_ARGS, "--dask-scheduler",
                                  "not-an-address"], "cannot use the Dask scheduler 'not-an-address'"),
    # (--test-size 0.9 on 12 tracks is no longer an error: the split keeps a training track per genre)
    "test-size-leaves-no-track": (["train", "features.npz", "--out", "m", "--test-size", "0.95"],
                                  "holds out all 12 tracks"),
    "patience-with-few-tracks": (["train", "few.npz", "--out", "m", "--patience", "3"], "no patience"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_one_error_line_and_exit_code_2(flow, case):
    work, home, _ = flow
    args, message = BAD_INPUTS[case]
    for name in ("a-file.wav", "garbage.npz", "empty-model", "clip.wav", "few.npz"):
        _prepare(work, name)
    proc = run_cli(*args, home=home, cwd=work)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), proc.stderr
    assert message in lines[0]
    assert proc.stdout == ""
    assert not (work / "m").exists()


def test_evaluate_with_an_unknown_genre_folder_is_one_error_line(flow, tmp_path):
    import shutil

    work, home, _ = flow
    data = Path(shutil.copytree(work / "data", tmp_path / "data"))
    make_wav(data / "polka" / "p.wav", 3.0, 8000)
    proc = run_cli("evaluate", work / "model", data, "--json", home=home, cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "polka" in lines[0], proc.stderr
    assert proc.stdout == ""


def test_text_output_of_predict_and_evaluate(bundle_dir, gtzan, capsys):
    from genre.cli import main

    clip = gtzan / "blues" / "blues.00000.wav"
    assert main(["predict", str(bundle_dir), str(clip)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{clip}: ") and "3 segments" in out and "%" in out
    assert main(["evaluate", str(bundle_dir), str(gtzan)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("12 tracks (0 skipped): track accuracy")
    assert [line.split(":")[0].strip() for line in out[1:]] == ["blues", "metal", "rock"]


def test_the_cli_turns_genre_errors_into_exit_code_2_in_process(tmp_path, capsys):
    from genre.cli import main

    assert main(["extract", str(tmp_path / "nope"), "--out", str(tmp_path / "f.npz")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: dataset folder not found") and err.count("\n") == 1


def test_an_unknown_command_is_an_argparse_error(tmp_path):
    proc = run_cli("fly", home=tmp_path, cwd=tmp_path, timeout=60)
    assert proc.returncode == 2 and "invalid choice" in proc.stderr


def test_extract_with_excerpt_exclude_and_short_files_in_process(gtzan_copy, tmp_path, capsys):
    """--excerpt whole --max-segments N --exclude FOLDER; files that gave fewer segments are noted."""
    from genre.cli import main
    from genre.data.store import load_features

    (gtzan_copy / "unlabelled").mkdir()
    (gtzan_copy / "unlabelled" / "x.wav").write_bytes((gtzan_copy / "rock" / "rock.00000.wav").read_bytes())
    out = tmp_path / "f.npz"
    code = main(["extract", str(gtzan_copy), "--out", str(out), "--sample-rate", "8000", "--duration", "4",
                 "--segments", "4", "--n-fft", "512", "--hop-length", "256", "--excerpt", "whole",
                 "--max-segments", "5", "--exclude", "unlabelled", "--jobs", "1"])
    err = capsys.readouterr().err
    assert code == 0, err
    fs = load_features(out)
    assert fs.genres == ("blues", "metal", "rock") and fs.params.excerpt == "whole" and fs.params.max_segments == 5
    assert fs.segments_per_file().tolist() == [3] * len(fs.files)  # 3 s clips: 3 whole 1 s segments each
    # shorter than the duration (3 s of 4): short; fewer than --max-segments alone would not be
    assert f"note: {len(fs.files)} file(s) shorter than 4 s gave fewer than 4 segments" in err
    assert main(["extract", str(gtzan_copy), "--out", str(out), "--exclude", "jazz"]) == 2
    assert "no folder to exclude named jazz" in capsys.readouterr().err


def test_train_on_gtzan_features_defaults_to_its_fault_filtered_split_and_names_missing_files(genre_home, tmp_path,
                                                                                               capsys):
    from genre.cli import main
    from genre.data.store import save_features
    from genre.jobs.runs import list_runs
    from genre.learn.splits import GTZAN_GENRES, GTZAN_LISTS, read_lists
    from tests.test_splits import fake_features

    lists = read_lists(GTZAN_LISTS)
    chosen = [next(e for e in lists[side] if e.startswith(g + "/")) for side in ("train", "valid", "test")
              for g in GTZAN_GENRES]
    store = save_features(fake_features(chosen, GTZAN_GENRES), tmp_path / "gtzan.npz")
    assert main(["train", str(store), "--out", str(tmp_path / "m"), "--split", "lists", "--epochs", "1"]) == 0
    err = capsys.readouterr().err
    assert "GTZAN's artist- and fault-filtered split" in err and "900 listed file(s) are not in these features" in err
    run = list_runs(genre_home / "runs")[0]
    assert run.spec["train_config"]["lists"] == str(GTZAN_LISTS) and run.result()["metrics"]["n_tracks"] == 10
    assert len(run.result()["metrics"]["missing"]) == 900


def test_train_kfold_and_lists_errors_are_one_line(genre_home, tmp_path, capsys):
    from genre.cli import main
    from genre.data.store import save_features
    from tests.test_splits import fake_features

    store = save_features(fake_features([f"{g}/{g}.{k:05d}.wav" for g in "abc" for k in range(6)], ("a", "b", "c")),
                          tmp_path / "f.npz")
    assert main(["train", str(store), "--out", str(tmp_path / "m"), "--split", "lists"]) == 2
    assert "--split lists needs --lists DIR" in capsys.readouterr().err
    assert main(["train", str(store), "--out", str(tmp_path / "m"), "--split", "kfold", "--folds", "3",
                 "--fold", "3"]) == 2
    assert "fold must be an integer from 0 to folds-1 (2)" in capsys.readouterr().err
    assert main(["train", str(store), "--out", str(tmp_path / "m"), "--split", "kfold", "--folds", "3", "--fold", "2",
                 "--epochs", "1"]) == 0


def test_train_with_a_cnn_l1_standardised_and_augmented(genre_home, gtzan, features, tmp_path, capsys):
    """--model, --l1/--l2, --standardize and --augment-* reach the bundle; augmentation reports its rows."""
    from genre.cli import main
    from genre.data.store import save_features
    from genre.learn.bundle import load_bundle

    store = save_features(features, tmp_path / "f.npz")
    out = tmp_path / "cnn"
    assert main(["train", str(store), "--out", str(out), "--model", "cnn", "--filters", "8", "--dense-units", "8",
                 "--l1", "1e-5", "--l2", "0", "--standardize", "--augment-copies", "1", "--time-mask", "3",
                 "--epochs", "1"]) == 0
    err = capsys.readouterr().err
    assert "augmented copies of each training track" in err and "+ " in err and "augmented copies" in err
    b = load_bundle(out)
    assert (b.model_config.kind, b.model_config.l1, b.model_config.l2, b.model_config.standardize) == \
        ("cnn", 1e-5, 0.0, True)
    assert b.train_config.augment_copies == 1 and b.metrics["n_augmented_rows"] > 0
    assert len(b.info["standardization"]["mean"]) == features.X.shape[2]


@pytest.mark.parametrize("args, message", [
    (["--model", "transformer"], "invalid choice"),
    (["--augment-copies", "2"], "needs at least one transform"),
    (["--units", "a,b"], "layer sizes"),
])
def test_bad_model_and_augmentation_flags_are_one_line_errors(genre_home, features, tmp_path, capsys, args, message):
    from genre.cli import main
    from genre.data.store import save_features

    store = save_features(features, tmp_path / "f.npz")
    import contextlib

    with pytest.raises(SystemExit) if args[0] in ("--model", "--units") else contextlib.nullcontext():
        code = main(["train", str(store), "--out", str(tmp_path / "m"), *args])
        assert code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_ctrl_c_in_train_stops_after_the_batch_and_keeps_what_was_learned(flow):
    """The first Ctrl-C is the app's Stop: the run ends as stopped, its model saved, exit code 0."""
    import signal
    import time

    from genre.jobs.runs import list_runs
    from genre.learn.bundle import load_bundle

    work, home, _ = flow
    env = {**os.environ, "GENRE_HOME": str(home), "TF_CPP_MIN_LOG_LEVEL": "2"}
    before = {r.id for r in list_runs(home / "runs")}
    proc = subprocess.Popen([sys.executable, "-m", "genre", "train", "features.npz", "--out", "interrupted",
                             "--epochs", "10000", "--batch-size", "8"], cwd=work, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not [r for r in list_runs(home / "runs") if r.id not in before and r.epochs()]:
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.poll() else "slow"
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "stopping after this batch" in err and "Traceback" not in err
    run = next(r for r in list_runs(home / "runs") if r.id not in before)
    assert run.state == "stopped" and run.result()["stopped"]
    assert load_bundle(work / "interrupted", load_model=False).metrics["epochs_run"] >= 1


def test_predict_hear_adds_what_musicnn_hears_to_the_output_and_the_csv(bundle_dir, gtzan, capsys, tmp_path):
    import csv

    from genre.cli import main
    from genre.data import musicnn

    clip = gtzan / "metal" / "metal.00000.wav"  # 3 s: one patch
    assert main(["predict", str(bundle_dir), str(clip), "--hear", "--csv", str(tmp_path / "p.csv")]) == 0
    out = capsys.readouterr().out
    assert "; musicnn hears " in out
    row = next(csv.DictReader(open(tmp_path / "p.csv", encoding="utf-8")))
    tags = row["musicnn hears"].split(", ")
    assert len(tags) == 5 and all(t.rsplit(" ", 1)[0] in musicnn.TAGS for t in tags)
