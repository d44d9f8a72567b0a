"""The baseline CNNs of chapters 2, 3 and 7, Zhang (2019)'s blur pooling, and their trainer.

``build_baseline_cnn`` returns an **uncompiled** ``keras.Model`` that outputs **logits**
``[batch, n_classes]`` (no softmax): train it with
``SparseCategoricalCrossentropy(from_logits=True)``, as :func:`train_classifier` does, and take
``argmax`` for the class (the same with or without a softmax).

Presets:

* ``"quick"`` (CPU, seconds per epoch on 4,000 digits): conv 32@3x3 -> pool -> conv 64@3x3 ->
  pool -> dense 128 -> dense 10, about 0.2 M weights on 28x28 inputs.
* ``"paper"`` (GPU): conv 64, 64 @3x3 -> pool -> conv 128, 128 @3x3 -> pool -> dense 256 ->
  dropout 0.5 -> dense 10, a larger LeNet-style network as used for MNIST baselines.

With ``anti_aliased=True`` every 2x2 max pooling becomes Zhang's "MaxBlurPool": a dense (stride
1) 2x2 max, then a binomial blur that subsamples by 2 (:class:`BlurPool2D`).
"""

from __future__ import annotations

from typing import Callable

import keras
import numpy as np
from keras import layers, ops

from capsnet_book.datasets import AugmentedDigits
from capsnet_book.training import Schedule, TrainLog, fit

__all__ = ["PRESETS", "BlurPool2D", "binomial_filter", "build_baseline_cnn", "train_classifier"]

PRESETS = {
    "quick": {"conv": ((32,), (64,)), "dense": 128, "dropout": 0.0},
    "paper": {"conv": ((64, 64), (128, 128)), "dense": 256, "dropout": 0.5},
}
HEADS = ("flatten", "global_average")


def binomial_filter(size: int) -> np.ndarray:
    """The normalised 2-D binomial (blur) filter of side ``size``: ``[size, size]``, sums to 1.

    ``size=3`` is ``[1, 2, 1]^T [1, 2, 1] / 16``.

    Raises:
        ValueError: ``size`` is not in 2..7.
    """
    if not 2 <= size <= 7:
        raise ValueError(f"blur filter size must be in 2..7, got {size}.")
    row = np.array([1.0])
    for _ in range(size - 1):
        row = np.convolve(row, [1.0, 1.0])
    kernel = np.outer(row, row)
    return (kernel / kernel.sum()).astype(np.float32)


