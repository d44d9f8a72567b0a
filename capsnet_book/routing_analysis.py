"""What dynamic routing does inside a trained CapsNet: measures of the coupling coefficients.

Routing by agreement is meant to send each primary capsule's vote to the digit capsule its
prediction agrees with. Whether it does in a trained network is a measurement:

* :func:`normalized_entropy` of each input capsule's coupling distribution: 1 when it is
  uniform over the outputs (routing did nothing), 0 when all of it goes to one output;
* :func:`coupling_summary` averages that, and the largest coupling ``max_j c_ij``, over the
  input capsules weighted by their influence on the outputs, the length of their predictions
  (:func:`prediction_lengths`; a capsule whose predictions are short hardly moves any ``s_j``);
* :func:`agreement_spread` is the reason: how far apart the agreements ``u_hat_ij . v_j``
  of one input capsule are across the outputs; the softmax only moves when they differ by
  about 1 or more;
* :func:`routing_report` does all of it for a :class:`~capsnet_book.capsnet.CapsNet` and a
  batch of images, for any number of iterations and logit scale.

What routing changes where it matters, at the output, with the same trained weights:

* :func:`class_margin` (the true class's length minus the longest other) and
  :func:`output_effect` (prediction flips, change of the true length and of the margin between
  two routings);
* :func:`routed_lengths` routes many images in batches, several ways at once;
* :func:`coherent_minority` builds predictions where routing must change the winner, the positive
  control of the measures above.

And a routing variant of the authors' released code, a learned bias on ``s_j``:
:class:`BiasedRoutedCapsules` and :func:`build_capsnet_with_bias`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import keras
from keras import ops

from capsnet_book.capsnet import CapsNet, _config
from capsnet_book.capsules import Routing, RoutedCapsules, _predictions_by_output, routing_history, squash

__all__ = [
    "BiasedRoutedCapsules",
    "agreement_spread",
    "build_capsnet_with_bias",
    "class_margin",
    "coherent_minority",
    "coupling_summary",
    "normalized_entropy",
    "output_effect",
    "prediction_lengths",
    "routed_lengths",
    "routing_report",
]


def _check_coupling(c: np.ndarray) -> np.ndarray:
    c = np.asarray(c, dtype=np.float64)
    if c.ndim != 3:
        raise ValueError(f"expected coupling coefficients of rank 3 [batch, n_in, n_out], got shape {c.shape}.")
    if not np.allclose(c.sum(axis=-1), 1.0, atol=1e-4):
        raise ValueError("coupling coefficients must sum to 1 over the outputs (the last axis): "
                         "pass c from dynamic_routing, not the logits or a transposed array.")
    return c


def normalized_entropy(c: Any) -> np.ndarray:
    """Entropy of each input capsule's coupling over the outputs, divided by ``log(n_out)``.

    Shape: ``c: [batch, n_in, n_out] -> [batch, n_in]``, each value in [0, 1].

    >>> normalized_entropy(np.full((1, 2, 4), 0.25)).round(3).tolist()
    [[1.0, 1.0]]
    """
    c = _check_coupling(c)
    entropy = -np.sum(c * np.log(np.clip(c, 1e-12, None)), axis=-1)
    return entropy / np.log(c.shape[-1])


def prediction_lengths(u_hat: Any) -> np.ndarray:
    """Each input capsule's influence on the outputs: the mean length of its predictions.

    Input capsule i adds ``c_ij u_hat_j|i`` to ``s_j``, so how much its coupling matters depends
    on ``||u_hat_j|i||``, not on the length of ``u_i`` itself (``W_ij`` can make a long capsule's
    predictions short and a short one's long).

    Shape: ``u_hat: [batch, n_in, n_out, dim] -> [batch, n_in]``.

    >>> prediction_lengths(np.ones((2, 3, 10, 4))).shape
    (2, 3)
    """
    u_hat = np.asarray(u_hat, dtype=np.float64)
    if u_hat.ndim != 4:
        raise ValueError(f"expected u_hat of rank 4 [batch, n_in, n_out, dim], got shape {u_hat.shape}.")
    return np.linalg.norm(u_hat, axis=-1).mean(axis=-1)


def coupling_summary(c: Any, weights: Any) -> dict[str, float]:
    """Weighted means of the normalized entropy and of the largest coupling.

    Args:
        c: coupling coefficients ``[batch, n_in, n_out]``.
        weights: ``[batch, n_in]``, the weight of each input capsule in the average: the
            length of its predictions (:func:`prediction_lengths`, its influence on the outputs)
            or of the capsule itself.

    Returns:
        ``{"entropy": ..., "max_coupling": ..., "uniform_max_coupling": 1 / n_out}``.

    Raises:
        ValueError: wrong ranks or shapes, or ``c`` does not sum to 1 over the outputs.
    """
    c = _check_coupling(c)
    weights = np.asarray(weights, dtype=np.float64)
    if weights.shape != c.shape[:2]:
        raise ValueError(f"weights must have shape {c.shape[:2]} (batch, n_in), got {weights.shape}.")
    weights = weights / weights.sum()
    return {
        "entropy": float(np.sum(weights * normalized_entropy(c))),
        "max_coupling": float(np.sum(weights * c.max(axis=-1))),
        "uniform_max_coupling": 1.0 / c.shape[-1],
    }


def agreement_spread(u_hat: Any, v: Any) -> np.ndarray:
    """For each input capsule, the range over outputs of its agreements ``u_hat_ij . v_j``.

    After the first iteration the routing logits are exactly these agreements, so
    ``exp(spread)`` bounds the ratio of its largest to its smallest coupling coefficient.

    Shape: ``u_hat: [batch, n_in, n_out, dim], v: [batch, n_out, dim] -> [batch, n_in]``.
    """
    u_hat, v = np.asarray(u_hat), np.asarray(v)
    if u_hat.ndim != 4 or v.ndim != 3 or u_hat.shape[2:] != v.shape[1:]:
        raise ValueError(f"expected u_hat [batch, n_in, n_out, dim] and v [batch, n_out, dim], "
                         f"got shapes {u_hat.shape} and {v.shape}.")
    agreement = np.einsum("bijd,bjd->bij", u_hat, v)
    return agreement.max(axis=-1) - agreement.min(axis=-1)


def routing_report(model: Any, images: np.ndarray, routing: Routing | None = None) -> dict[str, Any]:
    """Route ``images`` through a trained CapsNet and measure the coupling at every iteration.

    Args:
        model: a :class:`~capsnet_book.capsnet.CapsNet` (anything with ``conv1``,
            ``primary_caps`` and ``digit_caps``).
        images: ``[batch, H, W, 1]``.
        routing: the routing to use (default: the model's own).

    Returns:
        ``per_iteration``: a :func:`coupling_summary` for each iteration's ``c``, weighted by
        the length of each input capsule's predictions (:func:`prediction_lengths`);
        ``per_iteration_by_input_length``: the same weighted by ``||u_i||``;
        ``lengths``: the digit-capsule lengths ``[batch, n_out]`` after the last iteration;
        ``coupling``: the last ``c [batch, n_in, n_out]``; ``input_lengths`` and
        ``prediction_lengths`` ``[batch, n_in]``;
        ``agreement_spread``: :func:`agreement_spread` after the first iteration ``[batch, n_in]``.
    """
    routing = routing or model.digit_caps.routing
    primary = model.primary_caps(model.conv1(images))
    u_hat = ops.convert_to_numpy(model.digit_caps.predictions(primary))
    history = routing_history(u_hat, routing.iterations, logit_scale=routing.logit_scale)
    if isinstance(model.digit_caps, BiasedRoutedCapsules):  # the history above has no bias: route again
        history = model.digit_caps.route_history(primary, routing)
    v, c = model.digit_caps.route(primary, routing)
    input_lengths = np.linalg.norm(ops.convert_to_numpy(primary), axis=-1)
    influence = prediction_lengths(u_hat)
    first_v, _ = model.digit_caps.route(primary, Routing(1))
    steps = [ops.convert_to_numpy(step) for step in history]
    return {
        "per_iteration": [coupling_summary(step, influence) for step in steps],
        "per_iteration_by_input_length": [coupling_summary(step, input_lengths) for step in steps],
        "lengths": np.linalg.norm(ops.convert_to_numpy(v), axis=-1),
        "coupling": ops.convert_to_numpy(c),
        "input_lengths": input_lengths,
        "prediction_lengths": influence,
        "agreement_spread": agreement_spread(u_hat, ops.convert_to_numpy(first_v)),
    }


def class_margin(lengths: Any, labels: Any) -> np.ndarray:
    """The true class's capsule length minus the longest other: positive where the digit is right.

    Shape: ``lengths: [batch, n_classes], labels: [batch] (ints) -> [batch]``.

    >>> class_margin(np.array([[0.9, 0.2, 0.4]]), np.array([0])).round(2).tolist()
    [0.5]
    """
    lengths = np.asarray(lengths, dtype=np.float64)
    labels = np.asarray(labels)
    if lengths.ndim != 2 or labels.shape != lengths.shape[:1]:
        raise ValueError(f"expected lengths [batch, n_classes] and labels [batch], got shapes "
                         f"{lengths.shape} and {labels.shape}.")
    rows = np.arange(len(labels))
    true = lengths[rows, labels]
    others = lengths.copy()
    others[rows, labels] = -np.inf
    return true - others.max(axis=1)


def output_effect(lengths_before: Any, lengths_after: Any, labels: Any) -> dict[str, np.ndarray]:
    """What changing the routing changes at the output, digit by digit (same weights, same digits).

    Returns:
        ``flip``: 1.0 where the predicted class (longest capsule) differs; ``true_length``: the
        change of the true class's length (after minus before); ``margin``: the change of
        :func:`class_margin`; all ``[batch]``.

    >>> before, after = np.array([[0.6, 0.5]]), np.array([[0.4, 0.7]])
    >>> {k: v.round(2).tolist() for k, v in output_effect(before, after, np.array([0])).items()}
    {'flip': [1.0], 'true_length': [-0.2], 'margin': [-0.4]}
    """
    before, after = np.asarray(lengths_before, np.float64), np.asarray(lengths_after, np.float64)
    if before.shape != after.shape:
        raise ValueError(f"the two routings' lengths differ in shape: {before.shape} and {after.shape}.")
    rows, labels = np.arange(len(before)), np.asarray(labels)
    return {
        "flip": (before.argmax(axis=1) != after.argmax(axis=1)).astype(float),
        "true_length": after[rows, labels] - before[rows, labels],
        "margin": class_margin(after, labels) - class_margin(before, labels),
    }


def routed_lengths(model: Any, images: np.ndarray, routings: dict[str, Routing],
                   batch_size: int = 500) -> dict[str, np.ndarray]:
    """The digit-capsule lengths ``[n, n_out]`` of ``images`` under each routing, same weights.

    The primary capsules are computed once per batch and routed every way in ``routings``
    (a name -> :class:`~capsnet_book.capsules.Routing`), so the lengths differ by the routing only.
    """
    out: dict[str, list] = {name: [] for name in routings}
    for start in range(0, len(images), batch_size):
        primary = model.primary_caps(model.conv1(images[start : start + batch_size]))
        for name, routing in routings.items():
            v, _ = model.digit_caps.route(primary, routing)
            out[name].append(np.linalg.norm(ops.convert_to_numpy(v), axis=-1))
    return {name: np.concatenate(parts) for name, parts in out.items()}


def coherent_minority(n_examples: int, seed: int = 0, *, n_coherent: int = 3, n_crowd: int = 100,
                      n_out: int = 10, dim: int = 16, coherent_length: float = 2.0,
                      crowd_mean: float = 0.1, crowd_noise: float = 0.1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Predictions built so that routing must change the winner: the positive control.

    In each example a small *coherent* group of input capsules predicts the same vector (length
    ``coherent_length``) for one output A, and a large *crowd* predicts output B with vectors that
    share only a small common part (length ``crowd_mean``) under much larger noise (standard
    deviation ``crowd_noise`` per component). All other predictions are zero. With uniform
    coupling (r = 1) the crowd's many small votes add up to the longer ``s_B``; routing raises the
    coupling of the coherent inputs to A, whose predictions agree with ``v_A``, while each crowd
    input agrees with ``v_B`` only weakly, so with r = 3 A wins.

    Shape: ``-> u_hat [n_examples, n_coherent + n_crowd, n_out, dim]``, A and B ``[n_examples]``.

    Returns:
        ``(u_hat, coherent_output, crowd_output)``.
    """
    rng = np.random.default_rng(seed)
    n_in = n_coherent + n_crowd
    u_hat = np.zeros((n_examples, n_in, n_out, dim), dtype=np.float32)
    a = rng.integers(0, n_out, n_examples)
    b = (a + rng.integers(1, n_out, n_examples)) % n_out  # another output
    for k in range(n_examples):
        direction = rng.normal(size=(2, dim))
        direction /= np.linalg.norm(direction, axis=1, keepdims=True)
        u_hat[k, :n_coherent, a[k]] = coherent_length * direction[0]
        u_hat[k, n_coherent:, b[k]] = crowd_mean * direction[1] + crowd_noise * rng.normal(size=(n_crowd, dim))
    return u_hat, a, b


def _route_with_bias(u_hat_t: Any, routing: Routing, bias: Any, history: list | None = None) -> tuple[Any, Any]:
    """The book's routing (``capsules._route_by_output``) with ``bias`` added to every ``s_j``.

    Shape: ``u_hat_t: [batch, n_out, n_in, dim], bias: [n_out, dim] -> v: [batch, n_out, dim],
    c: [batch, n_out, n_in]``.
    """
    routed = u_hat_t if routing.gradient_through_routing else ops.stop_gradient(u_hat_t)
    logits = ops.zeros_like(u_hat_t[..., 0])
    for step in range(routing.iterations):
        coupling = ops.softmax(logits, axis=1)  # over the output capsules j
        if history is not None:
            history.append(ops.stop_gradient(coupling))
        last = step == routing.iterations - 1
        weighted = ops.squeeze(ops.matmul(ops.expand_dims(coupling, 2), u_hat_t if last else routed), 2)
        v = squash(weighted + bias)  # s_j + b_j
        if not last:
            logits = logits + routing.logit_scale * ops.squeeze(ops.matmul(routed, ops.expand_dims(v, -1)), -1)
    return v, ops.stop_gradient(coupling)


class BiasedRoutedCapsules(RoutedCapsules):
    """:class:`~capsnet_book.capsules.RoutedCapsules` with a learned bias added to ``s_j``.

    In the authors' released code the routing adds one trained bias per component of each output
    capsule to ``s_j = sum_i c_ij u_hat_j|i`` before the squash, in every iteration (initialised
    at 0.1 there and here); the paper's equations have no such term.

    Shape: ``[batch, n_in, dim_in] -> [batch, n_capsules, dim]``.
    """

    def build(self, input_shape: tuple) -> None:
        super().build(input_shape)
        self.bias = self.add_weight(shape=(self.n_capsules, self.dim),
                                    initializer=keras.initializers.Constant(0.1), name="bias")

    def call(self, inputs: Any) -> Any:
        v, _ = _route_with_bias(_predictions_by_output(inputs, self.kernel), self.routing, self.bias)
        return v

    def route(self, inputs: Any, routing: Routing | None = None) -> tuple[Any, Any]:
        """``(v, c [batch, n_in, n_capsules])`` as :meth:`RoutedCapsules.route`, with the bias."""
        v, c = _route_with_bias(_predictions_by_output(inputs, self.kernel), routing or self.routing, self.bias)
        return v, ops.transpose(c, (0, 2, 1))

    def route_history(self, inputs: Any, routing: Routing | None = None) -> list[Any]:
        """Every iteration's ``c [batch, n_in, n_capsules]``, as ``capsules.routing_history``."""
        history: list[Any] = []
        _route_with_bias(_predictions_by_output(inputs, self.kernel), routing or self.routing, self.bias, history)
        return [ops.transpose(c, (0, 2, 1)) for c in history]


def build_capsnet_with_bias(preset: str = "quick", routing_iterations: int = 3, **options: Any) -> CapsNet:
    """A built :class:`~capsnet_book.capsnet.CapsNet` whose DigitCaps is :class:`BiasedRoutedCapsules`.

    Everything else as :func:`~capsnet_book.capsnet.build_capsnet` (the same options); for the
    routing-variants benchmark, not for saving (``from_config`` rebuilds the unbiased layer).
    """
    model = CapsNet(_config(preset), routing_iterations, name=f"capsnet_{preset}_bias", **options)
    plain = model.digit_caps
    # Untrack the unbiased layer (never built, it has no weights) before the biased one takes its
    # place; Keras 3 keeps it in the model's layer list otherwise.
    model._layers.remove(plain)
    model._tracker.stored_ids["layers"].discard(id(plain))
    model.digit_caps = BiasedRoutedCapsules(
        plain.n_capsules, plain.dim, routing_iterations, kernel_initializer=plain.kernel_initializer,
        logit_scale=plain.routing.logit_scale, gradient_through_routing=plain.routing.gradient_through_routing,
        name="digit_caps",
    )
    model(ops.zeros((1, 28, 28, 1)))
    return model
