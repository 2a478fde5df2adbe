"""CPU cost of ``text.classify()`` for classifiers of the size of public injection models.

    .venv/bin/python bench/injection/classify_cost.py [--threads 1] [--runs 5]

No model is downloaded: the cost of a transformer encoder on CPU depends on its shape (layers,
hidden size, feed-forward size, sequence length), not on its trained weights, so this builds
BERT-shaped ONNX encoders with random weights (``onnx.helper``) in the shapes of:

* **22M class**: Prompt Guard 2 22M (DeBERTa-v3-xsmall: 12 layers, hidden 384, FFN 1536);
* **86M class**: Prompt Guard 2 86M (mDeBERTa-v3-base: 12 layers, hidden 768, FFN 3072) and
  the DeBERTa-v3-base injection classifiers (same encoder, smaller vocabulary);

and times one check (batch 1, CPU time of the calling thread: ONNX Runtime with one intra-op
thread runs there, and CPU time does not count other jobs on a shared machine) at 64, 128 and
512 tokens through ONNX Runtime on the CPU, the
way ``classify`` runs it. DeBERTa's disentangled attention adds two position projections per
layer, so a real DeBERTa costs somewhat more than the BERT shape here (more so at 512 tokens).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

SHAPES = {"22M class (xsmall)": (12, 384, 1536, 6), "86M class (base)": (12, 768, 3072, 12)}


def encoder(layers: int, hidden: int, ffn: int, heads: int, vocab: int = 32000) -> onnx.ModelProto:
    rng = np.random.default_rng(0)
    inits: list[onnx.TensorProto] = []
    nodes: list[onnx.NodeProto] = []

    def w(name: str, *shape: int) -> str:
        inits.append(numpy_helper.from_array((rng.standard_normal(shape) * 0.02).astype(np.float32), name))
        return name

    def c(name: str, arr: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(arr, name))
        return name

    dh = hidden // heads
    c("split_shape", np.array([0, 0, heads, dh], dtype=np.int64))
    c("merge_shape", np.array([0, 0, hidden], dtype=np.int64))
    c("scale", np.array(1.0 / np.sqrt(dh), dtype=np.float32))
    c("gamma", np.ones(hidden, dtype=np.float32))
    c("beta", np.zeros(hidden, dtype=np.float32))
    nodes.append(helper.make_node("Gather", [w("emb", vocab, hidden), "input_ids"], ["x0"]))
    x = "x0"
    for i in range(layers):
        p = f"l{i}_"
        for n in "qkv":
            nodes.append(helper.make_node("MatMul", [x, w(p + "w" + n, hidden, hidden)], [p + n]))
            nodes.append(helper.make_node("Reshape", [p + n, "split_shape"], [p + n + "r"]))
        nodes.append(helper.make_node("Transpose", [p + "qr"], [p + "qt"], perm=[0, 2, 1, 3]))
        nodes.append(helper.make_node("Transpose", [p + "kr"], [p + "kt"], perm=[0, 2, 3, 1]))
        nodes.append(helper.make_node("Transpose", [p + "vr"], [p + "vt"], perm=[0, 2, 1, 3]))
        nodes.append(helper.make_node("MatMul", [p + "qt", p + "kt"], [p + "s"]))
        nodes.append(helper.make_node("Mul", [p + "s", "scale"], [p + "ss"]))
        nodes.append(helper.make_node("Softmax", [p + "ss"], [p + "a"], axis=-1))
        nodes.append(helper.make_node("MatMul", [p + "a", p + "vt"], [p + "o"]))
        nodes.append(helper.make_node("Transpose", [p + "o"], [p + "ot"], perm=[0, 2, 1, 3]))
        nodes.append(helper.make_node("Reshape", [p + "ot", "merge_shape"], [p + "om"]))
        nodes.append(helper.make_node("MatMul", [p + "om", w(p + "wo", hidden, hidden)], [p + "proj"]))
        nodes.append(helper.make_node("Add", [p + "proj", x], [p + "res1"]))
        nodes.append(helper.make_node("LayerNormalization", [p + "res1", "gamma", "beta"], [p + "n1"], axis=-1))
        nodes.append(helper.make_node("MatMul", [p + "n1", w(p + "w1", hidden, ffn)], [p + "h"]))
        nodes.append(helper.make_node("Relu", [p + "h"], [p + "hr"]))
        nodes.append(helper.make_node("MatMul", [p + "hr", w(p + "w2", ffn, hidden)], [p + "f"]))
        nodes.append(helper.make_node("Add", [p + "f", p + "n1"], [p + "res2"]))
        nodes.append(helper.make_node("LayerNormalization", [p + "res2", "gamma", "beta"], [p + "out"], axis=-1))
        x = p + "out"
    nodes.append(helper.make_node("ReduceMean", [x], ["pooled"], axes=[1], keepdims=0))
    nodes.append(helper.make_node("MatMul", ["pooled", w("cls", hidden, 2)], ["logits"]))
    graph = helper.make_graph(
        nodes,
        "encoder",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 2])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    print(f"| encoder | params | tokens | CPU ms per check (median of {args.runs}, {args.threads} thread) |")
    print("|---|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as d:
        for label, (layers, hidden, ffn, heads) in SHAPES.items():
            model = encoder(layers, hidden, ffn, heads)
            params = sum(int(np.prod(t.dims)) for t in model.graph.initializer if t.name != "emb")
            path = Path(d) / "m.onnx"
            onnx.save(model, str(path))
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = args.threads
            opts.inter_op_num_threads = 1
            sess = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
            for seq in (64, 128, 512):
                ids = np.random.default_rng(1).integers(0, 32000, (1, seq), dtype=np.int64)
                sess.run(None, {"input_ids": ids})
                times = []
                for _ in range(args.runs):
                    t0 = time.process_time()
                    sess.run(None, {"input_ids": ids})
                    times.append((time.process_time() - t0) * 1000)
                print(f"| {label} | {params / 1e6:.0f}M (w/o embeddings) | {seq} | {statistics.median(times):.1f} |")


if __name__ == "__main__":
    main()
