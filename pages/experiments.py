"""Experiments: a grid of settings × repeated seeds (× folds), every trial a training run; mean ± std per point.

A thin page over ``genre.jobs.experiment``: an experiment runs in a process of its own (``launch_experiment``)
and leaves a folder in the workspace that this page draws from, so a reload, another tab or an app
restart shows it, and any tab can watch or stop it.
"""

from itertools import cycle

import pandas as pd
import streamlit as st

from genre import plots
from genre.errors import GenreError
from genre.jobs.experiment import (
    CONFIGS,
    KEEP_MODELS,
    VARIABLES,
    ExperimentSpec,
    configs_for,
    default_workers,
    estimate_seconds,
    gaps,
    launch_experiment,
    noise_note,
    overview,
    parse_vary,
    trial_title,
    varied,
)
from genre.jobs.runs import BACKEND_HELP, BACKENDS, new_run_id
from genre.learn.config import TrainConfig
from genre.learn.splits import GTZAN_LISTS, SPLIT_MODES, default_lists
from workbench import runtime, settings, state, ui

runtime.through_navigation()  # a page opened by URL on a fresh server runs through the entry script

st.title("🧪 Experiments")
ui.status_strip()

# Shown first among the settings to vary; any other of VARIABLES follows.
FRIENDLY = ["kind", "features", "augment_copies", "l1", "l2", "dropout", "standardize", "patience", "n_mfcc", "num_segments",
            "n_fft", "hop_length", "duration", "excerpt", "hidden_units", "learning_rate", "batch_size", "epochs"]
SUGGESTED = {"n_mfcc": "13, 20, 40", "num_segments": "5, 10", "n_fft": "1024, 2048", "hop_length": "256, 512",
             "duration": "15, 30", "excerpt": "start, middle", "hidden_units": "512-256-64, 256-64",
             "dropout": "0, 0.3, 0.5", "l2": "0, 0.001", "learning_rate": "0.0001, 0.001", "batch_size": "32, 64",
             "epochs": "20, 50", "kind": "dense, cnn, lstm", "features": "mfcc, musicnn",
             "layer": "penultimate, mean_pool", "augment_copies": "0, 2", "l1": "0, 0.0001",
             "standardize": "false, true", "patience": "none, 5", "pitch_shift": "0, 2", "time_stretch": "0, 0.1",
             "noise_snr": "none, 20", "time_mask": "0, 8", "coef_mask": "0, 2"}
STATE_ICONS = {"running": "🏃", "done": "✅", "stopped": "⏹️", "failed": "❌"}
def sticky(key: str, default) -> dict:
    """Widget arguments for a setting of this page that outlives page switches (its first value: ``default``)."""
    if key not in st.session_state:
        st.session_state[key] = default
    return {"key": key, "persist_state": "session"}


def train_setting(key: str):
    """A Train page setting as this session has it (seeded from the last used), else its default."""
    return st.session_state.get(key, settings.SETTINGS[key].default)


def base_ui(dataset) -> tuple[dict | None, str | None]:
    """The settings nobody varies: the Features page's and the Train page's current ones."""
    try:
        fp = settings.feature_params(state.excluded() if dataset is not None else ())
        mc, tc = settings.configs(settings.train_values())
        tc = tc.replace(split=TrainConfig().split, lists=None, fold=0)  # the experiment's own split settings rule
    except GenreError as exc:
        return None, f"The Features or Train page's settings are not valid: {exc}"
    except ValueError:
        return None, "The Train page's hidden layers must be whole numbers separated by commas."
    st.caption(f"Unvaried settings come from the Features page ({fp.describe()}) and the "
               f"Train page ({', '.join(f'{k} {plots.setting_label(v)}' for k, v in mc.knobs().items())}, "
               f"batch {tc.batch_size}{', ' + ui.count(tc.augment_copies, 'augmented copy') if tc.augmentation() else ''}).")
    return {"features": fp, "model": mc, "train": tc}, None


def variables_ui(base: dict | None) -> tuple[list[tuple[str, list]], str | None]:
    """The settings to vary and their values: ``(varies, problem)``."""
    names = st.multiselect("Vary", FRIENDLY + sorted(set(VARIABLES) - set(FRIENDLY)), **sticky("exp_vary", []),
                           help="Any setting of the Features and Train pages. Every combination of the values is "
                                "a grid point; nothing varied repeats the current settings (their spread).")
    varies, problem = [], None
    for name, column in zip(names, cycle(st.columns(3))):
        now = getattr(base[VARIABLES[name].config], name) if base else None
        text = column.text_input(f"{name} values", **sticky(f"exp_values_{name}", SUGGESTED.get(name, "" if now is None else plots.setting_label(now))),
                                 help="Comma-separated" + (", layers as 512-256-64" if name == "hidden_units" else "")
                                      + (f"; now {plots.setting_label(now)}" if now is not None else ""))
        try:
            varies.append(parse_vary(f"{name}={text}"))
        except GenreError as exc:
            problem = problem or str(exc)
    return varies, problem


