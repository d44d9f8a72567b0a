"""The experiment runner of chapter 7: CapsNets and CNNs trained alike, tested alike.

The protocol is the paper's affNIST one: every training digit is placed at random on a 40x40
canvas, anew each epoch (:class:`~capsnet_book.datasets.ShiftedDigits`); a validation split is
held out from the training digits; each model trains by :func:`capsnet_book.training.fit` (the
CapsNets on their own objective, the CNNs with cross-entropy) under Adam with the learning rate
decayed by 0.9 at the end of each epoch, stops early when the validation accuracy stops improving
and keeps its best epoch's weights. With several ``learning_rates`` in the setting, the one with
the best validation accuracy on the first seed is used for every seed (:func:`choose_learning_rate`).
Every model of one seed sees the same digits in the same order with the same placements.

The models and settings are in :mod:`capsnet_book.comparison_models` (builders re-exported by
:mod:`capsnet_book.models`), the test sets in :mod:`capsnet_book.transformed_sets`, the scoring in
:mod:`capsnet_book.scoring` and the intervals in :mod:`capsnet_book.stats`. This module runs them:
:func:`train_model` trains one model for one seed, :func:`score_sets` scores it on every test set,
and :func:`run_experiment` loops over models and seeds.
"""

from __future__ import annotations

from typing import Sequence

import keras
import numpy as np
import pandas as pd

from capsnet_book import transforms
from capsnet_book.comparison_models import CompareSetting, build_model, model_spec, resolve_setting
from capsnet_book.datasets import ShiftedDigits, split_validation
from capsnet_book.evaluate import class_scores
from capsnet_book.training import Schedule, fit

__all__ = ["choose_learning_rate", "run_experiment", "score_sets", "train_model"]


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
    schedule = Schedule(learning_rate=rate, epochs=s.max_epochs, decay_per_epoch=0.9, staircase=True,
                        patience=s.patience)
    log = fit(model, batches, schedule, validation=(x_val, np.eye(10, dtype="float32")[y_val]),
              **spec.compile_options())
    return model, {"learning_rate": rate, "epochs": log.epochs, "best_epoch": log.best_epoch,
                   "val_accuracy": log.best, "train_seconds": log.seconds}


def score_sets(name: str, model: keras.Model, test_sets: dict[str, np.ndarray], eval_batch: int = 500) -> dict:
    """Class scores ``[n, 10]`` of every test set, in one ``model.predict`` over them all.

    Capsule lengths for the CapsNets, softmax probabilities for the CNNs (:class:`ModelSpec`).
    """
    names = list(test_sets)
    scores = model_spec(name).scores(class_scores(model, np.concatenate([test_sets[k] for k in names]), eval_batch))
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
