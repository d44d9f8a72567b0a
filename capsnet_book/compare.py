"""The experiment runner of chapter 7: CapsNets and CNNs trained alike, tested alike.

Every model sees the same digits on a 40x40 canvas, in the same order, with the same random
shifts of up to 2 pixels (the paper's augmentation, :class:`~capsnet_book.capsnet.ShiftedDigits`),
for the same number of epochs, with Adam and the same learning-rate schedule, in one compiled
training step: the CapsNets with their own objective (the one their ``train_step`` uses in
chapter 6), the CNNs with cross-entropy, as their :class:`ModelSpec` says.

The comparison is split by idea, one module each:

* :mod:`capsnet_book.comparison_models`: the models (:data:`MODELS`, :func:`build_model`) and
  the sizes and schedule of each setting (:data:`SETTINGS`, :class:`CompareSetting`);
* :mod:`capsnet_book.transformed_sets`: the test sets (:func:`make_test_sets`);
* :mod:`capsnet_book.scoring`: confident answers and summaries (:func:`confident_fraction`,
  :func:`relative_threshold`, :func:`summarise`);
* this module: :func:`run_config` trains one model for one seed and scores it on every test set
  in one batched pass; :func:`run_experiment` loops over models and seeds into tidy tables.

The names of those modules are re-exported here, so ``from capsnet_book import compare`` gives
the whole comparison.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Sequence

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from capsnet_book.capsnet import ShiftedDigits
from capsnet_book.comparison_models import (
    MODEL_NAMES,
    MODELS,
    SETTINGS,
    CanvasCapsNet,
    CompareSetting,
    ModelSpec,
    resolve_setting,
    build_cnn,
    build_model,
    model_spec,
    with_setting,
)
from capsnet_book.scoring import CONFIDENCE, confident_fraction, relative_threshold, summarise
from capsnet_book.transformed_sets import displace_parts, make_test_sets

__all__ = [
    "CONFIDENCE",
    "MODELS",
    "MODEL_NAMES",
    "SETTINGS",
    "CanvasCapsNet",
    "CompareSetting",
    "ModelSpec",
    "RunResult",
    "build_cnn",
    "build_model",
    "confident_fraction",
    "displace_parts",
    "make_test_sets",
    "model_spec",
    "relative_threshold",
    "run_config",
    "run_experiment",
    "summarise",
    "with_setting",
]


@dataclass
class RunResult:
    """One trained model for one seed: its size, its training time and its test scores."""

    name: str
    seed: int
    params: int
    train_seconds: float
    loss: list[float]
    scores: dict[str, np.ndarray]  # test set -> [n, 10] capsule lengths or softmax


def _score_all(spec: ModelSpec, model: keras.Model, test_sets: dict[str, np.ndarray], eval_batch: int) -> dict:
    """Class scores ``[n, 10]`` of every test set, in one batched pass of equal batches."""
    scores_fn = tf.function(lambda images: spec.scores(model, images))  # traced once: equal batches
    names = list(test_sets)
    everything = np.concatenate([test_sets[k] for k in names])
    n_total = len(everything)
    batch = min(eval_batch, n_total)
    padded = np.concatenate([everything, np.zeros((-n_total % batch, *everything.shape[1:]), everything.dtype)])
    scores = np.concatenate(
        [np.asarray(scores_fn(tf.constant(padded[i : i + batch]))) for i in range(0, len(padded), batch)]
    )[:n_total]
    sizes = np.cumsum([0] + [len(test_sets[k]) for k in names])
    return {k: scores[sizes[i] : sizes[i + 1]] for i, k in enumerate(names)}


def run_config(
    name: str,
    seed: int,
    x_train: np.ndarray,
    y_train: np.ndarray,
    test_sets: dict[str, np.ndarray],
    setting: str | CompareSetting = "quick",
    eval_batch: int = 500,
) -> RunResult:
    """Train model ``name`` with ``seed`` and score it on every test set.

    ``x_train: [n, size, size, 1]`` (already on the canvas), ``y_train: [n]``. The seed fixes
    the initial weights (``keras.utils.set_random_seed``), the order of the digits and their
    random shifts; the order and the shifts depend on the seed only, so every model of one seed
    sees exactly the same training batches. All test sets are scored in one batched pass.

    Returns:
        A :class:`RunResult`.

    Raises:
        ValueError: unknown ``name``/``setting``, or ``x_train`` and ``y_train`` differ in length.
    """
    s = resolve_setting(setting)
    spec = model_spec(name)
    if len(x_train) != len(y_train):
        raise ValueError(f"x_train and y_train differ in length: {len(x_train)} images but {len(y_train)} labels.")
    keras.utils.set_random_seed(seed)
    model = build_model(name, s)
    batches = ShiftedDigits(x_train, y_train, s.batch_size, s.max_shift, seed=seed)
    # Cosine decay to 5% of the rate by the last step: the final weights (and batch-norm
    # statistics) do not depend on where a noisy last step happened to land.
    schedule = keras.optimizers.schedules.CosineDecay(s.learning_rate, max(1, len(batches) * s.epochs), alpha=0.05)
    step = _training_step(spec, model, keras.optimizers.Adam(schedule))
    losses = []
    start = time.perf_counter()
    for _ in range(s.epochs):
        total = sum(float(step(tf.constant(images), tf.constant(onehot))) for images, onehot in batches)
        losses.append(total / len(batches))
        batches.on_epoch_end()
    seconds = time.perf_counter() - start
    scores = _score_all(spec, model, test_sets, eval_batch)
    return RunResult(name, seed, int(model.count_params()), seconds, losses, scores)


def _training_step(spec: ModelSpec, model: keras.Model, optimizer: keras.optimizers.Optimizer):
    """One compiled step ``(images, onehot) -> loss`` with the model's own objective."""
    variables = spec.variables(model)

    @tf.function
    def step(images, onehot):
        with tf.GradientTape() as tape:
            loss = spec.loss(model, images, onehot)
        optimizer.apply(tape.gradient(loss, variables), variables)
        return loss

    return step


