"""musicnn's embeddings as a second feature family (FeatureParams(features="musicnn")): extracted, stored, trained
on (the dense network and logistic regression), bundled, predicted, varied in an experiment, and extracted for the
app in the prediction worker."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SMALL_PARAMS

from genre.data import musicnn
from genre.data.params import FeatureParams
from genre.errors import BundleError, TrainingError
from genre.learn.config import ModelConfig, TrainConfig

try:
    musicnn.checkpoint()
except musicnn.MusicnnMissing:  # pragma: no cover - the set-up installs it
    pytest.skip("the musicnn wheel is not installed", allow_module_level=True)

# The tiny dataset's 3 s clips, one whole segment each (musicnn hears 3 s patches).
EMBEDDED = FeatureParams(**{**SMALL_PARAMS, "num_segments": 1}, features="musicnn")


@pytest.fixture(scope="module")
def embedded(gtzan, tmp_path_factory):
    """The tiny dataset's musicnn features, extracted into a store once: ``(features, path)``."""
    from genre.data.extract import extract_to_store

    out = tmp_path_factory.mktemp("embedded") / "musicnn.npz"
    fs, hit = extract_to_store(gtzan, EMBEDDED, out)
    assert not hit
    return fs, out


def test_the_patch_length_is_musicnns():
    from genre.data.params import MUSICNN_PATCH_SAMPLES

    assert MUSICNN_PATCH_SAMPLES == (musicnn.PATCH_FRAMES - 1) * musicnn.HOP
    assert len(musicnn.patches(musicnn.log_mel(np.zeros(MUSICNN_PATCH_SAMPLES, np.float32), 16000))) == 1
    assert len(musicnn.patches(musicnn.log_mel(np.zeros(MUSICNN_PATCH_SAMPLES - 256, np.float32), 16000))) == 0


def test_embeddings_are_extracted_stored_and_found_in_the_cache(embedded, gtzan):
    from genre.data.extract import extract_to_store
    from genre.data.store import load_features

    fs, path = embedded
    assert fs.X.shape == (12, 200) and np.isfinite(fs.X).all() and fs.X.std(axis=0).max() > 0
    assert fs.summary()["input_shape"] == [200]
    back = load_features(path)
    assert back.params == EMBEDDED and back.params.features == "musicnn" and back.params.sample_rate == 16000
    np.testing.assert_array_equal(back.X, fs.X)
    _, hit = extract_to_store(gtzan, EMBEDDED, path)
    assert hit


def test_a_segments_embedding_is_the_mean_of_its_patches(gtzan):
    from genre.data.audio import load_audio
    from genre.data.features import segment_rows

    p = EMBEDDED.replace(duration=12.0, num_segments=2)  # 6 s segments: two patches each
    y = np.tile(load_audio(gtzan / "metal" / "metal.00001.wav", sample_rate=16000), 4)
    rows, index = segment_rows(y, params=p)
    assert rows.shape == (2, 200) and index.tolist() == [0, 1]
    seg = p.segment_samples
    per_patch = musicnn.embed(musicnn.shared(), y[seg:2 * seg], 16000)
    assert len(per_patch) == 2
    np.testing.assert_allclose(rows[1], per_patch.mean(axis=0), atol=1e-5)


def test_a_clip_gives_the_same_embeddings_from_a_file_and_from_an_upload(gtzan):
    from genre.data.audio import load_audio
    from genre.data.features import excerpt, segment_rows

    path = gtzan / "blues" / "blues.00002.wav"
    got = []
    for source, name in ((path, None), (path.read_bytes(), "upload.wav")):
        y = load_audio(source, sample_rate=EMBEDDED.sample_rate, name=name)
        part, segments = excerpt(y, EMBEDDED)
        got.append(segment_rows(part, params=EMBEDDED, segments=segments)[0])
    np.testing.assert_array_equal(got[0], got[1])


