"""The per-row int8 rewrite: same answer alone and in a batch, close to fp32, exact on zeros."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from models.classifiers.finetune import MeanPoolingClassifier
from models.classifiers.finetune_runtime import texts_per_call
from models.classifiers.onnx_export import export_network
from models.classifiers.onnx_quantize import ACTIVATIONS, WEIGHT_LEVELS, quantize_int8
from models.classifiers.onnx_runner import OnnxLogits


@pytest.fixture(scope="module")
def graphs(
    tmp_path_factory: pytest.TempPathFactory, tiny_network: Callable[[], MeanPoolingClassifier]
) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("quantise")
    fp32 = export_network(tiny_network(), folder / "fp32.onnx")
    return fp32, quantize_int8(fp32, folder / "int8.onnx")


def _sequences() -> list[list[int]]:
    rng = np.random.default_rng(0)
    return [rng.integers(1, 50, size=n).tolist() for n in (1, 5, 9, 2, 30, 17, 4, 12)]


def test_every_constant_weight_matmul_becomes_an_integer_one(graphs: tuple[Path, Path]) -> None:
    fp32, int8 = (onnx.load(str(path)) for path in graphs)
    weights = {tensor.name for tensor in fp32.graph.initializer}
    float_matmuls = [n for n in fp32.graph.node if n.op_type == "MatMul" and n.input[1] in weights]
    assert len(float_matmuls) >= 12  # 2 layers: q, k, v, out, up, down (+ the head)
    left = [n for n in int8.graph.node if n.op_type == "MatMul" and n.input[1] in weights]
    integer = [n for n in int8.graph.node if n.op_type == "MatMulInteger"]
    assert left == [] and len(integer) == len(float_matmuls)
    stored = {t.name: numpy_helper.to_array(t) for t in int8.graph.initializer}
    quantised = [stored[n.input[1]] for n in integer]
    assert all(w.dtype == np.int8 and np.abs(w).max() <= WEIGHT_LEVELS for w in quantised)


def test_a_text_gets_the_same_logits_alone_and_in_any_batch(graphs: tuple[Path, Path]) -> None:
    sequences = _sequences()
    alone = OnnxLogits(graphs[1], batch_size=1)(sequences, pad_id=0)
    for batch_size in (3, 8):
        batched = OnnxLogits(graphs[1], batch_size=batch_size)(sequences, pad_id=0)
        np.testing.assert_allclose(batched, alone, atol=1e-5)


def test_the_int8_graph_follows_the_fp32_one(graphs: tuple[Path, Path]) -> None:
    sequences = _sequences()
    fp32 = OnnxLogits(graphs[0], batch_size=8)(sequences, pad_id=0)
    int8 = OnnxLogits(graphs[1], batch_size=8)(sequences, pad_id=0)
    assert not np.allclose(int8, fp32, atol=1e-6)  # it did quantise
    assert np.abs(int8 - fp32).max() < 0.05 * np.abs(fp32).max()


def test_rows_of_zeros_and_large_values_are_quantised_exactly_enough(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    weight = rng.normal(size=(16, 4)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "matmul",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "rows", 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "rows", 4])],
        [numpy_helper.from_array(weight, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, str(tmp_path / "fp32.onnx"))
    quantize_int8(tmp_path / "fp32.onnx", tmp_path / "int8.onnx")
    import onnxruntime as ort

    session = ort.InferenceSession(str(tmp_path / "int8.onnx"), providers=["CPUExecutionProvider"])
    x = rng.normal(size=(2, 3, 16)).astype(np.float32)
    x[0, 1] = 0.0  # a padding-like row: no division by a zero scale
    x[1, 2] *= 1e4  # a row a thousand times larger does not coarsen its neighbours
    (y,) = session.run(None, {"x": x})
    expected = x @ weight
    assert np.isfinite(y).all() and np.all(y[0, 1] == 0.0)
    for row in ((0, 0), (0, 2), (1, 0), (1, 1), (1, 2)):
        scale = np.abs(expected[row]).max()
        assert np.abs(y[row] - expected[row]).max() < 0.03 * scale


def test_graphs_quantised_per_call_are_still_run_one_text_per_call() -> None:
    assert texts_per_call({"engine": "onnx", "precision": "int8"}) == 1  # saved before per-row
    assert texts_per_call({"engine": "onnx", "precision": "int8", "activations": ACTIVATIONS}) > 1
    assert texts_per_call({"engine": "onnx", "precision": "fp32"}) > 1
