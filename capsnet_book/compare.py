"""The experiment runner of chapter 7: CapsNets and CNNs trained alike, tested alike.

The protocol is the paper's affNIST one: every training digit is placed at random on a 40x40
canvas, anew each epoch (:class:`~capsnet_book.capsnet.ShiftedDigits`); a validation split is
held out from the training digits; each model trains with ``fit`` (the CapsNets with their own
``train_step``, the CNNs with cross-entropy) under Adam with the learning rate decayed by 0.9
per epoch, stops early when the validation accuracy stops improving and keeps its best epoch's
weights. With several ``learning_rates`` in the setting, the one with the best validation
accuracy on the first seed is used for every seed (:func:`choose_learning_rate`). Every model of
one seed sees the same digits in the same order with the same placements.

The comparison is split by idea, one module each:

* :mod:`capsnet_book.comparison_models`: the models (:data:`MODELS`, :func:`build_model`) and
  the sizes and schedule of each setting (:data:`SETTINGS`, :class:`CompareSetting`);
* :mod:`capsnet_book.transformed_sets`: the test sets (:func:`make_test_sets`), and
  :mod:`capsnet_book.stroke_digits` the parts test made of identical strokes;
* :mod:`capsnet_book.scoring`: confident answers, AUROC, confusions, summaries;
* :mod:`capsnet_book.stats`: paired confidence intervals;
* this module: :func:`train_model` trains one model for one seed, :func:`score_sets` scores it on
  every test set in one batched pass, and :func:`run_experiment` loops over models and seeds.

The names of the first three are re-exported here, so ``from capsnet_book import compare`` gives
the whole comparison.
"""

from __future__ import annotations

import time
from typing import Sequence

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from capsnet_book import transforms
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
from capsnet_book.scoring import CONFIDENCE, auroc, confident_fraction, confusion_rate, relative_threshold, summarise
from capsnet_book.transformed_sets import displace_parts, make_test_sets

__all__ = [
    "CONFIDENCE",
    "MODELS",
    "MODEL_NAMES",
    "SETTINGS",
    "CanvasCapsNet",
    "CompareSetting",
    "ModelSpec",
    "auroc",
    "build_cnn",
    "choose_learning_rate",
    "confusion_rate",
    "build_model",
    "confident_fraction",
    "displace_parts",
    "make_test_sets",
    "model_spec",
    "relative_threshold",
    "run_experiment",
    "score_sets",
    "split_validation",
    "summarise",
    "train_model",
    "with_setting",
]


def split_validation(x: np.ndarray, y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, ...]:
    """``(x_fit, y_fit, x_val, y_val)``: a random ``fraction`` of the digits held out.

    The split depends on ``seed`` only (``numpy.random.default_rng(seed)``).

    Raises:
        ValueError: ``fraction`` not in (0, 1), or ``x`` and ``y`` differ in length.

    >>> parts = split_validation(np.zeros((10, 2)), np.arange(10), 0.2, seed=0)
    >>> [len(p) for p in parts]
    [8, 8, 2, 2]
    """
    if not 0 < fraction < 1:
        raise ValueError(f"split_validation: fraction must be between 0 and 1, got {fraction}.")
    if len(x) != len(y):
        raise ValueError(f"split_validation: {len(x)} images but {len(y)} labels.")
    order = np.random.default_rng(seed).permutation(len(x))
    n_val = max(1, int(round(fraction * len(x))))
    val, fit = order[:n_val], order[n_val:]
    return x[fit], y[fit], x[val], y[val]


def _compile(spec: ModelSpec, model: keras.Model, learning_rate: float, steps_per_epoch: int) -> None:
    schedule = keras.optimizers.schedules.ExponentialDecay(learning_rate, steps_per_epoch, 0.9, staircase=True)
    model.compile(optimizer=keras.optimizers.Adam(schedule), **spec.compile_options())


