"""What a model costs to classify one image: inference parameters and FLOPs, for chapter 7.

A fair comparison matches models on the weights they use at test time and on the arithmetic
of one forward pass. Two things make that less obvious than ``model.count_params()``:

* a CapsNet carries a decoder that only serves the reconstruction loss during training; it
  is never run to classify, so :func:`inference_parameters` leaves it out (a CapsNet here is
  any model with a ``decoder`` and a decoder-free way to score classes, ``class_scores``);
* FLOPs are counted by TensorFlow's own profiler (``tf.compat.v1.profiler`` with
  ``ProfileOptionBuilder.float_operation()``) on the graph of a ``tf.function`` traced for
  one image, so routing iterations, the predictions ``u_hat = W u`` and the p4-CNN's four
  rotated copies of each filter are all counted from the operations that really run.

The profiler's convention, checked by the tests: a multiply-add counts as **2** FLOPs in
``Conv2D``, ``DepthwiseConv2dNative``, ``MatMul`` and ``BatchMatMul`` (a convolution costs
``2 k k c_in c_out h_out w_out``, a dense layer ``2 n_in n_out``); a bias add, an
element-wise add, multiply or divide and a softmax cost one or a few FLOPs per element; a
max pooling costs one per window element; ReLU, square roots, reductions by maximum and data
movement (reshape, transpose, padding, rotating filters) cost none. Operations of any other
kind make :func:`flops_per_image` raise rather than silently count them as zero.

>>> import keras
>>> model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, use_bias=False)])
>>> inference_parameters(model), flops_per_image(model, (8, 8, 1))  # 2 * 3 * 3 * 1 * 4 * 6 * 6
(36, 2592)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import keras
import pandas as pd
import tensorflow as tf
from tensorflow.python.framework import ops as tf_ops

__all__ = ["COLUMNS", "cost_table", "flops_per_image", "inference_parameters"]

COLUMNS = ("inference parameters", "all parameters", "FLOPs per image (millions)")

# Operation types the profiler gives no FLOP count for and that we accept as costing (nearly)
# nothing: data movement, shapes, variable reads, and cheap element-wise functions.
_FREE_OPS = frozenset({
    # graph plumbing and variables
    "Placeholder", "Const", "Identity", "IdentityN", "NoOp", "ReadVariableOp", "StopGradient",
    # data movement and shapes
    "Reshape", "Squeeze", "ExpandDims", "Transpose", "StridedSlice", "Slice", "Pack", "Unpack",
    "ConcatV2", "Split", "SplitV", "Fill", "Range", "Shape", "Cast", "ZerosLike", "OnesLike",
    "Tile", "GatherV2", "OneHot", "Pad", "PadV2", "MirrorPad", "ReverseV2", "Roll",
    # element-wise functions and reductions by comparison
    "Relu", "Relu6", "Elu", "Selu", "LeakyRelu", "Sigmoid", "Tanh", "Softplus", "Exp", "Sqrt",
    "Abs", "Sign", "Max", "Min", "Select", "SelectV2",
})


def _check_model(model: Any, caller: str) -> None:
    """Raise ``TypeError`` unless ``model`` is a Keras model, ``ValueError`` unless it is built."""
    if not isinstance(model, keras.Model):
        raise TypeError(f"{caller}: expected a keras.Model, got {type(model).__name__}.")
    if not model.built:
        raise ValueError(
            f"{caller}: model {model.name!r} is not built (it has no weights yet); "
            "call it once on a batch of images first."
        )


def _decoder_free_scores(model: keras.Model) -> Callable[[Any], Any] | None:
    """The CapsNet's ``images -> class scores`` without the decoder, or ``None`` for other models."""
    if not isinstance(getattr(model, "decoder", None), keras.layers.Layer):
        return None
    scores = getattr(model, "class_scores", None)
    return scores if callable(scores) else None


def _classifier(model: keras.Model) -> Callable[[Any], Any]:
    """``images -> class scores`` as the model computes them at test time."""
    scores = _decoder_free_scores(model)
    if scores is not None:
        return scores
    return lambda images: model(images, training=False)


