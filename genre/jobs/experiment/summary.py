"""What an experiment found: mean ± std per grid point, the train-validation gap, the noise, the tables.

Also what the Experiments page shows of an experiment before it opens it (:func:`overview`) and how long a
new one would take (:func:`estimate_seconds`).
"""

from __future__ import annotations

import csv
import json
import math
import statistics
from io import StringIO
from pathlib import Path

from genre.atomic import write_text
from genre.jobs.experiment.spec import Work, cell


def _key(settings: dict) -> str:
    return json.dumps(settings, sort_keys=True, default=list)


def summarize(trials: list[dict]) -> list[dict]:
    """One row per grid point: n and mean ± std of track and segment accuracy, best mean first."""
    groups: dict[str, list[dict]] = {}
    for t in trials:
        groups.setdefault(_key(t["settings"]), []).append(t)
    rows = []
    for members in groups.values():
        row = {"settings": members[0]["settings"], "n": len(members)}
        for metric in ("track_accuracy", "segment_accuracy"):
            values = [m[metric] for m in members]
            row[f"{metric}_mean"] = statistics.fmean(values)
            row[f"{metric}_std"] = statistics.stdev(values) if len(values) > 1 else 0.0
        rows.append(row)
    return sorted(rows, key=lambda r: -r["track_accuracy_mean"])


def write_tables(folder: Path, trials: list[dict], summary: list[dict]) -> None:
    """``summary.json``, ``summary.csv`` and ``trials.csv`` in ``folder`` (atomically)."""
    write_text(folder / "summary.json", json.dumps({"trials": trials, "summary": summary}, indent=1, default=list))
    names = sorted({k for row in summary for k in row["settings"]})
    for filename, rows, fields in (
        ("summary.csv", summary, ["n", "track_accuracy_mean", "track_accuracy_std", "segment_accuracy_mean",
                                  "segment_accuracy_std"]),
        ("trials.csv", trials, ["seed", "fold", "track_accuracy", "segment_accuracy", "epochs_run", "seconds",
                                "run_id"]),
    ):
        lines = [names + fields] + [[cell(r["settings"].get(n)) for n in names] + [cell(r.get(f)) for f in fields]
                                    for r in rows]
        buf = StringIO()
        csv.writer(buf).writerows(lines)
        write_text(folder / filename, buf.getvalue())


def varied(spec: dict) -> list[str]:
    """The settings an experiment's ``experiment.json`` varied over more than one value."""
    return [name for name, values in spec.get("varies", []) if len(values) > 1]


def _last(values) -> float | None:
    finite = [float(v) for v in values or () if v is not None and math.isfinite(float(v))]
    return finite[-1] if finite else None


def gaps(exp) -> list[dict]:
    """The summary's rows (best first), each with the train - validation accuracy gap of its trials.

    A trial's gap is its run's last ``accuracy`` minus its last ``val_accuracy``: how much better the
    model did on the data it learned from than on held-out data (large: it memorised). ``gap_mean`` and
    ``gap_std`` are over the point's trials that have both curves (None when none has).
    """
    from genre.jobs.runs import Run

    result = exp.result() or {}
    per_point: dict[str, list[float]] = {}
    for trial in result.get("trials", []):
        if not trial.get("run_id"):
            continue
        history = (Run(exp.path / "runs" / trial["run_id"]).brief() or {}).get("history", {})
        train, val = _last(history.get("accuracy")), _last(history.get("val_accuracy"))
        if train is not None and val is not None:
            per_point.setdefault(_key(trial["settings"]), []).append(train - val)
    rows = []
    for row in result.get("summary", []):
        found = per_point.get(_key(row["settings"]), [])
        rows.append({**row, "gap_mean": statistics.fmean(found) if found else None,
                     "gap_std": statistics.stdev(found) if len(found) > 1 else (0.0 if found else None)})
    return rows