def how_ui(dataset) -> dict:
    """Repeats, split, epochs, backend and workers."""
    c1, c2, c3, c4 = st.columns(4)
    how = {"repeats": int(c1.number_input("Repeats (seeds)", 1, 100, **sticky("exp_repeats", 3),
                                          help="Each grid point is trained this many times, seeds 0, 1, ..."))}
    how["epochs"] = int(c2.number_input("Epochs", 1, 10000, **sticky("exp_epochs", int(train_setting("epochs")))))
    how["workers"] = int(c3.number_input("Workers", 1, 64, **sticky("exp_workers", default_workers()),
                                         help="Trials at once; each fit already uses every core."))
    how["backend"] = c4.radio("Backend", list(BACKENDS), format_func=lambda b: BACKENDS[b].split(" (")[0],
                              **sticky("exp_backend", train_setting("backend")), help=BACKEND_HELP)
    how["split"] = st.radio("Split", list(SPLIT_MODES), horizontal=True, format_func=lambda m: SPLIT_MODES[m].label,
                            **sticky("exp_split", train_setting("split")))
    how["keep_models"] = st.radio("Models to keep", list(KEEP_MODELS), horizontal=True, format_func=KEEP_MODELS.get,
                                  **sticky("exp_keep_models", "all"),
                                  help="Each trial's model is ~20 MB however short its training: a 150-trial sweep "
                                       "keeps ~3 GB. The records keep every trial's metrics and curves either way.")
    how["folds"], how["lists"] = int(settings.SETTINGS["folds"].default), None
    if how["split"] == "segment":
        st.warning(SPLIT_MODES["segment"].note, icon="⚠️")
    elif how["split"] == "kfold":
        how["folds"] = int(st.number_input("Folds", 2, 20, **sticky("exp_folds", how["folds"]),
                                           help="Every repeat trains each fold once: every track is tested once."))
    elif how["split"] == "lists":
        gtzan_lists = default_lists(dataset.genres, [p for f in dataset.files for p in f]) if dataset else None
        how["lists"] = st.text_input("Lists folder", **sticky("exp_lists", gtzan_lists or ""),
                                     help="train.txt, test.txt and optionally valid.txt; GTZAN's fault-filtered "
                                          "split is bundled: " + str(GTZAN_LISTS)).strip() or None
    return how


def spec_of(dataset_root: str, base: dict, varies: list, how: dict) -> ExperimentSpec:
    """The experiment the widgets describe (GenreError with the problem when it cannot run)."""
    return ExperimentSpec.build(dataset_root, varies, base=base, repeats=how["repeats"], split=how["split"],
                                folds=how["folds"], lists=how["lists"], epochs=how["epochs"], backend=how["backend"],
                                workers=how["workers"], keep_models=how["keep_models"])


def estimate_ui(spec: ExperimentSpec, n_tracks: int) -> None:
    configs = spec.configs()
    past = state.runs() + [r for e in state.experiments() for r in e.runs()]
    seconds, basis = estimate_seconds(past, spec.work(n_tracks), workers=spec.workers or default_workers())
    c1, c2 = st.columns(2)
    points = len({repr(c[:2]) + repr(c[2].replace(seed=0, fold=0)) for c in configs})
    folds = f" × {spec.train.folds} folds" if spec.train.split == "kfold" else ""
    c1.metric("Trials", len(configs), help=f"{ui.count(points, 'grid point')} × {ui.count(spec.repeats, 'repeat')}"
                                           f"{folds}")
    c2.metric("Estimated time", "no estimate yet" if seconds is None else f"≈ {ui.fmt_seconds(seconds)}",
              help=f"Nothing to go on: {basis}." if seconds is None else
              f"Estimated {basis}: their time per epoch for the size of each trial (training rows × frames × "
              "coefficients) and their start-up, divided by the workers. Feature extraction is not counted.")