def _size(shape: Sequence[int]) -> int:
    """The number of elements of a tensor of ``shape``."""
    n = 1
    for d in shape:
        n *= int(d)
    return n


def _size_sum(weights: Sequence[Any]) -> int:
    """The number of scalars in ``weights``, each variable counted once."""
    seen: set[int] = set()
    total = 0
    for w in weights:
        if id(w) not in seen:
            seen.add(id(w))
            total += _size(w.shape)
    return total


def inference_parameters(model: keras.Model) -> int:
    """The number of parameters used to classify an image.

    For a CapsNet (a model with a ``decoder`` and ``class_scores``) every weight except the decoder's, which only serves the
    reconstruction loss in training. For any other model every weight, trainable or not: the
    moving mean and variance of batch normalisation are used by every test-time forward pass,
    so they count as inference weights (``model.count_params()`` counts them too). Fixed
    filters that are not weights (the binomial filter of ``BlurPool2D``) do not count. Weights
    shared by two layers count once.

    Args:
        model: a built ``keras.Model``.

    Returns:
        The number of scalar weights, an ``int``.

    Raises:
        TypeError: ``model`` is not a ``keras.Model``.
        ValueError: the model is not built.

    >>> import keras
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2), keras.layers.BatchNormalization()])
    >>> inference_parameters(model)  # 3 * 2 + 2, then 4 per feature of batch norm
    16
    """
    _check_model(model, "inference_parameters")
    weights = model.weights
    if _decoder_free_scores(model) is not None:
        decoder_ids = {id(w) for w in model.decoder.weights}
        weights = [w for w in weights if id(w) not in decoder_ids]
    return _size_sum(weights)


def _check_input_shape(input_shape: Any) -> tuple[int, ...]:
    """``input_shape`` as a tuple of positive ints, else ``ValueError``."""
    shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else None
    if (
        not shape
        or any(isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in shape)
    ):
        raise ValueError(
            "flops_per_image: input_shape must be the shape of one image without the batch axis, "
            f"a non-empty tuple of positive ints such as (40, 40, 1), got {input_shape!r}."
        )
    return shape


def _check_declared_input(model: keras.Model, shape: tuple[int, ...]) -> None:
    """Raise ``ValueError`` if a model with one declared input expects another image shape.

    Keras would otherwise quietly add or drop a trailing axis of size 1 to make it fit.
    """
    inputs = getattr(model, "inputs", None) or []
    if len(inputs) != 1:
        return
    declared = tuple(inputs[0].shape)[1:]
    if len(declared) != len(shape) or any(d is not None and d != s for d, s in zip(declared, shape)):
        raise ValueError(
            f"flops_per_image: model {model.name!r} expects images of shape {declared}, "
            f"got input_shape {shape}."
        )


def _reason(err: Exception) -> str:
    """The error's own message, without the traced call stack, colour codes and arguments."""
    lines = [line.strip() for line in re.sub(r"\x1b\[[0-9;]*m", "", str(err)).splitlines() if line.strip()]
    start = max((i for i, line in enumerate(lines) if re.match(r"\w+(Error|Exception)\b", line)), default=0)
    return " ".join(line for line in lines[start:] if not line.startswith(("\u2022", "Arguments received")))


def _trace(model: keras.Model, shape: tuple[int, ...]) -> tf.Graph:
    """The graph of the model's test-time class scores for a batch of one image of ``shape``."""
    _check_declared_input(model, shape)
    spec = tf.TensorSpec((1, *shape), tf.float32)
    try:
        return tf.function(_classifier(model)).get_concrete_function(spec).graph
    except (ValueError, TypeError, tf.errors.InvalidArgumentError) as err:
        raise ValueError(
            f"flops_per_image: model {model.name!r} does not accept images of shape {(1, *shape)}: {_reason(err)}"
        ) from err


