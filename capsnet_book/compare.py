"""The experiment harness of chapter 7: CapsNets and CNNs trained alike, tested alike.

Every model sees the same digits on a 40x40 canvas, in the same order, with the same random
shifts of up to 2 pixels (the paper's augmentation), for the same number of epochs, with Adam
with the same learning-rate schedule. The models, by name (:data:`MODEL_NAMES`):

* ``capsnet``: the CapsNet of chapter 6 (dynamic routing, 3 iterations, margin loss plus the
  scaled reconstruction loss), sized for the 40x40 canvas by :class:`CanvasCapsNet`;
* ``capsnet_r1``: the same with 1 routing iteration (uniform coupling coefficients);
* ``capsnet_no_recon``: the same with 3 iterations and no reconstruction loss;
* ``cnn_params``: a CNN (batch norm, dropout) with about as many weights as ``capsnet``;
* ``cnn_time``: a wider CNN that takes about as long to train as ``capsnet``;
* ``cnn_blurpool``: ``cnn_params`` with Zhang (2019)'s anti-aliased max pooling;
* ``p4_cnn``: the rotation-equivariant CNN of :mod:`capsnet_book.group_conv` (logits
  invariant to 90-degree turns; no dropout, no batch norm: both slowed its short training).

:func:`make_test_sets` builds the test sets from a test split, deterministically from a seed;
:func:`run_config` trains one model for one seed and scores it on all of them in one batched
pass; :func:`run_experiment` loops over models and seeds and returns tidy tables.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, replace
from typing import Any, Callable, Sequence

import keras
import numpy as np
import pandas as pd
import tensorflow as tf
from keras import layers, ops

from capsnet_book import transforms
from capsnet_book.capsnet import RECONSTRUCTION_WEIGHT, CapsNet, CapsNetConfig, capsnet_loss, random_shift
from capsnet_book.capsules import margin_loss
from capsnet_book.cnn import classifier_head, downsample_layers
from capsnet_book.group_conv import build_p4_cnn

__all__ = [
    "CONFIDENCE",
    "MODEL_NAMES",
    "SETTINGS",
    "CanvasCapsNet",
    "CompareSetting",
    "RunResult",
    "build_cnn",
    "build_model",
    "confident_fraction",
    "displace_parts",
    "make_test_sets",
    "relative_threshold",
    "run_config",
    "run_experiment",
    "summarise",
    "with_setting",
]

MODEL_NAMES = ("capsnet", "capsnet_r1", "capsnet_no_recon", "cnn_params", "cnn_time", "cnn_blurpool", "p4_cnn")
CONFIDENCE = 0.9  # "high confidence": capsule length or softmax probability above this
N_CLASSES = 10


@dataclass(frozen=True)
class CompareSetting:
    """Sizes and schedule of one setting of the comparison (see :data:`SETTINGS`)."""

    n_train: int | None  # training digits (None: the whole training split)
    n_eval: int | None  # test digits per test set (None: the whole test split)
    epochs: int
    batch_size: int
    learning_rate: float
    canvas: int  # side of the square canvas every image lives on
    max_shift: int  # training augmentation: random shifts of up to this many pixels
    capsnet: CapsNetConfig
    cnn_params: tuple[tuple[int, ...], int]  # (conv widths per block, dense units)
    cnn_time: tuple[tuple[int, ...], int]
    p4_filters: tuple[int, ...]
    p4_dense: int
    dropout: float


SETTINGS: dict[str, CompareSetting] = {
    # 2-core CPU: 21 training runs must fit in a few minutes, so everything is small.
    "quick": CompareSetting(
        n_train=2000, n_eval=300, epochs=3, batch_size=32, learning_rate=2e-3, canvas=40, max_shift=2,
        capsnet=CapsNetConfig(16, 9, 4, 8, 9, 2, 16, (128, 256)),
        # 1500 dense units give the CNN about the CapsNet's 1.24 M weights; the wider cnn_time
        # took about as long to train as the CapsNet on a 2-core CPU.
        cnn_params=((16, 32, 32), 1500), cnn_time=((32, 64, 64), 256),
        p4_filters=(8, 16, 24, 32), p4_dense=64, dropout=0.3,
    ),
    # GPU: the paper's CapsNet on the 40x40 canvas, every training digit, full test split.
    "paper": CompareSetting(
        n_train=None, n_eval=None, epochs=30, batch_size=128, learning_rate=1e-3, canvas=40, max_shift=2,
        capsnet=CapsNetConfig(256, 9, 32, 8, 9, 2, 16, (512, 1024)),
        # 4096 dense units: about the 13.5 M weights of the paper's CapsNet on a 40x40 canvas.
        # cnn_time is a guess for a GPU: compare the training times in the chapter's table.
        cnn_params=((64, 128, 128), 4096), cnn_time=((128, 256, 256), 1024),
        p4_filters=(32, 64, 96, 128), p4_dense=256, dropout=0.5,
    ),
}


def _setting(setting: str | CompareSetting) -> CompareSetting:
    if isinstance(setting, CompareSetting):
        return setting
    if setting not in SETTINGS:
        raise ValueError(f"Unknown setting {setting!r}; choose 'quick' or 'paper', or pass a CompareSetting.")
    return SETTINGS[setting]


@keras.saving.register_keras_serializable(package="capsnet_book")
class CanvasCapsNet(CapsNet):
    """Chapter 6's :class:`~capsnet_book.capsnet.CapsNet` for square images of any size.

    Only the decoder changes: it reconstructs the whole ``size x size`` canvas (the paper's
    affNIST CapsNet also worked on 40x40 images). Everything else, routing included, is
    chapter 6's code.

    Shape: ``images [batch, size, size, 1] (, labels [batch, 10]) ->
    lengths [batch, 10], reconstructions [batch, size, size, 1]``.
    """

    def __init__(self, config: CapsNetConfig, routing_iterations: int = 3, size: int = 40, **kwargs: Any) -> None:
        super().__init__(config, routing_iterations, **kwargs)
        self.size = int(size)
        self.decoder = keras.Sequential(
            [layers.Dense(units, activation="relu") for units in config.decoder_units]
            + [layers.Dense(self.size * self.size, activation="sigmoid"), layers.Reshape((self.size, self.size, 1))],
            name="decoder",
        )

    def lengths(self, images: Any) -> Any:
        """``images -> capsule lengths [batch, 10]``, without running the decoder."""
        return self.length(self.digit_capsules(images))

    def get_config(self) -> dict:
        return {**super().get_config(), "size": self.size}


def build_cnn(
    widths: Sequence[int] = (16, 32, 32),
    dense: int = 256,
    anti_aliased: bool = False,
    dropout: float = 0.3,
    input_shape: tuple[int, int, int] = (40, 40, 1),
    num_classes: int = N_CLASSES,
    name: str = "cnn",
) -> keras.Model:
    """A CNN baseline: per width a 3x3 convolution, batch norm, ReLU and 2x2 max pooling.

    Then flatten, a dense layer (ReLU), dropout and the logits. With ``anti_aliased`` each
    pooling is a stride-1 max followed by :class:`~capsnet_book.cnn.BlurPool2D` (Zhang, 2019).

    Shape: ``images [batch, h, w, c] -> logits [batch, num_classes]``.

    Args:
        widths: filters of each convolution block (one pooling per block).
        dense: units of the hidden dense layer.
        anti_aliased: use blur pooling instead of plain max pooling.
        dropout: rate before the logits (0 for none).
        input_shape: ``(h, w, c)``.
        num_classes: size of the output.
        name: the model's name.

    Returns:
        An uncompiled ``keras.Model`` that outputs logits.

    Raises:
        ValueError: empty ``widths``.

    >>> build_cnn((8, 16), 32).output_shape
    (None, 10)
    """
    if len(widths) == 0:
        raise ValueError("build_cnn: widths must name at least one convolution block, got an empty sequence.")
    inputs = keras.Input(shape=input_shape, name="images")
    x = inputs
    for i, width in enumerate(widths, start=1):
        x = layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"conv{i}")(x)
        x = layers.BatchNormalization(momentum=0.9, name=f"bn{i}")(x)
        x = layers.Activation("relu", name=f"relu{i}")(x)
        for layer in downsample_layers(anti_aliased, f"pool{i}"):
            x = layer(x)
    x = layers.Flatten(name="flatten")(x)
    return keras.Model(inputs, classifier_head(x, dense, dropout, num_classes), name=name)


def build_model(name: str, setting: str | CompareSetting = "quick") -> keras.Model:
    """The model called ``name`` (one of :data:`MODEL_NAMES`), built for ``setting``.

    CapsNets return ``(lengths, reconstructions)`` (see :class:`CanvasCapsNet`); the others
    return logits ``[batch, 10]``.

    Raises:
        ValueError: unknown ``name`` or ``setting``.
    """
    s = _setting(setting)
    shape = (s.canvas, s.canvas, 1)
    if name in ("capsnet", "capsnet_r1", "capsnet_no_recon"):
        model = CanvasCapsNet(s.capsnet, 1 if name == "capsnet_r1" else 3, size=s.canvas, name=name)
        with warnings.catch_warnings():  # Keras notes that a subclassed model has no build()
            warnings.simplefilter("ignore", UserWarning)
            model(ops.zeros((1, *shape)))
        return model
    if name in ("cnn_params", "cnn_blurpool"):
        widths, dense = s.cnn_params
        return build_cnn(widths, dense, name == "cnn_blurpool", s.dropout, shape, name=name)
    if name == "cnn_time":
        widths, dense = s.cnn_time
        return build_cnn(widths, dense, False, s.dropout, shape, name=name)
    if name == "p4_cnn":
        return build_p4_cnn(s.p4_filters, shape, s.p4_dense, 0.0, name=name)
    raise ValueError(f"Unknown model {name!r}; choose one of {', '.join(MODEL_NAMES)}.")


def displace_parts(x: np.ndarray, seed: int, size: int = 40, max_offset: int = 4) -> np.ndarray:
    """Cut each digit into its four quadrants and move each quadrant on its own.

    ``x: [n, h, w, c] -> [n, size, size, c]``: the digit is centred on the canvas and each
    ``h/2 x w/2`` quadrant is moved by its own random ``(dy, dx)`` in
    ``-max_offset..max_offset`` pixels (``numpy.random.default_rng(seed)``); where moved parts
    overlap, the brighter pixel wins. Every part is kept and stays near its place; only the
    arrangement is loosened (compare :func:`capsnet_book.transforms.scramble_parts`, which
    swaps the quadrants).

    Raises:
        ValueError: ``x`` is not rank 4, its sides are odd, ``max_offset`` is negative, or
            the canvas is too small.

    >>> displace_parts(np.zeros((2, 28, 28, 1)), seed=0).shape
    (2, 40, 40, 1)
    """
    x = transforms.check_images(x)
    n, h, w, _ = x.shape
    if h % 2 or w % 2:
        raise ValueError(f"displace_parts: the image sides must be even to cut quadrants, got {h}x{w}.")
    if max_offset < 0:
        raise ValueError(f"displace_parts: max_offset must be >= 0, got {max_offset}.")
    rng = np.random.default_rng(seed)
    offsets = rng.integers(-max_offset, max_offset + 1, size=(4, 2, n))
    out = np.zeros((n, size, size, x.shape[3]), np.float32)
    for q, (rows, cols) in enumerate([(slice(0, h // 2), slice(0, w // 2)), (slice(0, h // 2), slice(w // 2, w)),
                                      (slice(h // 2, h), slice(0, w // 2)), (slice(h // 2, h), slice(w // 2, w))]):
        part = np.zeros_like(x)
        part[:, rows, cols] = x[:, rows, cols]
        out = np.maximum(out, transforms.place_on_canvas(part, size, offsets[q, 0], offsets[q, 1]))
    return out


def make_test_sets(
    x: np.ndarray, seed: int, size: int = 40, angles: Sequence[float] = (30, 60, 90, 120, 150, 180),
) -> dict[str, np.ndarray]:
    """All of chapter 7's test sets from the same test digits, deterministically from ``seed``.

    ``x: [n, 28, 28, 1] -> {name: [n, size, size, 1]}``, in this order:

    * ``clean``: the digits centred on the canvas;
    * ``rot30``, ``rot60``, ...: rotated about the centre by each of ``angles`` (degrees);
    * ``translated``: moved by up to 6 pixels per axis (3 times the training shifts);
    * ``affine``: affNIST-style, rotation up to 20 degrees, shear up to 0.1, scale 0.8-1.2
      per axis, and translation up to 2 pixels (the training range, so that this set tests
      the affine part, not the shift);
    * ``scrambled``: the four quadrants swapped (:func:`~capsnet_book.transforms.scramble_parts`);
    * ``displaced``: the four quadrants moved apart by up to 4 pixels (:func:`displace_parts`).

    Raises:
        ValueError: ``x`` is not rank 4 or the canvas is too small.
    """
    x = transforms.check_images(x)
    canvas = transforms.pad_to_canvas(x, size)
    sets = {"clean": canvas}
    for angle in angles:
        sets[f"rot{int(angle)}"] = transforms.rotate(canvas, float(angle))
    sets["translated"] = transforms.random_translate_on_canvas(x, seed=seed + 1, size=size, max_shift=6)
    sets["affine"] = transforms.random_affine(x, seed=seed + 2, size=size, max_translation=2.0)
    sets["scrambled"] = transforms.pad_to_canvas(transforms.scramble_parts(x, seed=seed + 3, grid=2), size)
    sets["displaced"] = displace_parts(x, seed=seed + 4, size=size)
    return sets


def confident_fraction(scores: np.ndarray, labels: np.ndarray, threshold: float = CONFIDENCE) -> float:
    """Fraction of examples whose top class is ``labels`` with a score above ``threshold``.

    ``scores: [n, classes]`` (capsule lengths or softmax probabilities), ``labels: [n]``.

    Raises:
        ValueError: the lengths of ``scores`` and ``labels`` differ.

    >>> confident_fraction(np.array([[0.95, 0.05], [0.6, 0.4]]), np.array([0, 0]))
    0.5
    """
    scores = np.asarray(scores)
    if scores.ndim != 2 or len(scores) != len(labels):
        raise ValueError(
            "confident_fraction: expected scores [n, classes] and labels [n], "
            f"got {scores.shape} and {np.shape(labels)}."
        )
    hit = (scores.argmax(axis=1) == labels) & (scores.max(axis=1) > threshold)
    return float(hit.mean())


def relative_threshold(scores: np.ndarray, labels: np.ndarray, quantile: float = 0.25) -> float:
    """A confidence threshold measured on the model itself.

    The ``quantile`` of the top score over the examples the model gets right: with 0.25, three
    quarters of its correct answers score above it. Capsule lengths trained with the margin
    loss stop growing near ``m+ = 0.9`` while a softmax saturates towards 1, so one fixed
    threshold means different things for the two; this one means the same for both.
    ``scores: [n, classes]``, ``labels: [n] -> float``.

    Raises:
        ValueError: ``quantile`` is not in [0, 1], or no example is classified correctly.

    >>> relative_threshold(np.array([[0.9, 0.1], [0.7, 0.3], [0.2, 0.8]]), np.array([0, 0, 0]), 0.5)
    0.8
    """
    if not 0.0 <= quantile <= 1.0:
        raise ValueError(f"relative_threshold: quantile must be in [0, 1], got {quantile}.")
    scores = np.asarray(scores)
    right = scores.argmax(axis=1) == labels
    if not right.any():
        raise ValueError("relative_threshold: the model gets no example right, so there is nothing to calibrate on.")
    return float(np.quantile(scores[right].max(axis=1), quantile))


@dataclass
class RunResult:
    """One trained model for one seed: its size, its training time and its test scores."""

    name: str
    seed: int
    params: int
    train_seconds: float
    loss: list[float]
    scores: dict[str, np.ndarray]  # test set -> [n, 10] capsule lengths or softmax


def _train_step_fn(model: keras.Model, name: str, optimizer: keras.optimizers.Optimizer) -> Callable:
    """A compiled training step ``(images, onehot) -> loss`` for the model's kind."""
    if isinstance(model, CanvasCapsNet):
        weight = 0.0 if name == "capsnet_no_recon" else RECONSTRUCTION_WEIGHT

        def loss_fn(images, onehot):
            if weight == 0.0:  # no decoder in the graph at all
                return ops.mean(margin_loss(onehot, model.lengths(images)))
            lengths, recon = model(images, onehot, training=True)
            return capsnet_loss(onehot, lengths, images, recon, reconstruction_weight=weight)
    else:
        cross_entropy = keras.losses.CategoricalCrossentropy(from_logits=True)

        def loss_fn(images, onehot):
            return cross_entropy(onehot, model(images, training=True))

    variables = model.trainable_variables
    if name == "capsnet_no_recon":  # the decoder gets no gradient: leave it out
        parts = (model.conv1, model.primary_caps, model.digit_caps)
        variables = [v for part in parts for v in part.trainable_variables]

    @tf.function
    def step(images, onehot):
        with tf.GradientTape() as tape:
            loss = loss_fn(images, onehot)
        optimizer.apply(tape.gradient(loss, variables), variables)
        return loss

    return step