def run_experiment(
    names: Sequence[str],
    seeds: Sequence[int],
    x_train: np.ndarray,
    y_train: np.ndarray,
    test_sets: dict[str, np.ndarray],
    y_test: np.ndarray,
    setting: str | CompareSetting = "quick",
    verbose: bool = True,
    calibration_quantile: float = 0.25,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every model in ``names`` for every seed in ``seeds``; one printed line per run.

    Returns:
        ``(runs, scores)``: ``runs`` has one row per (model, seed) with ``params``,
        ``train_seconds`` and ``relative_threshold`` (:func:`relative_threshold` on the
        ``clean`` set, else the first set); ``scores`` has one row per (model, seed, test set)
        with ``accuracy``, ``confident`` (:func:`confident_fraction` of the original label
        above :data:`CONFIDENCE`) and ``confident_relative`` (the same above the run's own
        relative threshold).

    Raises:
        ValueError: as :func:`run_config`, or a test set whose length differs from ``y_test``.
    """
    for key, images in test_sets.items():
        if len(images) != len(y_test):
            raise ValueError(f"test set {key!r} has {len(images)} images but y_test has {len(y_test)} labels.")
    run_rows, score_rows = [], []
    for seed in seeds:
        for name in names:
            result = run_config(name, seed, x_train, y_train, test_sets, setting)
            reference = result.scores.get("clean", next(iter(result.scores.values())))
            try:
                relative = relative_threshold(reference, y_test, calibration_quantile)
            except ValueError:  # nothing right on the reference set: no answer counts as confident
                relative = float("nan")
            run_rows.append({
                "model": name, "seed": seed, "params": result.params, "train_seconds": result.train_seconds,
                "relative_threshold": relative,
            })
            for key, s in result.scores.items():
                score_rows.append({
                    "model": name, "seed": seed, "test_set": key,
                    "accuracy": float(np.mean(s.argmax(axis=1) == y_test)),
                    "confident": confident_fraction(s, y_test),
                    "confident_relative": confident_fraction(s, y_test, relative),
                })
            if verbose:
                clean = score_rows[-len(result.scores)]["accuracy"]
                print(f"seed {seed} {name:17s} {result.params:>9,} weights  {result.train_seconds:5.1f} s  "
                      f"clean accuracy {clean:.3f}")
    return pd.DataFrame(run_rows), pd.DataFrame(score_rows)