@pytest.mark.parametrize("kind", ["logistic", "dense"])
def test_a_model_on_embeddings_round_trips_through_its_bundle_and_predicts_a_clip(embedded, gtzan, tmp_path, kind):
    from genre.learn.bundle import load_bundle, save_bundle
    from genre.learn.predict import predict_file
    from genre.learn.training import train

    fs, _ = embedded
    mc, tc = ModelConfig(kind=kind, hidden_units=(16,), learning_rate=1e-2), TrainConfig(epochs=3, batch_size=4)
    result = train(fs, mc, tc)
    assert result.model.input_shape[1:] == (200,)
    assert 0 <= result.metrics["track_accuracy"] <= 1
    path = save_bundle(tmp_path / kind, model=result.model, genres=fs.genres, params=fs.params, model_config=mc,
                       train_config=tc, metrics=result.metrics, history=result.history)
    bundle = load_bundle(path)
    assert bundle.params.features == "musicnn"
    p = predict_file(bundle, gtzan / "rock" / "rock.00000.wav")
    assert p.genre in fs.genres and p.n_segments == 1
    np.testing.assert_allclose(p.segment_probabilities, bundle.model.predict(fs.X[fs.track == fs.files.index(
        "rock/rock.00000.wav")], verbose=0), atol=1e-5)


def test_the_apps_prediction_worker_classifies_with_a_model_on_embeddings(embedded, gtzan, tmp_path):
    """Classify's path: the worker (not the server) computes the clip's embeddings and the model's vote."""
    from genre.jobs.predictor import Predictor
    from genre.learn.bundle import load_bundle, save_bundle
    from genre.learn.predict import predict_file
    from genre.learn.training import train

    fs, _ = embedded
    mc, tc = ModelConfig(kind="logistic", learning_rate=1e-2), TrainConfig(epochs=2, batch_size=4)
    result = train(fs, mc, tc)
    path = save_bundle(tmp_path / "b", model=result.model, genres=fs.genres, params=fs.params, model_config=mc,
                       train_config=tc, metrics=result.metrics, history=result.history)
    data = (gtzan / "blues" / "blues.00001.wav").read_bytes()
    p = Predictor()
    try:
        there = p.predict(path, data, name="upload.wav")
    finally:
        p.close()
    here = predict_file(load_bundle(path), data, name="upload.wav")
    assert there.genre == here.genre and there.n_segments == 1
    np.testing.assert_allclose(there.segment_probabilities, here.segment_probabilities, atol=1e-5)


def test_a_bundle_made_on_embeddings_refuses_mfcc_rows_with_a_clear_message(embedded, features, tmp_path):
    from genre.learn.bundle import load_bundle, save_bundle
    from genre.learn.predict import predict_rows
    from genre.learn.training import train

    fs, _ = embedded
    mc, tc = ModelConfig(kind="logistic"), TrainConfig(epochs=1, batch_size=4)
    result = train(fs, mc, tc)
    bundle = load_bundle(save_bundle(tmp_path / "b", model=result.model, genres=fs.genres, params=fs.params,
                                     model_config=mc, train_config=tc, metrics=result.metrics, history=result.history))
    with pytest.raises(BundleError, match="trained on musicnn penultimate embeddings .*these rows are MFCCs"):
        predict_rows(bundle, features.X, features.params)


def test_a_cnn_is_not_built_on_embeddings(embedded):
    from genre.learn.training import train

    with pytest.raises(TrainingError, match="no time axis"):
        train(embedded[0], ModelConfig(kind="cnn"), TrainConfig(epochs=1))