def new_experiment_ui() -> None:
    dataset, unreadable = ui.try_scan(state.dataset_root(), exclude=state.excluded())
    if dataset is None:
        st.info(f"Choose a dataset first ({unreadable}). Experiments already run are listed below.")
        st.page_link("pages/dataset.py", label="Dataset", icon="📁")
    else:
        st.caption(f"Dataset: {dataset.root} · {ui.count(len(dataset.genres), 'genre')}, "
                   f"{ui.count(dataset.n_files, 'track')}.")
    base, problem = base_ui(dataset)
    varies, vary_problem = variables_ui(base)
    how = how_ui(dataset)
    problem = problem or vary_problem
    spec = None
    if problem is None:
        try:
            spec = spec_of(dataset.root if dataset is not None else state.dataset_root(), base, varies, how)
        except GenreError as exc:
            problem = str(exc)
        else:
            estimate_ui(spec, dataset.n_files if dataset is not None else 0)
    if problem:
        st.error(problem)
    if st.button("Start experiment", type="primary", icon="▶️", disabled=bool(problem or unreadable)):
        out = state.experiments_dir() / new_run_id()
        try:
            exp = launch_experiment(spec, out)
        except (GenreError, OSError) as exc:
            st.error(f"Could not start the experiment: {exc}")
            return
        state.set_experiment(exp)
        st.rerun()


# --- one experiment -----------------------------------------------------------------------------------

def title(exp) -> str:
    """What an experiment varied: ``dropout × n_mfcc``."""
    return overview(exp)["title"]


def label(exp) -> str:
    return f"{STATE_ICONS.get(exp.state, '')} {title(exp)} · {exp.id}"


def trial_curves(run, names: list[str]) -> None:
    """One trial in flight: its varied settings and seed (its name has the fixed ones too), and its curves."""
    epochs = run.epochs()
    st.caption(f"**{trial_title(run.name, names)}** · epoch {len(epochs)}/{run.spec.get('train_config', {}).get('epochs', '?')}")
    history = run.history(epochs)
    if not history:
        st.caption("Starting: the trial's process imports Keras and loads the features...")
        return
    for column, metric in zip(st.columns(2), ("accuracy", "loss")):
        column.vega_lite_chart(pd.DataFrame(plots.curves_rows(history, metric), columns=["epoch", "value", "split"]),
                               plots.curves_spec(metric, points=len(epochs) <= 30, height=140), width="stretch",
                               key=f"curve-{run.id}-{metric}")


@st.fragment(run_every=2.0)
def live_ui(exp, drawn_label: str) -> None:
    """The experiment's progress and the trials in flight, redrawn every 2 s from its folder.

    ``drawn_label`` is its label as the rest of the page was drawn with it (the table, the pickers): when that
    changes (its spec written, its end), the whole page is redrawn, so nothing outside this fragment is stale.
    """
    if not exp.running or label(exp) != drawn_label:
        st.rerun(scope="app")  # it ended, or now says what it varies: redraw the page
    done, total = exp.progress()
    flying = [r for r in exp.runs() if r.running and r.state != "queued"]  # the next trial waits queued, ready
    elapsed = exp.elapsed()
    if not total or not (flying or done):
        st.info(f"Preparing: the experiment's process checks the grid and extracts the features of each distinct "
                f"feature setting (cached) · {ui.fmt_seconds(elapsed)}", icon="⏳")
    else:
        eta = elapsed / done * (total - done) if done else None
        trials = (f"Trials {done + 1}–{done + len(flying)}" if len(flying) > 1 else f"Trial {min(done + 1, total)}")
        st.progress(done / total, text=f"{trials} of {total} · {done} finished · elapsed {ui.fmt_seconds(elapsed)}"
                                       " · ETA " + (ui.fmt_seconds(eta) if eta is not None else "after the first trial"))
    ui.stop_button(exp, help="The trials in flight end after their current batch and are kept (and scored); "
                             "no more start.", stopping="Stopping: the trials in flight end after their current batch...")
    for run in flying[:4]:
        trial_curves(run, varied(exp.spec))
    if len(flying) > 4:
        st.caption(f"... and {len(flying) - 4} more trials in flight.")


def summary_table(rows: list[dict], names: list[str]) -> pd.DataFrame:
    """One row per grid point; accuracies, spreads and the gap in percent (points), as on every page."""
    return pd.DataFrame([{**{n: plots.setting_label(r["settings"].get(n)) for n in names},
                          "track acc": 100 * r["track_accuracy_mean"], "± track": 100 * r["track_accuracy_std"],
                          "segment acc": 100 * r["segment_accuracy_mean"], "± segment": 100 * r["segment_accuracy_std"],
                          "gap": float("nan") if r.get("gap_mean") is None else 100 * r["gap_mean"], "n": r["n"]}
                         for r in rows])


