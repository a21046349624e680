"""A training run's report: one self-contained HTML file to keep, mail or open offline.

Everything is inside the file: the CSS inline, the figures as inline SVG (matplotlib, text kept
as text), no script, no link to anything. Every string that came from a user or a file (run
name, dataset path, genre names, the model summary) is HTML-escaped.
"""

from __future__ import annotations

import html
import io
import math
import re
import time

from genre.errors import GenreError
from genre.learn.splits import split_name

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 60rem;
       padding: 0 1rem; color: #1f2933; line-height: 1.45; }
h1 { margin-bottom: .2rem; } h2 { margin-top: 2rem; border-bottom: 1px solid #d9e2ec; padding-bottom: .2rem; }
.sub { color: #52606d; margin-top: 0; }
.metrics { display: flex; flex-wrap: wrap; gap: 1rem; margin: 1rem 0; }
.metric { border: 1px solid #d9e2ec; border-radius: .5rem; padding: .6rem 1rem; min-width: 11rem; }
.metric .label { color: #52606d; font-size: .85rem; } .metric .value { font-size: 1.6rem; font-weight: 600; }
.metric .note { color: #7b8794; font-size: .8rem; }
table { border-collapse: collapse; margin: .5rem 0; } th, td { padding: .25rem .8rem; text-align: left; }
th { background: #f0f4f8; } tr + tr td { border-top: 1px solid #e4e7eb; } td.num { text-align: right; }
.settings { display: flex; flex-wrap: wrap; gap: 2rem; align-items: flex-start; }
figure { margin: 1rem 0; } figure svg { max-width: 100%; height: auto; }
pre { background: #f5f7fa; padding: .8rem; overflow-x: auto; font-size: .8rem; line-height: 1.2; }
.warn { background: #fffbea; border-left: 4px solid #f0b429; padding: .5rem .8rem; }
"""


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def _fmt(value) -> str:
    """A setting's value as text: lists joined, None as "–", floats short."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, (list, tuple)):
        return ", ".join(_fmt(v) for v in value) or "–"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _pct(value) -> str:
    return "–" if value is None else f"{float(value):.1%}"


def _svg(fig) -> str:
    """``fig`` as an inline ``<svg>`` element (no XML prolog, no DOCTYPE, text as text)."""
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    return re.sub(r"<metadata>.*?</metadata>", "", text[text.index("<svg"):], flags=re.S)


def _table(rows: list[list[str]], header: list[str] | None = None, *, numeric: tuple[int, ...] = ()) -> str:
    """A table of already-escaped cells."""
    head = "<tr>" + "".join(f"<th>{h}</th>" for h in header) + "</tr>" if header else ""
    body = "".join("<tr>" + "".join(f'<td{" class=num" if i in numeric else ""}>{c}</td>'
                                    for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table>{head}{body}</table>"


def _settings(title: str, values: dict) -> str:
    rows = [[_e(k), _e(_fmt(v))] for k, v in (values or {}).items()]
    return f"<div><h3>{_e(title)}</h3>{_table(rows) if rows else '<p>–</p>'}</div>"


def _model_knobs(config: dict | None) -> dict | None:
    """The network's own knobs and the shared ones (a CNN's report does not list the dense layers)."""
    from genre.learn.config import ModelConfig

    try:
        return ModelConfig.from_dict(config).knobs() if config else config
    except GenreError:
        return config


def _train_settings(config: dict | None) -> dict | None:
    """The training settings, the augmentation's only when it is on."""
    from genre.learn.config import AUGMENT_FIELDS, TrainConfig

    try:
        tc = TrainConfig.from_dict(config) if config else None
    except GenreError:
        return config
    if tc is None or tc.augmentation() is not None:
        return config
    return {k: v for k, v in config.items() if k not in AUGMENT_FIELDS}


def _metric(label: str, value: str, note: str = "") -> str:
    return (f'<div class="metric"><div class="label">{_e(label)}</div><div class="value">{_e(value)}</div>'
            f'<div class="note">{_e(note)}</div></div>')


def _per_genre(per_genre: dict) -> str:
    def num(v) -> str:
        return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{float(v):.3f}"

    rows = [[_e(g), num(r.get("precision")), num(r.get("recall")), num(r.get("f1")), _e(r.get("support", "–"))]
            for g, r in (per_genre or {}).items()]
    return _table(rows, ["genre", "precision", "recall", "f1", "support (tracks)"], numeric=(1, 2, 3, 4))


def _figures(spec: dict, metrics: dict, history: dict) -> tuple[str, str]:
    from genre import plots

    curves = f"<figure>{_svg(plots.history_figure(history or {}))}</figure>"
    genres = spec.get("genres") or list((metrics.get("per_genre") or {}).keys())
    confusion = metrics.get("confusion")
    if confusion and len(confusion) == len(genres):
        fig = plots.confusion_figure(confusion, genres=genres, title="Rows: true genre · columns: predicted")
        matrix = f"<figure>{_svg(fig)}</figure>"
    else:
        matrix = "<p>No confusion matrix was recorded.</p>"
    return curves, matrix


def run_report_html(spec: dict, result: dict) -> str:
    """One self-contained HTML page about a finished run.

    Parameters
    ----------
    spec : dict
        The run's ``run.json`` (name, created, dataset, genres, feature_params, model_config,
        train_config, backend...). Any key may be missing; every one present is shown.
    result : dict
        Its ``result.json``: ``metrics`` (accuracies, split, validation, confusion, per_genre),
        ``history``, ``seconds``, ``stopped``, ``summary``.

    Returns
    -------
    str
        The HTML document: inline CSS and SVG figures, no script and no external resource.
    """
    if not result:
        raise GenreError(f"the run {spec.get('name') or spec.get('id') or ''!s} has no result yet: "
                         "a report needs a run that ended with a model")
    m = result.get("metrics") or {}
    name = spec.get("name") or spec.get("id") or "run"
    created = spec.get("created")
    date = time.strftime("%Y-%m-%d %H:%M", time.localtime(float(created))) if created else "–"
    curves, matrix = _figures(spec, m, result.get("history") or {})
    genres = spec.get("genres") or list((m.get("per_genre") or {}).keys())
    facts = [["Dataset", _e(spec.get("dataset") or "–") + (" (synthetic demo data)" if spec.get("synthetic") else "")],
             ["Genres", _e(", ".join(map(str, genres)) or "–")],
             ["Rows · tracks", _e(f"{_fmt(spec.get('rows'))} segments of {_fmt(spec.get('tracks'))} tracks, input "
                                  f"{' × '.join(map(str, spec.get('input_shape') or [])) or '–'}")],
             ["Test split", _e(split_name(m))], ["Validation curve", _e(m.get("validation") or "–")],
             ["Backend", _e(spec.get("backend") or "tensorflow")],
             ["Trained on", _e(f"{_fmt(m.get('n_train_segments'))} rows"
                               + (f" + {_fmt(m['n_augmented_rows'])} augmented copies" if m.get("n_augmented_rows")
                                  else ""))],
             ["Epochs · time", _e(f"{_fmt(m.get('epochs_run'))} epochs in {float(result.get('seconds') or 0):.1f} s")],
             ["Run id", _e(spec.get("id") or "–")]]
    notes = []
    if result.get("stopped"):
        notes.append("Stopped on request before the last epoch; the model learned so far was kept.")
    if m.get("split") == "segment":
        notes.append("Split by random segments: segments of one song are on both sides, so these accuracies "
                     "overstate accuracy on unseen songs.")
    if m.get("untested_genres"):
        notes.append("Not tested (too few tracks): " + ", ".join(map(str, m["untested_genres"])) + ".")
    summary = result.get("summary") or ""
    body = [
        f"<h1>{_e(name)}</h1>",
        f'<p class="sub">Training run report · {_e(date)} · genre workbench</p>',
        '<div class="metrics">',
        _metric("Segment accuracy (test)", _pct(m.get("segment_accuracy")), f"{_fmt(m.get('n_segments'))} test segments"),
        _metric("Track accuracy (test, vote)", _pct(m.get("track_accuracy")),
                f"{_fmt(m.get('n_tracks'))} test tracks, mean-probability vote"),
        "</div>",
        *(f'<p class="warn">{_e(n)}</p>' for n in notes),
        _table(facts),
        "<h2>Settings</h2>",
        '<div class="settings">', _settings("Features", spec.get("feature_params")),
        _settings("Model", _model_knobs(spec.get("model_config"))),
        _settings("Training", _train_settings(spec.get("train_config"))), "</div>",
        "<h2>Learning curves</h2>", curves,
        "<h2>Confusion matrix (test tracks)</h2>", matrix,
        "<h2>Per genre (test tracks)</h2>", _per_genre(m.get("per_genre")),
        "<h2>Model</h2>", f"<pre>{_e(_plain(summary)) or '–'}</pre>",
    ]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_e(name)} · genre run report</title><style>{CSS}</style></head>\n<body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def _plain(text: str) -> str:
    """The summary without terminal colour codes (Keras' rich output may carry them)."""
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def report_for_run(run) -> str:
    """:func:`run_report_html` of a :class:`genre.jobs.runs.Run` (a :class:`GenreError` when it has no result)."""
    return run_report_html({"id": run.id, **run.spec}, run.result())


__all__ = ["run_report_html", "report_for_run"]