def test_an_experiment_varies_the_feature_family(gtzan, tmp_path, genre_home):
    from genre.jobs.experiment import ExperimentSpec, parse_vary, run_experiment

    base = {"features": FeatureParams(**{**SMALL_PARAMS, "num_segments": 1}),
            "model": ModelConfig(hidden_units=(16,), learning_rate=1e-2)}
    spec = ExperimentSpec.build(gtzan, [parse_vary("features=mfcc,musicnn")], repeats=1, epochs=2, workers=1,
                                base=base)
    result = run_experiment(spec, tmp_path / "exp")
    assert [t["settings"] for t in result["trials"]] == [{"features": "mfcc"}, {"features": "musicnn"}]
    assert all(t.get("track_accuracy") is not None for t in result["trials"]), result["trials"]
    with pytest.raises(Exception, match="no time axis"):
        ExperimentSpec.build(gtzan, [parse_vary("features=mfcc,musicnn")], repeats=1, epochs=1,
                             base={**base, "model": ModelConfig(kind="cnn")})


def test_the_worker_extracts_embeddings_for_the_app_with_progress(gtzan, tmp_path):
    from genre.data.store import load_features
    from genre.jobs.predictor import Predictor

    p, seen = Predictor(), []
    try:
        out = tmp_path / "m.npz"
        assert p.extract(gtzan, EMBEDDED, out, on_progress=lambda done, total: seen.append((done, total))) is False
        assert seen[-1] == (12, 12) and load_features(out).X.shape == (12, 200)

        class Interrupted(Exception):
            pass

        def interrupt(done, total):
            raise Interrupted  # what the app's rerun on Stop does, at the next progress callback

        pid = p.pid
        with pytest.raises(Interrupted):
            p.extract(gtzan, EMBEDDED.replace(layer="max_pool"), tmp_path / "other.npz", on_progress=interrupt)
        assert p.pid is None  # the worker (and its extraction) ended
        assert not (tmp_path / "other.npz").exists()
        assert pid is not None
    finally:
        p.close()


# --- the pages ------------------------------------------------------------------------------------------------

def test_the_features_page_offers_musicnn_and_extracts_it_in_the_worker(home, tiny, monkeypatch):
    from tests.app_fixtures import button, by_label, open_page, texts

    at = open_page("features", dataset_root=str(tiny.root)).run()
    assert at.slider(key="n_mfcc").disabled is False and at.selectbox(key="layer").disabled
    at.radio(key="family").set_value("musicnn").run()
    at.slider(key="duration").set_value(4).run()
    at.slider(key="segments").set_value(1).run()
    assert not at.exception and not at.error
    assert at.slider(key="n_mfcc").disabled and at.selectbox(key="sr").disabled
    assert not at.selectbox(key="layer").disabled
    assert by_label(at.metric, "Input shape (embedding values)").value == "200"
    assert len(at.image) == 2  # the segment's MFCCs and musicnn's log-mel input
    button(at, "Extract features").click().run(timeout=300)
    assert not at.exception and not at.error, [e.value for e in at.error]
    fs = at.session_state["features"]
    assert fs.params.features == "musicnn" and fs.X.shape[1:] == (200,)
    assert at.query_params.get("family") == "musicnn"  # a link to the page keeps the choice
    from genre.jobs.predictor import Predictor

    def asked(*args, **kwargs):
        raise AssertionError("the worker was started for features already extracted")

    monkeypatch.setattr(Predictor, "extract", asked)
    button(at, "Extract features").click().run(timeout=60)  # found in the server: the worker is not asked
    assert not at.exception and "Cache hit" in texts(at.success)


def test_the_train_page_says_why_a_cnn_cannot_read_embeddings(home, embedded):
    from tests.app_fixtures import button, by_label, open_page, texts

    fs, path = embedded
    at = open_page("train", features=fs, features_path=str(path)).run()
    assert not at.exception and not at.error
    assert "200 values (musicnn penultimate embeddings)" in texts(at.caption)
    assert not button(at, "Start training").disabled
    at.radio(key="kind").set_value("cnn").run()
    assert "no time axis: choose the dense network or logistic regression" in texts(at.error)
    assert button(at, "Start training").disabled
    at.radio(key="kind").set_value("logistic").run()
    assert not at.error and not button(at, "Start training").disabled
    assert by_label(at.text_input, "Run name").value.startswith("logistic-musicnn-track")