def _check_countable(graph: tf.Graph, model_name: str) -> None:
    """Raise ``ValueError`` if the profiler would silently count an operation of ``graph`` as 0."""
    unknown, unshaped = set(), set()
    for op in graph.get_operations():
        try:
            counted = tf_ops.get_stats_for_node_def(graph, op.node_def, "flops").value is not None
        except ValueError:  # the profiler skips an operation whose shapes are not fully known
            unshaped.add(op.type)
            continue
        if not counted and op.type not in _FREE_OPS:
            unknown.add(op.type)
    if unknown:
        raise ValueError(
            f"flops_per_image: TensorFlow's profiler has no FLOP count for the operation type(s) "
            f"{sorted(unknown)} in model {model_name!r}; counting them as 0 would understate its cost."
        )
    if unshaped:
        raise ValueError(
            f"flops_per_image: operation type(s) {sorted(unshaped)} in model {model_name!r} have "
            "shapes that are not fully known for one image, so the profiler cannot count them."
        )


def flops_per_image(model: keras.Model, input_shape: Sequence[int]) -> int:
    """Floating-point operations of one test-time forward pass that classifies one image.

    The model's class scores are traced as a ``tf.function`` for a batch of one image and the
    graph is counted by ``tf.compat.v1.profiler`` with
    ``ProfileOptionBuilder.float_operation()``. For a CapsNet (see
    :func:`inference_parameters`) that is Conv1, the primary capsules (convolution and squash),
    the predictions ``u_hat = W u``, every routing iteration and the capsule lengths, not the
    decoder; for other models ``model(images, training=False)`` (batch norm with its moving
    statistics, no dropout).

    Convention (TensorFlow's): a multiply-add is 2 FLOPs, so a ``Conv2D`` costs
    ``2 k k c_in c_out h_out w_out`` and a ``Dense`` layer ``2 n_in n_out``, plus one per output
    for a bias; ReLU, square roots and data movement cost 0 (see the module docstring).

    Shape: ``input_shape = (h, w, c)``, one image without the batch axis.

    Args:
        model: a built ``keras.Model``.
        input_shape: the shape of one image, e.g. ``(40, 40, 1)``.

    Returns:
        The FLOPs of one image, an ``int``.

    Raises:
        TypeError: ``model`` is not a ``keras.Model``.
        ValueError: the model is not built; ``input_shape`` is not a tuple of positive ints; the
            model does not accept images of that shape; or its graph holds an operation the
            profiler cannot count (a type it has no FLOP count for, or unknown shapes).

    >>> import keras
    >>> model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3)])
    >>> flops_per_image(model, (5,))  # 2 * 5 * 3 for the product, 3 for the bias
    33
    """
    _check_model(model, "flops_per_image")
    graph = _trace(model, _check_input_shape(input_shape))
    _check_countable(graph, model.name)
    builder = tf.compat.v1.profiler.ProfileOptionBuilder
    options = builder(builder.float_operation()).with_empty_output().build()
    return int(tf.compat.v1.profiler.profile(graph=graph, options=options).total_float_ops)


def cost_table(models: Mapping[str, keras.Model], input_shape: Sequence[int]) -> pd.DataFrame:
    """Inference parameters, all parameters and FLOPs per image of each model, one row each.

    Shape: ``{name: model}`` -> a frame indexed by name with the columns :data:`COLUMNS`
    (``"inference parameters"``, ``"all parameters"``, ``"FLOPs per image (millions)"``).

    Args:
        models: built models by name, in the order the rows should have.
        input_shape: the shape of one image, e.g. ``(40, 40, 1)``.

    Returns:
        A ``pandas.DataFrame``; parameters are ints, FLOPs a float in millions.

    Raises:
        ValueError: ``models`` is empty, or as :func:`flops_per_image` (the message names the
            model).
        TypeError: a value is not a ``keras.Model``.

    >>> import keras
    >>> dense = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3)])
    >>> cost_table({"dense": dense}, (5,)).shape
    (1, 3)
    """
    if not models:
        raise ValueError("cost_table: expected at least one model, got an empty mapping.")
    rows = {}
    for name, model in models.items():
        if not isinstance(model, keras.Model):
            raise TypeError(f"cost_table: models[{name!r}] is a {type(model).__name__}, not a keras.Model.")
        rows[name] = (
            inference_parameters(model),
            _size_sum(model.weights),
            flops_per_image(model, input_shape) / 1e6,
        )
    return pd.DataFrame.from_dict(rows, orient="index", columns=list(COLUMNS))
