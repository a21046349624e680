"""The musicnn port (genre.data.musicnn) equals the original network: its TensorFlow-1 graph from the wheel, run
in graph mode, is the reference (tests/musicnn_reference.py), under TensorFlow and JAX; and its input is musicnn's
own log-mel."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from genre.data import musicnn

REPO = Path(__file__).resolve().parents[1]
try:
    musicnn.checkpoint()
except musicnn.MusicnnMissing:  # pragma: no cover - the set-up installs it
    pytest.skip("the musicnn wheel is not installed", allow_module_level=True)
TOLERANCE = 1e-4


@pytest.fixture(scope="module", params=["tensorflow", "jax"])
def compared(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(f"musicnn-{request.param}") / "compared.npz"
    env = {**os.environ, "KERAS_BACKEND": request.param, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, str(REPO / "tests" / "musicnn_reference.py"), str(out)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with np.load(out) as data:
        return request.param, dict(data)


@pytest.mark.parametrize("output", ["tags", "penultimate", "mean_pool", "max_pool"])
def test_the_port_gives_the_originals_tags_and_embeddings(compared, output):
    backend, d = compared
    ref, port = d[f"ref_{output}"], d[f"port_{output}"]
    assert ref.shape == port.shape == (len(d["x"]), musicnn.LAYERS[output])
    assert np.isfinite(ref).all() and np.isfinite(port).all()
    assert np.abs(ref - port).max() < TOLERANCE, backend


def test_the_port_has_the_originals_parameters(compared):
    _, d = compared
    assert int(d["params"]) == 792_079  # the checkpoint's 64 weight variables (its 66 less the step counters)


def test_the_input_is_musicnns_own_log_mel():
    """musicnn/extractor.py's batch_data, its lines copied (librosa.load replaced by resampling a signal to 16 kHz;
    the padding made librosa 0.7's, which musicnn ran on)."""
    import librosa

    from tests.musicnn_reference import audio

    def original(y, sr):
        at16 = librosa.resample(y=y, orig_sr=sr, target_sr=16000)
        audio_rep = librosa.feature.melspectrogram(y=at16, sr=16000, hop_length=256, n_fft=512, n_mels=96,
                                                   pad_mode="reflect").T  # librosa 0.7's default, musicnn's era
        audio_rep = audio_rep.astype(np.float16)
        with np.errstate(over="ignore"):  # its overflow, shown below
            return np.log10(10000 * audio_rep + 1)

    y, sr = audio(seconds=4.0)
    audio_rep = original(y, sr)
    np.testing.assert_allclose(musicnn.log_mel(y, sr), audio_rep.astype(np.float32), rtol=2e-3, atol=2e-3)
    # Loud music: the original's 10000·x in float16 overflows to inf (x > 6.55); ours stays finite and equal elsewhere
    loud, _ = audio(seconds=4.0, level=1.0)
    theirs, ours = original(loud, sr), musicnn.log_mel(loud, sr)
    assert not np.isfinite(theirs).all() and np.isfinite(ours).all()
    ok = np.isfinite(theirs)
    np.testing.assert_allclose(ours[ok], theirs[ok].astype(np.float32), rtol=2e-3, atol=2e-3)
    batch = musicnn.patches(audio_rep, hop=10)  # batch_data's loop over time stamps, n_frames=187, overlap=10
    expected = np.stack([audio_rep[t:t + 187] for t in range(0, audio_rep.shape[0] - 187 + 1, 10)])
    np.testing.assert_array_equal(batch, expected.astype(np.float32))
    assert musicnn.patches(audio_rep[:100]).shape == (0, 187, 96)


def test_top_tags_are_the_most_likely_on_average():
    tags = np.zeros((2, 50))
    tags[:, 9], tags[0, 0], tags[1, 0] = 0.9, 0.8, 0.2  # jazz, then rock on average 0.5
    assert musicnn.top_tags(tags, k=2) == [("jazz", pytest.approx(0.9)), ("rock", pytest.approx(0.5))]


def test_the_library_never_imports_musicnns_code():
    tree = ast.parse((REPO / "genre" / "data" / "musicnn.py").read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not {m for m in imported if m.split(".")[0] == "musicnn"}


def test_musicnns_input_is_computed_without_librosa():
    """The Features page draws it in the app's server: librosa's melspectrogram and resample would cost that
    process ~190 MB of imports (numba) it never gives back."""
    code = ("import sys, numpy as np; from genre.data import musicnn; "
            "m = musicnn.log_mel(np.ones(22050 * 4, np.float32) * 0.1, 22050); assert m.shape == (251, 96), m.shape; "
            "assert not [n for n in sys.modules if n.split('.')[0] in ('librosa', 'numba')], 'imported'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert done.returncode == 0, done.stderr
