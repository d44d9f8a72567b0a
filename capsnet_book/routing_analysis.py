"""What dynamic routing does inside a trained CapsNet: measures of the coupling coefficients.

Routing by agreement is meant to send each primary capsule's vote to the digit capsule its
prediction agrees with. Whether it does in a trained network is a measurement:

* :func:`normalized_entropy` of each input capsule's coupling distribution: 1 when it is
  uniform over the outputs (routing did nothing), 0 when all of it goes to one output;
* :func:`coupling_summary` averages that, and the largest coupling ``max_j c_ij``, over the
  input capsules weighted by their length (a short capsule's vote hardly counts anyway);
* :func:`agreement_spread` is the reason: how far apart the agreements ``u_hat_ij . v_j``
  of one input capsule are across the outputs; the softmax only moves when they differ by
  about 1 or more;
* :func:`routing_report` does all of it for a :class:`~capsnet_book.capsnet.CapsNet` and a
  batch of images, for any number of iterations and logit scale.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from keras import ops

from capsnet_book.capsules import Routing, routing_history

__all__ = ["agreement_spread", "coupling_summary", "normalized_entropy", "routing_report"]


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


def coupling_summary(c: Any, input_lengths: Any) -> dict[str, float]:
    """Length-weighted means of the normalized entropy and of the largest coupling.

    Args:
        c: coupling coefficients ``[batch, n_in, n_out]``.
        input_lengths: the lengths of the input (primary) capsules ``[batch, n_in]``: the
            weights of the average.

    Returns:
        ``{"entropy": ..., "max_coupling": ..., "uniform_max_coupling": 1 / n_out}``.

    Raises:
        ValueError: wrong ranks or shapes, or ``c`` does not sum to 1 over the outputs.
    """
    c = _check_coupling(c)
    weights = np.asarray(input_lengths, dtype=np.float64)
    if weights.shape != c.shape[:2]:
        raise ValueError(f"input_lengths must have shape {c.shape[:2]} (batch, n_in), got {weights.shape}.")
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
        ``per_iteration``: a :func:`coupling_summary` for each iteration's ``c``;
        ``lengths``: the digit-capsule lengths ``[batch, n_out]`` after the last iteration;
        ``coupling``: the last ``c [batch, n_in, n_out]``; ``input_lengths`` ``[batch, n_in]``;
        ``agreement_spread``: :func:`agreement_spread` after the first iteration ``[batch, n_in]``.
    """
    routing = routing or model.digit_caps.routing
    primary = model.primary_caps(model.conv1(images))
    u_hat = model.digit_caps.predictions(primary)
    history = routing_history(u_hat, routing.iterations, logit_scale=routing.logit_scale)
    v, c = model.digit_caps.route(primary, routing)
    input_lengths = np.linalg.norm(ops.convert_to_numpy(primary), axis=-1)
    first_v, _ = model.digit_caps.route(primary, Routing(1))
    return {
        "per_iteration": [coupling_summary(ops.convert_to_numpy(step), input_lengths) for step in history],
        "lengths": np.linalg.norm(ops.convert_to_numpy(v), axis=-1),
        "coupling": ops.convert_to_numpy(c),
        "input_lengths": input_lengths,
        "agreement_spread": agreement_spread(ops.convert_to_numpy(u_hat), ops.convert_to_numpy(first_v)),
    }
