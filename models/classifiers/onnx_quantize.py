"""int8 quantisation of an exported text network whose answers do not depend on the batch.

ONNX Runtime's dynamic quantisation (`quantize_dynamic`) scales the activations entering each
matrix multiplication by the range of the whole input tensor: every text of a batch and its
padding. A text's answer then depends on the texts beside it (airline sentiment, a fine-tuned
MiniLM: 13 of 800 tweets changed label between alone and in a call of 16, logits by up to 0.68),
so such a graph had to be run one text per call. Here each row (one token of one text) gets its
own scale instead, so a text's logits are the same alone and in any batch (to 1e-6), the graph
can be run on batches, and the rounding follows fp32 more closely (one outlying token no longer
coarsens the scale of all the others).

The rewrite, for every MatMul whose second input is a constant 2-D weight W [K, N]:

    s      = max(|A|, over K) / 127               one scale per row of A
    q      = QuantizeLinear(A, s, zero point 128) uint8, the row's range mapped onto 1..255
    y      = MatMulInteger(q, Wq) * (s x sW)      int32 accumulation, then back to float

with Wq the weights as int8 per output column (`sW`, 7 bits: see `WEIGHT_LEVELS`). Every node
is a standard ONNX operator that ONNX Runtime runs with its integer GEMM.

Measured on the airline champion's fine-tuned MiniLM-L6 (test part, 2,886 tweets, one thread;
answers changed against the fp32 graph, accuracy / macro-F1): fp32 0.8399 / 0.7930; dynamic
per-tensor int8 43 changed, 0.8351 / 0.7870; this graph 25 changed, 0.8375 / 0.7888 (with 8-bit
weights 18, 0.8396 / 0.7929). Speed, length-sorted requests of 64 tweets: dynamic per-tensor
one text per call 292-313 texts/s; this graph in calls of 8, 299-339.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Final

import numpy as np

if TYPE_CHECKING:  # onnx is imported on use: a service loading a graph never needs it
    from onnx import NodeProto, TensorProto

__all__ = ["ACTIVATIONS", "quantize_int8"]

# What the runtime manifest records: graphs quantised before this module scaled activations per
# call and are still run one text per call (see `finetune_runtime.texts_per_call`).
ACTIVATIONS: Final = "per-row"

# Weights use 7 of their 8 bits. On CPUs without VNNI, ONNX Runtime's u8 x s8 kernel adds pairs
# of products in int16: 2 x 255 x 127 overflows it, 2 x 255 x 63 does not. A graph may be served
# on another machine than the one that built it, so it must be exact on both.
WEIGHT_LEVELS: Final = 63
_ACTIVATION_LEVELS: Final = 127  # each side of the zero point
_ZERO_POINT: Final = 128
_TINY_SCALE: Final = 1e-12  # an all-zero row (padding) keeps a finite scale


def quantize_int8(source: Path, out: Path) -> Path:
    """Write `source`'s graph to `out` with its constant-weight MatMuls run in int8 per row."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(source))
    graph = model.graph
    weights = {tensor.name: tensor for tensor in graph.initializer}
    nodes: list[NodeProto] = []
    added: list[TensorProto] = _shared_constants()
    for index, node in enumerate(graph.node):
        weight = weights.get(node.input[1]) if node.op_type == "MatMul" else None
        if weight is None or len(weight.dims) != 2:
            nodes.append(node)
            continue
        prefix = f"rowq{index}_"
        nodes.extend(_int8_matmul(node, numpy_helper.to_array(weight), prefix, added))
    del graph.node[:]
    graph.node.extend(nodes)
    used = {name for node in graph.node for name in node.input}
    kept = [tensor for tensor in graph.initializer if tensor.name in used]
    del graph.initializer[:]
    graph.initializer.extend([*kept, *added])
    onnx.checker.check_model(model)
    onnx.save(model, str(out))
    return out


def _shared_constants() -> list[TensorProto]:
    from onnx import numpy_helper

    return [
        numpy_helper.from_array(np.array(1 / _ACTIVATION_LEVELS, np.float32), "rowq_inv_levels"),
        numpy_helper.from_array(np.array(_TINY_SCALE, np.float32), "rowq_tiny"),
        numpy_helper.from_array(np.array(_ZERO_POINT, np.uint8), "rowq_zero_point"),
        numpy_helper.from_array(np.array(0, np.int8), "rowq_weight_zero_point"),
        numpy_helper.from_array(np.array([0], np.int64), "rowq_first"),
        numpy_helper.from_array(np.array([-1], np.int64), "rowq_last"),
    ]


def _int8_matmul(
    node: NodeProto, weight: np.ndarray, prefix: str, added: list[TensorProto]
) -> list[NodeProto]:
    """The nodes computing `node` (A @ W) in int8 with one activation scale per row of A."""
    from onnx import TensorProto as Tensor
    from onnx import helper, numpy_helper

    weight = weight.astype(np.float32)
    k, n = weight.shape
    column_scale = np.maximum(np.abs(weight).max(axis=0), _TINY_SCALE) / WEIGHT_LEVELS
    quantised = np.clip(np.round(weight / column_scale), -WEIGHT_LEVELS, WEIGHT_LEVELS)
    added += [
        numpy_helper.from_array(quantised.astype(np.int8), prefix + "weight"),
        numpy_helper.from_array(column_scale.astype(np.float32), prefix + "weight_scale"),
        numpy_helper.from_array(np.array([-1, k], np.int64), prefix + "rows_shape"),
        numpy_helper.from_array(np.array([n], np.int64), prefix + "columns"),
    ]
    zero_points = helper.make_tensor("value", Tensor.UINT8, [1], [_ZERO_POINT])
    source, p = node.input[0], prefix
    return [
        # A as rows [..., K] -> [M, K]: QuantizeLinear scales along one axis only.
        helper.make_node("Shape", [source], [p + "shape"]),
        helper.make_node("Reshape", [source, p + "rows_shape"], [p + "rows"]),
        helper.make_node("Abs", [p + "rows"], [p + "abs"]),
        helper.make_node("ReduceMax", [p + "abs"], [p + "max"], axes=[1], keepdims=0),
        helper.make_node("Mul", [p + "max", "rowq_inv_levels"], [p + "raw_scale"]),
        helper.make_node("Max", [p + "raw_scale", "rowq_tiny"], [p + "scale"]),
        helper.make_node("Shape", [p + "scale"], [p + "scale_shape"]),
        helper.make_node("ConstantOfShape", [p + "scale_shape"], [p + "zero"], value=zero_points),
        helper.make_node(
            "QuantizeLinear", [p + "rows", p + "scale", p + "zero"], [p + "q"], axis=0
        ),
        helper.make_node(
            "MatMulInteger",
            [p + "q", p + "weight", "rowq_zero_point", "rowq_weight_zero_point"],
            [p + "int32"],
        ),
        helper.make_node("Cast", [p + "int32"], [p + "float"], to=Tensor.FLOAT),
        helper.make_node("Mul", [p + "float", p + "weight_scale"], [p + "by_column"]),
        helper.make_node("Unsqueeze", [p + "scale", "rowq_last"], [p + "row_scale"]),
        helper.make_node("Mul", [p + "by_column", p + "row_scale"], [p + "product"]),
        # Back to A's leading dimensions with N columns.
        helper.make_node("Slice", [p + "shape", "rowq_first", "rowq_last"], [p + "leading"]),
        helper.make_node("Concat", [p + "leading", p + "columns"], [p + "out_shape"], axis=0),
        helper.make_node("Reshape", [p + "product", p + "out_shape"], [node.output[0]]),
    ]