@keras.saving.register_keras_serializable(package="capsnet_book")
class BlurPool2D(layers.Layer):
    """Blur with a fixed binomial filter, then subsample: anti-aliased downsampling (Zhang, 2019).

    ``[batch, h, w, c] -> [batch, ceil(h / stride), ceil(w / stride), c]`` (reflect padding of
    ``size - 1`` pixels in total per axis, so odd and even sizes both work). The filter is the
    same for every channel (a depthwise convolution) and is not trained.

    Args:
        size: side of the binomial filter (3 = ``[1, 2, 1]``).
        stride: subsampling factor.
    """

    def __init__(self, size: int = 3, stride: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.kernel_1ch = binomial_filter(size)
        if stride < 1:
            raise ValueError(f"stride must be >= 1, got {stride}.")
        self.size, self.stride = size, stride

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(f"BlurPool2D needs a known channel count, got input shape {input_shape}.")
        kernel = np.tile(self.kernel_1ch[:, :, None, None], (1, 1, channels, 1))  # [k, k, c, 1]
        self.kernel = ops.convert_to_tensor(kernel)

    def call(self, inputs):
        before, after = (self.size - 1) // 2, self.size // 2
        padded = ops.pad(inputs, ((0, 0), (before, after), (before, after), (0, 0)), mode="reflect")
        return ops.depthwise_conv(padded, self.kernel, strides=self.stride, padding="valid")

    def compute_output_shape(self, input_shape):
        def out(n):
            return None if n is None else (n - 1) // self.stride + 1

        return (input_shape[0], out(input_shape[1]), out(input_shape[2]), input_shape[3])

    def get_config(self):
        return {**super().get_config(), "size": self.size, "stride": self.stride}


def downsample_layers(anti_aliased: bool, name: str, blur_size: int = 3) -> list[layers.Layer]:
    """The layers that halve the resolution: 2x2 max pooling, or (anti-aliased) a dense 2x2 max
    followed by :class:`BlurPool2D` with stride 2, as in Zhang (2019)."""
    if anti_aliased:
        return [
            layers.MaxPooling2D(2, strides=1, padding="same", name=f"{name}_dense_max"),
            BlurPool2D(blur_size, stride=2, name=f"{name}_blur"),
        ]
    return [layers.MaxPooling2D(2, name=f"{name}_max")]


def classifier_head(features, dense: int, dropout: float, n_classes: int):
    """``features [batch, d] -> logits [batch, n_classes]``: a ReLU dense layer, optional
    dropout, and a linear output layer (the head every CNN of the book ends with)."""
    h = layers.Dense(dense, activation="relu", name="dense")(features)
    if dropout:
        h = layers.Dropout(dropout, name="dropout")(h)
    return layers.Dense(n_classes, name="logits")(h)


def build_baseline_cnn(
    preset: str = "quick",
    anti_aliased: bool = False,
    input_shape: tuple[int, int, int] = (28, 28, 1),
    n_classes: int = 10,
    head: str = "flatten",
    blur_size: int = 3,
) -> keras.Model:
    """A small LeNet-style CNN: ``images [batch, h, w, c] -> logits [batch, n_classes]``.

    The model is built (its weights exist) but **not compiled**; it outputs **logits**.

    Args:
        preset: ``"quick"`` (CPU) or ``"paper"`` (GPU); see the module docstring.
        anti_aliased: replace each 2x2 max pooling with max (stride 1) + :class:`BlurPool2D`.
        input_shape: ``(h, w, c)``, e.g. ``(40, 40, 1)`` for digits on a 40x40 canvas.
        n_classes: size of the output.
        head: ``"flatten"`` (the classic dense classifier, which sees *where* features are) or
            ``"global_average"`` (global average pooling, which keeps only *which* features).
        blur_size: side of the blur filter when ``anti_aliased``.

    Returns:
        An uncompiled ``keras.Model``.

    Raises:
        ValueError: unknown ``preset`` or ``head``, or an ``input_shape`` that is not ``(h, w, c)``.

    >>> build_baseline_cnn("quick").output_shape
    (None, 10)
    """
    if preset not in PRESETS:
        raise ValueError(f"Unknown preset {preset!r}; choose 'quick' (CPU) or 'paper' (GPU).")
    if head not in HEADS:
        raise ValueError(f"Unknown head {head!r}; choose 'flatten' or 'global_average'.")
    if len(input_shape) != 3:
        raise ValueError(f"input_shape must be (height, width, channels), got {input_shape}.")
    config = PRESETS[preset]
    inputs = keras.Input(shape=input_shape, name="images")
    h = inputs
    for block, filters in enumerate(config["conv"], start=1):
        for i, f in enumerate(filters, start=1):
            h = layers.Conv2D(f, 3, activation="relu", name=f"conv{block}_{i}")(h)
        for layer in downsample_layers(anti_aliased, f"pool{block}", blur_size):
            h = layer(h)
    h = layers.Flatten(name="flatten")(h) if head == "flatten" else layers.GlobalAveragePooling2D(name="gap")(h)
    logits = classifier_head(h, config["dense"], config["dropout"], n_classes)
    name = f"cnn_{preset}" + ("_blurpool" if anti_aliased else "") + ("_gap" if head == "global_average" else "")
    return keras.Model(inputs, logits, name=name)


def train_classifier(
    model: keras.Model,
    x: np.ndarray,
    y: np.ndarray,
    epochs: int = 5,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
    augment: Callable[[np.ndarray, int], np.ndarray] | None = None,
    seed: int = 0,
    log: bool = True,
) -> TrainLog:
    """Train a logits CNN with cross-entropy (Adam at a constant rate), one printed line per epoch.

    ``x: [n, h, w, c]`` images, ``y: [n]`` integer labels. With ``augment``, epoch ``e`` trains
    on ``augment(x, e)`` (for example fresh random rotations seeded by ``e``); its time counts.
    The batches are :class:`~capsnet_book.datasets.AugmentedDigits` (order seeded by ``seed``) and
    the training is :func:`capsnet_book.training.fit`, the book's one training path.

    Returns:
        The :class:`~capsnet_book.training.TrainLog` (``history["loss"]``, ``history["accuracy"]``,
        ``seconds``); the model is trained in place.

    Raises:
        ValueError: ``x`` and ``y`` differ in length or ``epochs`` < 1.
    """
    batches = AugmentedDigits(x, y, batch_size, seed, augment)
    return fit(model, batches, Schedule(learning_rate=learning_rate, epochs=epochs),
               loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"], log=log)
