"""One way to train any of the book's models: Adam on a schedule, early stopping, the best epoch kept.

:class:`Schedule` says how fast and how long (the learning rate, its decay per epoch, the most
epochs) and when to stop early (``patience`` epochs without a better validation score, the best
epoch's weights restored). :func:`fit` compiles a model with it and runs Keras' own ``fit``:

* a model with its own objective (the CapsNets: margin loss plus reconstruction, computed in their
  ``train_step``) is fitted with ``loss=None``;
* any other model (the CNNs) gets its ``loss`` and ``metrics`` here, as in ``model.compile``.

Every chapter and benchmark trains through this function, so that "trained alike" means one code
path::

    schedule = Schedule(learning_rate=1e-3, epochs=20, decay_per_epoch=0.9, patience=3)
    log = fit(model, ShiftedDigits(x, y, 32, max_shift=2, seed=0), schedule, validation=(x_val, y_val))
    log.best_epoch, log.seconds
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import keras

__all__ = ["EpochLine", "Schedule", "TrainLog", "fit"]


@dataclass(frozen=True, kw_only=True)
class Schedule:
    """How a model is trained.

    Attributes:
        learning_rate: Adam's initial rate.
        epochs: the most epochs (all of them without early stopping).
        decay_per_epoch: the rate is multiplied by this per epoch (1.0: constant).
        staircase: ``True``: the decay applies once at the end of each epoch; ``False``: it is
            spread over the epoch's steps (the same factor per epoch).
        patience: stop when ``monitor`` has not improved for this many epochs and keep the best
            epoch's weights; ``None``: no early stopping.
        monitor: the validation measure early stopping watches (higher is better).
    """

    learning_rate: float
    epochs: int
    decay_per_epoch: float = 1.0
    staircase: bool = False
    patience: int | None = None
    monitor: str = "val_accuracy"

    def __post_init__(self) -> None:
        if not self.learning_rate > 0:
            raise ValueError(f"Schedule: learning_rate must be > 0, got {self.learning_rate!r}.")
        if self.epochs < 1:
            raise ValueError(f"Schedule: epochs must be >= 1, got {self.epochs!r}.")
        if not 0 < self.decay_per_epoch <= 1:
            raise ValueError(f"Schedule: decay_per_epoch must be in (0, 1], got {self.decay_per_epoch!r}.")
        if self.patience is not None and self.patience < 1:
            raise ValueError(f"Schedule: patience must be >= 1 or None, got {self.patience!r}.")

    def optimizer(self, steps_per_epoch: int) -> keras.optimizers.Optimizer:
        """Adam with this schedule's rate, for an epoch of ``steps_per_epoch`` batches."""
        if self.decay_per_epoch == 1.0:
            return keras.optimizers.Adam(self.learning_rate)
        rate = keras.optimizers.schedules.ExponentialDecay(
            self.learning_rate, steps_per_epoch, self.decay_per_epoch, staircase=self.staircase)
        return keras.optimizers.Adam(rate)


@dataclass
class TrainLog:
    """What :func:`fit` measured: Keras' per-epoch history and the wall time in seconds."""

    history: dict[str, list[float]]
    seconds: float
    monitor: str | None = None

    @property
    def epochs(self) -> int:
        """Epochs trained (fewer than the schedule's when early stopping ended the run)."""
        return len(next(iter(self.history.values()), []))

    @property
    def best_epoch(self) -> int:
        """The epoch whose weights were kept, from 1: the best ``monitor``, else the last."""
        if self.monitor is None or self.monitor not in self.history:
            return self.epochs
        values = self.history[self.monitor]
        return max(range(len(values)), key=values.__getitem__) + 1

    @property
    def best(self) -> float:
        """The best value of ``monitor`` (the kept epoch's)."""
        return float(self.history[self.monitor][self.best_epoch - 1])


class EpochLine(keras.callbacks.Callback):
    """Prints one line per epoch: its number, the logged measures and the seconds so far."""

    def __init__(self, epochs: int) -> None:
        super().__init__()
        self.total, self.start = epochs, time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        measures = ", ".join(f"{name} {value:.3f}" for name, value in (logs or {}).items()
                             if not name.endswith("learning_rate"))
        print(f"epoch {epoch + 1}/{self.total}: {measures} ({time.perf_counter() - self.start:.0f} s)")


def fit(
    model: keras.Model,
    batches: keras.utils.PyDataset,
    schedule: Schedule,
    *,
    validation: Any = None,
    loss: Any = None,
    metrics: list | None = None,
    log: bool = False,
) -> TrainLog:
    """Compile ``model`` with Adam on ``schedule`` and train it on ``batches``.

    Args:
        model: any Keras model; with ``loss=None`` it must compute its own objective (a CapsNet).
        batches: a ``PyDataset`` (see :mod:`capsnet_book.datasets`); its length sets the steps
            per epoch of the decay.
        schedule: rate, decay, epochs and early stopping.
        validation: what Keras' ``validation_data`` takes (an ``(x, y)`` tuple or a dataset);
            needed when ``schedule.patience`` is set.
        loss, metrics: as ``model.compile`` takes them.
        log: print one line per epoch (:class:`EpochLine`).

    Returns:
        A :class:`TrainLog`; the model is trained in place, with the best epoch's weights when it
        stopped early.

    Raises:
        ValueError: early stopping without validation data.
    """
    if schedule.patience is not None and validation is None:
        raise ValueError("fit: early stopping (schedule.patience) needs validation data; pass validation=...")
    model.compile(optimizer=schedule.optimizer(len(batches)), loss=loss, metrics=metrics)
    callbacks: list[keras.callbacks.Callback] = []
    if schedule.patience is not None:
        callbacks.append(keras.callbacks.EarlyStopping(monitor=schedule.monitor, mode="max",
                                                       patience=schedule.patience, restore_best_weights=True))
    if log:
        callbacks.append(EpochLine(schedule.epochs))
    start = time.perf_counter()
    history = model.fit(batches, validation_data=validation, epochs=schedule.epochs, callbacks=callbacks, verbose=0)
    seconds = time.perf_counter() - start
    kept = {name: [float(v) for v in values] for name, values in history.history.items()}
    return TrainLog(kept, seconds, schedule.monitor if schedule.patience is not None else None)