def results_ui(exp) -> None:
    spec, result, now = exp.spec, exp.result(), exp.state
    st.subheader(f"{label(exp)}: {now}")
    if result is None:
        st.error("The experiment's process ended without a summary." + (f" Its last words: {exp.log_tail(1)}"
                                                                         if exp.log_tail(1) else ""))
        with st.expander("Its log"):
            st.code(exp.log_tail() or "(empty)", language=None)
        return
    trials, names = result["trials"], varied(spec)
    failed = [t for t in trials if t.get("error")]
    try:
        fixed = exp.experiment_spec().fixed()
    except GenreError:  # a record this version cannot read as a spec: its single-valued settings at least
        fixed = {n: v[0] for n, v in spec.get("varies", []) if len(v) == 1}
    st.caption(f"{len(trials) - len(failed)} of {ui.count(len(trials), 'trial')} scored · split {spec.get('split')}"
               f" · {spec.get('backend')} · {spec.get('repeats')} repeat(s). Fixed: "
               + (", ".join(f"{n}={plots.setting_label(v)}" for n, v in fixed.items()) or "nothing beyond the defaults")
               + ".")
    if failed:
        st.warning(f"{ui.count(len(failed), 'trial')} not scored: " + "; ".join(
            sorted({t['error'] for t in failed}))[:500], icon="⚠️")
    if not result["summary"]:
        st.info("No trial was scored, so there is nothing to compare.")
        return
    rows = gaps(exp)
    st.dataframe(summary_table(rows, names), hide_index=True, column_config={
        "track acc": st.column_config.NumberColumn(format=ui.PERCENT_COLUMN,
                                                   help="Mean track accuracy (vote) over the trials"),
        "segment acc": st.column_config.NumberColumn(format=ui.PERCENT_COLUMN),
        "± track": st.column_config.NumberColumn(format="± %.1f", help="Standard deviation over the trials, in points"),
        "± segment": st.column_config.NumberColumn(format="± %.1f"),
        "gap": st.column_config.NumberColumn(format="%+.1f", help="Last train accuracy minus last validation accuracy "
                                                                  "in points, mean over the trials: large means it "
                                                                  "memorised")})
    st.caption(noise_note(result["summary"], spec.get("split", "track")))
    try:
        figures_ui(rows, names)
    except GenreError as exc:
        st.error(f"Could not draw the results: {exc}")
    try:
        st.download_button("summary.csv", (exp.path / "summary.csv").read_bytes(), file_name=f"{exp.id}-summary.csv",
                           mime="text/csv", icon="⬇️")
    except OSError:
        pass
    train_this_ui(exp, rows)


def figures_ui(rows: list[dict], names: list[str]) -> None:
    for name in names:
        st.pyplot(plots.sweep_figure(rows, name, title=f"{name}: mean ± std over the trials"))
    if len(names) >= 2:
        x, y = names[:2]
        if len(names) > 2:
            c1, c2 = st.columns(2)
            x = c1.selectbox("Heatmap columns", names, index=0)
            y = c2.selectbox("Heatmap rows", [n for n in names if n != x])
        st.columns([3, 2])[0].pyplot(plots.heatmap_figure(rows, x, y))


def train_values(exp, settings_point: dict) -> tuple[dict, list[str]]:
    """The Train and Features pages' settings for one grid point, and the values they cannot take."""
    spec = exp.experiment_spec()
    point = {k: tuple(v) if isinstance(v, list) else v for k, v in settings_point.items()}
    values = settings.widget_values(dict(zip(CONFIGS, configs_for(point, spec.base))), spec.backend)
    ok, refused = {}, []
    for key, value in values.items():
        default = settings.SETTINGS[key].default
        if isinstance(default, int) and isinstance(value, float) and value.is_integer():
            value = int(value)
        if settings.SETTINGS[key].allows(value):
            ok[key] = value
        else:
            refused.append(f"{key}={plots.setting_label(value)}")
    return ok, refused


def spec_exclusion(exp) -> list[str]:
    excluded = exp.spec.get("base", {}).get("features", {}).get("exclude", [])
    return [g for g in excluded if isinstance(g, str)] if isinstance(excluded, list) else []