def seed_spread(summary: list[dict]) -> float | None:
    """The typical seed-to-seed std of track accuracy: the median over the points trained more than once."""
    stds = [row["track_accuracy_std"] for row in summary if row.get("n", 0) > 1]
    return statistics.median(stds) if stds else None


def noise_note(summary: list[dict], split: str) -> str:
    """How large a difference between two points must be before it is more than the seeds' noise."""
    spread = seed_spread(summary)
    what = "seed-and-fold" if split == "kfold" else "seed-to-seed"
    if spread is None:
        return ("Each point was trained once: there is no seed-to-seed spread to judge a difference by. "
                "Use 2 or more repeats before trusting a ranking.")
    return (f"The {what} spread of track accuracy (std over a point's trials, typical over the points) is "
            f"{100 * spread:.1f} points. Differences smaller than about 2 × std (here ±{200 * spread:.1f} points) "
            "are noise.")


def overview(exp) -> dict:
    """One experiment at a glance: what it varied, its state, its trials and its best point (None before any)."""
    result, spec = exp.result(), exp.spec
    names = varied(spec)
    if result is not None:
        scored, total = sum(1 for t in result["trials"] if not t.get("error")), len(result["trials"])
    else:
        scored, total = exp.progress()
    best = ((result or {}).get("summary") or [None])[0]
    return {"title": " × ".join(names) or ("repeats of one setting" if spec else "starting..."), "state": exp.state,
            "scored": scored, "total": total, "ended": result is not None, "best": best,
            "best_settings": {k: v for k, v in (best or {}).get("settings", {}).items() if k in names},
            "created": spec.get("created"), "id": exp.id}


def _past_work(run, brief: dict) -> tuple[tuple[str, str], float, float] | None:
    """``((backend, kind), seconds per epoch per unit of size, start-up seconds)`` of a finished run, or None."""
    spec, m = run.spec, brief.get("metrics", {})
    done, shape = int(m.get("epochs_run") or 0), spec.get("input_shape") or ()
    rows = int(m.get("n_train_segments") or 0) + int(m.get("n_augmented_rows") or 0)
    if done <= 0 or not brief.get("seconds") or not shape or rows <= 0:
        return None
    status = run.raw_status()
    startup = max(0.0, float(status["started"]) - float(status["created"])) \
        if status.get("started") and status.get("created") else 0.0
    kind = spec.get("model_config", {}).get("kind", "dense")
    return (spec.get("backend", "tensorflow"), kind), float(brief["seconds"]) / done / (rows * math.prod(shape)), \
        startup


def estimate_seconds(runs, work: list[Work], *, workers: int) -> tuple[float | None, str]:
    """Roughly how long trials of ``work`` take, ``workers`` at a time, and what the estimate is based on.

    From finished runs of the same network on the same backend: their median seconds per epoch per unit of size
    (rows × frames × coefficients) times each trial's size and epochs, plus their median start-up. A CNN epoch is
    ~10× a dense one, so runs of another network say nothing. ``(None, why)`` when some trial has nothing to go
    on. Feature extraction is not counted.
    """
    seen: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for run in runs:
        brief = run.brief()
        found = _past_work(run, brief) if brief else None
        if found is not None:
            seen.setdefault(found[0], []).append(found[1:])
    if not work:
        return None, "no trials"
    total = 0.0
    for w in work:
        past = seen.get((w.backend, w.kind))
        if not past:
            return None, f"no {w.kind} run on {w.backend} has finished in this workspace yet"
        per_unit = statistics.median(p for p, _ in past)
        total += statistics.median(s for _, s in past) + per_unit * w.size * w.epochs
    basis = ", ".join(f"{len(v)} {kind} run{'s' if len(v) > 1 else ''} on {backend}"
                      for (backend, kind), v in seen.items() if any((w.backend, w.kind) == (backend, kind) for w in work))
    return total / max(1, min(workers, len(work))), f"from {basis}"