def _scores_fn(model: keras.Model) -> Callable:
    """A compiled ``images -> [batch, 10]`` scores: capsule lengths or softmax probabilities."""
    if isinstance(model, CanvasCapsNet):
        return tf.function(lambda images: model.lengths(images))
    return tf.function(lambda images: tf.nn.softmax(model(images, training=False)))


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
    sees exactly the same training images. All test sets are scored in one batched pass.

    Returns:
        A :class:`RunResult`.

    Raises:
        ValueError: unknown ``name``/``setting``, or ``x_train`` and ``y_train`` differ in length.
    """
    s = _setting(setting)
    if len(x_train) != len(y_train):
        raise ValueError(f"x_train and y_train differ in length: {len(x_train)} images but {len(y_train)} labels.")
    keras.utils.set_random_seed(seed)
    model = build_model(name, s)
    steps = len(x_train) // s.batch_size
    # Cosine decay to 5% of the rate by the last step: the final weights (and batch-norm
    # statistics) do not depend on where a noisy last step happened to land.
    schedule = keras.optimizers.schedules.CosineDecay(s.learning_rate, max(1, steps * s.epochs), alpha=0.05)
    optimizer = keras.optimizers.Adam(schedule)
    step = _train_step_fn(model, name, optimizer)
    onehot = np.eye(N_CLASSES, dtype="float32")[y_train]
    data_rng = np.random.default_rng(seed)
    losses = []
    start = time.perf_counter()
    for _ in range(s.epochs):
        shifted = random_shift(x_train, s.max_shift, data_rng)
        order = data_rng.permutation(len(x_train))
        total = 0.0
        for k in range(steps):
            batch = order[k * s.batch_size : (k + 1) * s.batch_size]
            total += float(step(tf.constant(shifted[batch]), tf.constant(onehot[batch])))
        losses.append(total / steps)
    seconds = time.perf_counter() - start
    scores_fn = _scores_fn(model)
    names = list(test_sets)
    everything = np.concatenate([test_sets[k] for k in names])
    n_total = len(everything)
    batch = min(eval_batch, n_total)
    padded = np.concatenate([everything, np.zeros((-n_total % batch, *everything.shape[1:]), everything.dtype)])
    # Equal batches: the compiled scoring function is traced once.
    scores = np.concatenate(
        [np.asarray(scores_fn(tf.constant(padded[i : i + batch]))) for i in range(0, len(padded), batch)]
    )[:n_total]
    sizes = np.cumsum([0] + [len(test_sets[k]) for k in names])
    by_set = {k: scores[sizes[i] : sizes[i + 1]] for i, k in enumerate(names)}
    return RunResult(name, seed, int(model.count_params()), seconds, losses, by_set)


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


def summarise(frame: pd.DataFrame, value: str, by: Sequence[str] = ("model",)) -> pd.DataFrame:
    """Mean, standard deviation, minimum and maximum of ``value`` over seeds, grouped by ``by``.

    Raises:
        KeyError: ``value`` or a column of ``by`` is not in ``frame``.
    """
    for column in (value, *by):
        if column not in frame.columns:
            raise KeyError(f"summarise: no column {column!r}; the frame has {list(frame.columns)}.")
    return frame.groupby(list(by), sort=False)[value].agg(["mean", "std", "min", "max"])


def with_setting(setting: str | CompareSetting, **changes: Any) -> CompareSetting:
    """A copy of a setting with some fields changed, e.g. ``with_setting("quick", epochs=5)``."""
    return replace(_setting(setting), **changes)
