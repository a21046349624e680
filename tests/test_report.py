"""Tests for genre.report: a run's self-contained HTML report."""

import json
import re
import time
from html.parser import HTMLParser

import pytest

from genre.errors import GenreError
from genre.report import report_for_run, run_report_html

GENRES = ["blues", "metal", "rock"]


def finished_spec(**changes) -> dict:
    """A ``run.json`` as genre.jobs.runs writes it (with fields a later model config may add)."""
    spec = {"id": "20250102-030405-abcdef", "name": "tiny", "created": time.time(), "source": "app",
            "backend": "tensorflow", "dataset": "/data/gtzan-ish", "synthetic": False, "genres": GENRES,
            "input_shape": [32, 13], "rows": 36, "tracks": 12,
            "feature_params": {"sample_rate": 8000, "n_mfcc": 13, "exclude": []},
            "model_config": {"kind": "dense", "hidden_units": [32, 16], "dropout": 0.3, "l1": 0.0, "l2": 0.001,
                             "standardize": True, "learning_rate": 0.01},
            "train_config": {"epochs": 3, "batch_size": 8, "split": "track", "test_size": 0.25, "patience": None}}
    return {**spec, **changes}


def finished_result(**metrics) -> dict:
    m = {"segment_accuracy": 0.8125, "track_accuracy": 0.6667, "n_segments": 16, "n_tracks": 6,
         "confusion": [[2, 0, 0], [1, 1, 0], [0, 1, 1]], "split": "track", "validation": "the test split",
         "stratified": True, "untested_genres": [], "epochs_run": 3,
         "per_genre": {"blues": {"precision": 0.667, "recall": 1.0, "f1": 0.8, "support": 2},
                       "metal": {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2},
                       "rock": {"precision": None, "recall": 0.5, "f1": None, "support": 2}}}
    return {"metrics": {**m, **metrics}, "seconds": 2.5, "stopped": False, "bundle": "/models/tiny",
            "history": {"accuracy": [0.4, 0.6, 0.7], "val_accuracy": [0.3, 0.5, 0.6],
                        "loss": [1.2, 0.9, 0.7], "val_loss": [1.3, 1.0, 0.9]},
            "summary": 'Model: "genre_dense"\n┏━━━━━━━━━┓\n┃ Layer   ┃\n┡━━━━━━━━━┩\nTotal params: 1,234'}


def text_of(html: str) -> str:
    """The document's visible text (outside <style>, <svg> and the <title>)."""

    class Text(HTMLParser):
        def __init__(self):
            super().__init__()
            self.parts, self.skip = [], 0

        def handle_starttag(self, tag, attrs):
            self.skip += tag in ("style", "svg", "title")

        def handle_endtag(self, tag):
            self.skip -= tag in ("style", "svg", "title")

        def handle_data(self, data):
            if not self.skip:
                self.parts.append(data)

    parser = Text()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def test_the_report_has_the_accuracies_split_genres_settings_and_figures():
    html = run_report_html(finished_spec(), finished_result())
    text = text_of(html)
    assert html.startswith("<!DOCTYPE html>") and "<title>tiny · genre run report</title>" in html
    assert "Segment accuracy (test) 81.2% 16 test segments" in text
    assert "Track accuracy (test, vote) 66.7% 6 test tracks" in text
    assert "Test split By track (honest, default) Validation" in text
    assert "Validation curve the test split" in text
    assert "blues, metal, rock" in text and "/data/gtzan-ish" in text
    for setting in ("n_mfcc 13", "hidden_units 32, 16", "kind dense", "l1 0", "standardize True", "patience –",
                    "batch_size 8"):
        assert setting in text, setting
    assert html.count("<svg") == 2  # the learning curves and the confusion matrix, inline
    assert "Confusion matrix (test tracks)" in html
    assert "rock – 0.500 – 2" in text  # undefined precision/F1 as "–"
    assert "augment_copies" not in text  # off: not listed


def test_a_cnns_report_lists_its_own_knobs_and_the_augmented_rows():
    spec = finished_spec(model_config={"kind": "cnn", "filters": 16, "dense_units": 32, "hidden_units": [512, 256]},
                         train_config={"epochs": 3, "augment_copies": 2, "pitch_shift": 2.0})
    text = text_of(run_report_html(spec, finished_result(n_train_segments=24, n_augmented_rows=48)))
    assert "kind cnn" in text and "filters 16" in text and "dense_units 32" in text
    assert "hidden_units" not in text and "lstm_units" not in text
    assert "augment_copies 2" in text and "pitch_shift 2" in text
    assert "Trained on 24 rows + 48 augmented copies" in text
    assert "Total params: 1,234" in text and "┏━━━━━━━━━┓" in text


def test_the_report_is_self_contained():
    html = run_report_html(finished_spec(), finished_result())
    assert "<script" not in html and "<link" not in html and "@import" not in html
    assert not re.search(r"""(?:src|href)\s*=\s*["'](?!#|data:)""", html)  # only in-page and data: references
    assert "url(http" not in html


def test_every_user_string_is_escaped():
    evil = "<script>alert('x')</script>"
    spec = finished_spec(name=evil, dataset=f"/data/{evil}", genres=["a&b", "<i>", "rock"],
                         model_config={"kind": evil})
    result = finished_result(per_genre={"a&b": {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1},
                                        "<i>": {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1},
                                        "rock": {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1}})
    result["summary"] = f"Model: {evil}"
    html = run_report_html(spec, result)
    assert "<script" not in html and "<i>" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "a&amp;b" in html
    assert f"<h1>{evil}</h1>" not in html and evil in text_of(html)  # shown as text


@pytest.mark.parametrize("result", [None, {}])
def test_a_run_without_a_result_has_no_report(result):
    with pytest.raises(GenreError, match="has no result yet"):
        run_report_html(finished_spec(), result)


def test_a_stopped_segment_split_run_says_so_and_old_results_still_render():
    result = finished_result(split="segment")
    result["stopped"] = True
    text = text_of(run_report_html(finished_spec(), result))
    assert "Stopped on request" in text and "overstate accuracy on unseen songs" in text
    sparse = run_report_html({"name": "old"}, {"metrics": {"track_accuracy": 0.5}, "history": {}})
    assert "50.0%" in text_of(sparse) and "No confusion matrix was recorded" in sparse


def test_report_for_run_reads_the_runs_record(tmp_path):
    from genre.jobs.runs import RESULT_FILE, RUN_FILE, Run

    run = Run(tmp_path / "20250102-030405-abcdef")
    run.path.mkdir()
    spec = finished_spec()
    del spec["id"]
    (run.path / RUN_FILE).write_text(json.dumps(spec))
    with pytest.raises(GenreError, match="has no result yet"):
        report_for_run(run)
    (run.path / RESULT_FILE).write_text(json.dumps(finished_result()))
    html = report_for_run(run)
    assert "Run id 20250102-030405-abcdef" in text_of(html)


def test_a_real_runs_report(trained, features):
    from genre.learn.model import model_summary

    result, _ = trained
    spec = finished_spec(genres=list(features.genres), model_config={"hidden_units": [32, 16]})
    html = run_report_html(spec, {"metrics": result.metrics, "history": result.history, "seconds": result.seconds,
                                  "stopped": False, "summary": model_summary(result.model)})
    text = text_of(html)
    assert f"{result.metrics['track_accuracy']:.1%}" in text
    assert "genre_dense" in text and "\x1b[" not in html
    assert html.count("<svg") == 2