def train_model(
    name: str,
    seed: int,
    fit_data: tuple[np.ndarray, np.ndarray],
    val_data: tuple[np.ndarray, np.ndarray],
    setting: str | CompareSetting = "quick",
    learning_rate: float | None = None,
) -> tuple[keras.Model, dict]:
    """Train model ``name`` with ``seed`` to its best validation accuracy.

    ``fit_data = (x [n, size, size, 1], y [n])``: digits centred on the canvas, placed at random
    anew each epoch; ``val_data``: the validation digits, already placed (fixed). The seed fixes
    the initial weights and the order and placements of the training digits.

    Returns:
        ``(model, info)`` with the best epoch's weights; ``info`` has ``learning_rate``,
        ``epochs``, ``best_epoch``, ``val_accuracy`` and ``train_seconds``.

    Raises:
        ValueError: unknown ``name``/``setting``, or images and labels that differ in length.
    """
    s = resolve_setting(setting)
    spec = model_spec(name)
    rate = s.learning_rates[0] if learning_rate is None else float(learning_rate)
    (x_fit, y_fit), (x_val, y_val) = fit_data, val_data
    if len(x_val) != len(y_val):
        raise ValueError(f"val_data: {len(x_val)} images but {len(y_val)} labels.")
    keras.utils.set_random_seed(seed)
    model = build_model(name, s)
    batches = ShiftedDigits(x_fit, y_fit, s.batch_size, s.max_shift, seed=seed)
    _compile(spec, model, rate, len(batches))
    stop = keras.callbacks.EarlyStopping(monitor="val_accuracy", mode="max", patience=s.patience,
                                         restore_best_weights=True)
    start = time.perf_counter()
    history = model.fit(batches, validation_data=(x_val, np.eye(10, dtype="float32")[y_val]),
                        epochs=s.max_epochs, callbacks=[stop], verbose=0)
    seconds = time.perf_counter() - start
    val = history.history["val_accuracy"]
    best = int(np.argmax(val))
    return model, {"learning_rate": rate, "epochs": len(val), "best_epoch": best + 1,
                   "val_accuracy": float(val[best]), "train_seconds": seconds}


def score_sets(name: str, model: keras.Model, test_sets: dict[str, np.ndarray], eval_batch: int = 500) -> dict:
    """Class scores ``[n, 10]`` of every test set, in one batched pass of equal batches.

    Capsule lengths for the CapsNets (the decoder is not run), softmax probabilities for the CNNs.
    """
    spec = model_spec(name)
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


def choose_learning_rate(
    name: str,
    seed: int,
    fit_data: tuple[np.ndarray, np.ndarray],
    val_data: tuple[np.ndarray, np.ndarray],
    setting: str | CompareSetting = "quick",
) -> tuple[keras.Model, dict]:
    """Train ``name`` once per learning rate of the setting; keep the best on validation.

    Returns:
        ``(model, info)`` of the winner, as :func:`train_model`; ``info["tried"]`` maps each
        rate to its validation accuracy.
    """
    s = resolve_setting(setting)
    best_model, best_info, tried = None, None, {}
    for rate in s.learning_rates:
        model, info = train_model(name, seed, fit_data, val_data, s, rate)
        tried[rate] = info["val_accuracy"]
        if best_info is None or info["val_accuracy"] > best_info["val_accuracy"]:
            best_model, best_info = model, info
    return best_model, {**best_info, "tried": tried}


def run_experiment(
    names: Sequence[str],
    seeds: Sequence[int],
    x_train: np.ndarray,
    y_train: np.ndarray,
    test_sets: dict[str, np.ndarray],
    setting: str | CompareSetting = "quick",
    verbose: bool = True,
) -> tuple[pd.DataFrame, dict]:
    """Every model in ``names`` for every seed in ``seeds``; one printed line per run.

    ``x_train: [n, size, size, 1]`` (centred on the canvas), ``y_train: [n]``. The validation
    split is drawn once (seed ``seeds[0]``) and shared by every run; the learning rate of each
    model is chosen on the first seed (:func:`choose_learning_rate`) and reused for the others.

    Returns:
        ``(runs, scores)``: ``runs`` has one row per (model, seed) with ``learning_rate``,
        ``epochs``, ``best_epoch``, ``val_accuracy`` and ``train_seconds``; ``scores`` maps
        ``(model, seed)`` to ``{test set: [n, 10]}``.

    Raises:
        ValueError: as :func:`train_model`, or no seeds.
    """
    if not seeds:
        raise ValueError("run_experiment: give at least one seed.")
    s = resolve_setting(setting)
    x_fit, y_fit, x_val, y_val = split_validation(x_train, y_train, s.validation_fraction, seeds[0])
    # The validation digits are placed at random once, like the "placed" test set.
    rng = np.random.default_rng(seeds[0] + 100)
    x_val = transforms.translate(x_val, *rng.integers(-s.max_shift, s.max_shift + 1, size=(2, len(x_val))))
    rows, scores = [], {}
    for name in names:
        rate = None
        for seed in seeds:
            if rate is None:
                model, info = choose_learning_rate(name, seed, (x_fit, y_fit), (x_val, y_val), s)
                tried = info.pop("tried")
                rate = info["learning_rate"]
                info["validation_by_rate"] = ", ".join(f"{r:.0e}: {a:.3f}" for r, a in tried.items())
            else:
                model, info = train_model(name, seed, (x_fit, y_fit), (x_val, y_val), s, rate)
            scores[(name, seed)] = score_sets(name, model, test_sets)
            rows.append({"model": name, "seed": seed, **info})
            if verbose:
                print(f"{name:17s} seed {seed}: {info['epochs']:2d} epochs (best {info['best_epoch']:2d}), "
                      f"learning rate {info['learning_rate']:.0e}, validation accuracy {info['val_accuracy']:.3f}, "
                      f"{info['train_seconds']:4.0f} s")
    return pd.DataFrame(rows), scores
