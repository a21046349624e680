"""The independent reference for tests/test_musicnn.py: musicnn's ORIGINAL graph (the wheel's ``.meta``), pruned to
its inference sub-graph (the training part no longer imports in TensorFlow 2), its variables made constants from
the checkpoint, run in graph mode; beside it, the Keras 3 port under this process's ``KERAS_BACKEND``.

    python tests/musicnn_reference.py OUT.npz     # writes ref_<output>, port_<output> and the patches
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from genre.data import musicnn  # noqa: E402

OUTPUTS = {"tags": "model/Sigmoid", "penultimate": "model/batch_normalization_10/batchnorm/add_1",
           "mean_pool": "model/moments/mean", "max_pool": "model/Max"}


def reference(x: np.ndarray) -> dict:
    import tensorflow as tf
    from tensorflow.core.protobuf import meta_graph_pb2

    root = musicnn.checkpoint()
    meta = meta_graph_pb2.MetaGraphDef()
    meta.ParseFromString((root / ".meta").read_bytes())
    sub = tf.compat.v1.graph_util.extract_sub_graph(meta.graph_def, list(OUTPUTS.values()))
    reader = tf.compat.v1.train.NewCheckpointReader(f"{root}/")
    graph_def = tf.compat.v1.GraphDef()
    for node in sub.node:
        copy = graph_def.node.add()
        if node.op in ("VariableV2", "Variable"):
            copy.name, copy.op = node.name, "Const"
            copy.attr["dtype"].type = tf.float32.as_datatype_enum
            copy.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(reader.get_tensor(node.name)))
        else:
            copy.CopyFrom(node)
            if "_output_shapes" in copy.attr:
                del copy.attr["_output_shapes"]
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.import_graph_def(graph_def, name="")
        with tf.compat.v1.Session(graph=graph) as session:
            values = session.run([f"{name}:0" for name in OUTPUTS.values()],
                                 {"model/Placeholder:0": x, "model/Placeholder_2:0": False})  # is_training
    return {k: v.reshape(len(x), -1) for k, v in zip(OUTPUTS, values)}


def audio(seconds: float = 7.0, sr: int = 44100, level: float = 0.1) -> tuple[np.ndarray, int]:
    """Real-looking audio: two detuned tones, noise and clicks, at 44.1 kHz; ``level`` scales it (at 0.1 no mel
    bin reaches the original's float16 overflow, so the original's input is ours)."""
    rng = np.random.default_rng(0)
    t = np.arange(int(sr * seconds)) / sr
    y = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.2 * np.sin(2 * np.pi * 660 * t * (1 + 0.01 * np.sin(t)))
    y = y + 0.05 * rng.normal(size=t.size)
    y[:: sr // 4] += 0.8
    return (level * y).astype(np.float32), sr


if __name__ == "__main__":
    import tempfile
    from pathlib import Path

    y, sr = audio()
    x = musicnn.patches(musicnn.log_mel(y, sr))
    ref = reference(x)
    model = musicnn.load(Path(tempfile.mkdtemp()) / "w.npz")
    port = {k: np.asarray(v).reshape(len(x), -1) for k, v in model.predict(x, verbose=0).items()}
    np.savez(sys.argv[1], x=x, params=model.count_params(), **{f"ref_{k}": v for k, v in ref.items()},
             **{f"port_{k}": v for k, v in port.items()})