def train_this_ui(exp, rows: list[dict]) -> None:
    st.subheader("Train this setting")
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    names = varied(exp.spec)
    chosen = c1.selectbox("Grid point", range(len(rows)), key=f"point-{exp.id}", format_func=lambda i: (
        ", ".join(f"{n}={plots.setting_label(rows[i]['settings'].get(n))}" for n in names) or "the current settings")
        + f" · track accuracy {ui.percent(rows[i]['track_accuracy_mean'], rows[i]['track_accuracy_std'])}",
        help="Best first. Sets the Train and Features pages' settings to this point's and opens Train.")
    if not c2.button("Train this setting", icon="🧠"):
        return
    try:
        values, refused = train_values(exp, rows[chosen]["settings"])
    except GenreError as exc:
        st.error(f"Could not read the experiment's settings: {exc}")
        return
    st.session_state.update(values)
    dataset = exp.spec.get("dataset")
    if dataset and dataset != state.dataset_root():
        state.set_dataset_root(dataset)
    if dataset:  # the folders the experiment left out, for its dataset
        state.set_excluded(dataset, spec_exclusion(exp))
    state.forget_features()  # Train loads this point's features (the experiment extracted them) from the cache
    if refused:
        st.warning("Set, except what the Train and Features pages cannot take: " + ", ".join(refused) + ".")
        st.page_link("pages/train.py", label="Train", icon="🧠")
        return
    st.switch_page("pages/train.py")


# --- every experiment -----------------------------------------------------------------------------------

def experiment_row(exp) -> dict:
    o = overview(exp)
    best = o["best"]
    return {"experiment": o["title"], "state": o["state"],
            "trials": f"{o['scored']}/{o['total']}" + (" scored" if o["ended"] else ""),
            "best track acc": "–" if best is None else  # text: a None would turn Arrow's column to floats
            ui.percent(best["track_accuracy_mean"], best["track_accuracy_std"]),
            "best setting": ", ".join(f"{k}={plots.setting_label(v)}" for k, v in o["best_settings"].items()) or "–",
            "started": o["created"], "id": o["id"]}


def pick_ui(exps: list):
    """The experiment to show: this tab's (also after a reload, from the URL), else a running one, else the newest."""
    current = state.experiment() or next((e for e in exps if e.running), None) or exps[0]
    ids = [e.id for e in exps]
    labels = {e.id: label(e) for e in exps}
    chosen = st.selectbox("Show experiment", ids, index=ids.index(current.id) if current.id in ids else 0,
                          format_func=labels.get, help="Every experiment in the workspace: this tab's and others'.")
    exp = next(e for e in exps if e.id == chosen)
    state.set_experiment(exp)
    return exp


def delete(exp_id: str) -> None:
    """The Delete button's callback; the confirmation is for one delete: it is unticked again."""
    st.session_state["confirm_delete_experiment"] = False
    exp = next((e for e in state.experiments() if e.id == exp_id), None)
    try:
        if exp is not None:
            exp.delete()
    except (GenreError, OSError) as exc:
        st.session_state["delete_experiment_error"] = f"Could not delete: {exc}"
        return
    if st.session_state.get(state.EXPERIMENT) == exp_id:
        state.set_experiment(None)


def delete_ui(exps: list) -> None:
    st.subheader("Delete")
    left, mid, right = st.columns([3, 2, 1], vertical_alignment="bottom")
    labels = {e.id: label(e) for e in exps}
    victim = left.selectbox("Experiment", list(labels), format_func=labels.get, key="delete_experiment_choice")
    confirm = mid.checkbox("Yes, delete it and its trials", key="confirm_delete_experiment",
                           help="A running experiment is stopped and its trials in flight are ended.")
    right.button("Delete", icon="🗑️", disabled=not confirm, on_click=delete, args=(victim,))
    if st.session_state.get("delete_experiment_error"):
        st.error(st.session_state.pop("delete_experiment_error"))


with st.container(border=True):
    st.subheader("New experiment")
    new_experiment_ui()
with st.expander("Open an experiment folder"):
    left, right = st.columns([4, 1], vertical_alignment="bottom")
    folder = left.text_input("Folder", placeholder="/path/to/EXP_DIR",
                             help="One made by `python -m genre experiment DATASET --out EXP_DIR`.")
    if right.button("Open", disabled=not folder.strip()):
        try:
            state.set_experiment(state.open_experiment(folder.strip()))
        except GenreError as exc:
            st.error(str(exc))
experiments = state.experiments()
running = [e for e in experiments if e.running]
if running:
    st.caption(f"{ui.count(len(running), 'experiment')} running now; trials share the CPU with any other training.")
if not experiments:
    st.caption("No experiments yet.")
    st.stop()
st.subheader("Experiments")
st.dataframe(pd.DataFrame([experiment_row(e) for e in experiments]), hide_index=True)
shown = pick_ui(experiments)
if shown.running:
    live_ui(shown, label(shown))
else:
    results_ui(shown)
delete_ui(experiments)
