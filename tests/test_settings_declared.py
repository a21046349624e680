"""Each setting is declared once, beside its config field (genre.data.params.Knob): the CLI's flags, the app's
widget keys and ranges, and the settings an experiment may vary all derive from that declaration."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from genre.cli import build_parser
from genre.data.params import FeatureParams, knobs
from genre.jobs.experiment import NOT_VARIED, VARIABLES
from genre.learn.config import ModelConfig, TrainConfig
from workbench import settings

CLASSES = (FeatureParams, ModelConfig, TrainConfig)


def _parse(*argv):
    return build_parser().parse_args(list(argv))


def _flags(command: str) -> set[str]:
    sub = next(a for a in build_parser()._actions if isinstance(a, type(build_parser()._subparsers._group_actions[0])))
    return {s for action in sub.choices[command]._actions for s in action.option_strings}


@pytest.mark.parametrize("command, cls, skip", [
    ("extract", FeatureParams, {"exclude"}), ("train", ModelConfig, set()), ("train", TrainConfig, {"val_size"}),
])
def test_every_field_is_a_flag_named_as_the_field(command, cls, skip):
    flags = _flags(command)
    assert {f"--{n.replace('_', '-')}" for n in knobs(cls)} - {f"--{n.replace('_', '-')}" for n in skip} <= flags


def test_the_older_flags_still_work_and_mean_the_same():
    from genre.cli import _config

    old = _parse("train", "f.npz", "--out", "o", "--model", "cnn", "--units", "64,32", "--lr", "0.01")
    new = _parse("train", "f.npz", "--out", "o", "--kind", "cnn", "--hidden-units", "64,32", "--learning-rate", "0.01")
    assert _config(ModelConfig, old) == _config(ModelConfig, new) == ModelConfig(kind="cnn", hidden_units=(64, 32),
                                                                                 learning_rate=0.01)
    a = _parse("extract", "d", "--out", "o", "--segments", "3")
    assert _config(FeatureParams, a).num_segments == 3


def test_an_experiment_varies_what_is_declared_variable():
    declared = {n for cls in CLASSES for n, (_, k) in knobs(cls).items() if k.vary}
    assert set(VARIABLES) == declared
    assert NOT_VARIED == {"seed", "fold", "folds", "split", "lists", "files_per_genre", "exclude"}


def test_every_app_setting_comes_from_a_declaration():
    derived = {k.key or n for cls in CLASSES for n, (_, k) in knobs(cls).items() if k.app and n not in settings.COMPOSITE}
    composite = {key for parts in settings.COMPOSITE.values() for key in parts}
    assert set(settings.SETTINGS) == derived | composite | {"backend"}
    _, k = knobs(FeatureParams)["hop_length"]
    assert settings.SETTINGS["hop"].options == k.options and settings.span("n_mfcc") == (1, 40)


@st.composite
def configs(draw):
    fp = FeatureParams(**{k: draw(st.sampled_from(settings.SETTINGS[key].options)) for key, k in
                          (("sr", "sample_rate"), ("n_fft", "n_fft"), ("excerpt", "excerpt"))},
                       hop_length=draw(st.sampled_from([h for h in settings.HOPS if h <= 256])),
                       duration=float(draw(st.integers(1, 300))), num_segments=draw(st.integers(1, 30)),
                       n_mfcc=draw(st.integers(1, 40)), files_per_genre=draw(st.integers(-1, 50).filter(bool)))
    mc = ModelConfig(kind=draw(st.sampled_from(settings.SETTINGS["kind"].options)),
                     hidden_units=tuple(draw(st.lists(st.integers(1, 1024), min_size=1, max_size=4))),
                     dropout=draw(st.sampled_from([0.0, 0.25, 0.5])), l2=draw(st.sampled_from(settings.L2S)),
                     learning_rate=draw(st.sampled_from(settings.LEARNING_RATES)), standardize=draw(st.booleans()))
    split = draw(st.sampled_from(["track", "segment", "kfold"]))
    tc = TrainConfig(epochs=draw(st.integers(1, 1000)), batch_size=draw(st.sampled_from(settings.BATCH_SIZES)),
                     split=split, folds=5, fold=draw(st.integers(0, 4)) if split == "kfold" else 0,
                     patience=draw(st.none() | st.integers(1, 100)), noise_snr=draw(st.none() | st.floats(0, 60)),
                     augment_copies=draw(st.integers(0, 10)), time_mask=1)
    return {"features": fp, "model": mc, "train": tc}


@hypothesis_settings(max_examples=60, deadline=None)
@given(configs())
def test_the_widgets_hold_a_config_and_give_it_back(chosen):
    values = settings.widget_values(chosen, "jax")
    assert all(k in settings.SETTINGS for k in values)
    mc, tc = settings.configs(values)
    assert (mc, tc) == (chosen["model"], dataclasses.replace(chosen["train"], lists=None))
    assert settings.params_of(values) == chosen["features"]
