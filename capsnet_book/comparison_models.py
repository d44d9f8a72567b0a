"""The models of chapter 7's comparison, and the sizes and schedule they are trained with.

:data:`SETTINGS` holds one :class:`CompareSetting` per book setting; :data:`MODELS` names every
model of the comparison and says, as data, how to build it, which loss trains it and how to read
class scores from it (:class:`ModelSpec`), so that the experiment runner
(:mod:`capsnet_book.compare`) treats them all alike, with no switch on their names. The models, by name:

* ``capsnet``: the CapsNet of chapter 6 (dynamic routing, 3 iterations, margin loss plus the
  scaled reconstruction loss, its own ``train_step``), sized for the 40x40 canvas by
  :class:`CanvasCapsNet`;
* the routing variants of chapter 6: ``capsnet_r1`` (1 iteration: uniform coupling, no
  routing), ``capsnet_scale10`` (agreements multiplied by 10 before the softmax) and
  ``capsnet_through`` (gradients through every routing iteration, as in the authors' code);
* ``capsnet_no_recon``: 3 iterations and no reconstruction loss;
* ``cnn_matched``: a CNN (batch norm, dropout) matched to ``capsnet`` on both inference
  weights (the CapsNet's decoder left out) and FLOPs per image;
* ``cnn_blurpool``: ``cnn_matched`` with Zhang (2019)'s anti-aliased max pooling;
* ``p4_cnn``: the rotation-equivariant CNN of :mod:`capsnet_book.group_conv` (logits
  invariant to 90-degree turns), and ``z2_cnn``, its plain twin with the same layers and head
  (:func:`~capsnet_book.group_conv.build_z2_cnn`), so that the two differ in the group alone.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from typing import Any, Callable, Sequence

import keras
import numpy as np
from keras import layers, ops

from capsnet_book.capsnet import RECONSTRUCTION_WEIGHT, CapsNet, CapsNetConfig
from capsnet_book.cnn import classifier_head, downsample_layers
from capsnet_book.group_conv import build_p4_cnn, build_z2_cnn

__all__ = [
    "MODELS",
    "MODEL_NAMES",
    "SETTINGS",
    "CanvasCapsNet",
    "CompareSetting",
    "ModelSpec",
    "build_cnn",
    "build_model",
    "model_spec",
    "resolve_setting",
    "with_setting",
]

N_CLASSES = 10


@dataclass(frozen=True)
class CompareSetting:
    """Sizes and schedule of one setting of the comparison (see :data:`SETTINGS`).

    Training follows the paper's affNIST protocol: every training digit is placed at random on
    the canvas anew each epoch (up to ``max_shift`` pixels from the centre). A fraction of the
    training digits is held out for validation; training stops when the validation accuracy
    has not improved for ``patience`` epochs (at most ``max_epochs``), and the weights of the
    best epoch are kept. The learning rate is chosen per model, on validation, among
    ``learning_rates``.
    """

    n_train: int | None  # training digits, validation included (None: the whole training split)
    n_eval: int | None  # test digits per test set (None: the whole test split)
    max_epochs: int
    patience: int
    batch_size: int
    learning_rates: tuple[float, ...]
    validation_fraction: float
    canvas: int  # side of the square canvas every image lives on
    max_shift: int  # training placement: random shifts of up to this many pixels per axis
    capsnet: CapsNetConfig
    cnn_matched: tuple[tuple[int, ...], int]  # (conv widths per block, dense units)
    p4_filters: tuple[int, ...]
    p4_dense: int
    dropout: float


SETTINGS: dict[str, CompareSetting] = {
    # 2-core CPU: a handful of runs must fit in a few minutes, so everything is small.
    "quick": CompareSetting(
        n_train=2000, n_eval=500, max_epochs=12, patience=3, batch_size=32, learning_rates=(2e-3,),
        validation_fraction=0.2, canvas=40, max_shift=6,
        capsnet=CapsNetConfig(conv_filters=16, conv_kernel=9, primary_channels=4, primary_dim=8, primary_kernel=9,
                              primary_strides=2, digit_dim=16, decoder_units=(128, 256)),
        # (28, 48, 64) convolutions and 459 dense units: 780 k inference weights and 17.7 MFLOPs
        # per image, against the CapsNet's 780 k and 17.1 M (tests/test_compare.py checks it).
        cnn_matched=((28, 48, 64), 459),
        p4_filters=(8, 16, 24, 32), p4_dense=64, dropout=0.3,
    ),
    # GPU: the paper's CapsNet on the 40x40 canvas, every training digit, the full test split.
    "paper": CompareSetting(
        n_train=None, n_eval=None, max_epochs=60, patience=5, batch_size=128, learning_rates=(1e-3, 3e-4),
        validation_fraction=1 / 12, canvas=40, max_shift=6,
        capsnet=CapsNetConfig(conv_filters=256, conv_kernel=9, primary_channels=32, primary_dim=8, primary_kernel=9,
                              primary_strides=2, digit_dim=16, decoder_units=(512, 1024)),
        # 11.24 M inference weights and 1.62 GFLOPs per image, against the CapsNet's 11.23 M and 1.59 G.
        cnn_matched=((288, 512, 576), 503),
        p4_filters=(32, 64, 96, 128), p4_dense=256, dropout=0.5,
    ),
}


def resolve_setting(setting: str | CompareSetting) -> CompareSetting:
    """``setting`` itself if it is a :class:`CompareSetting`, else :data:`SETTINGS` of that name."""
    if isinstance(setting, CompareSetting):
        return setting
    if setting not in SETTINGS:
        raise ValueError(f"Unknown setting {setting!r}; choose 'quick' or 'paper', or pass a CompareSetting.")
    return SETTINGS[setting]


def with_setting(setting: str | CompareSetting, **changes: Any) -> CompareSetting:
    """A copy of a setting with some fields changed, e.g. ``with_setting("quick", epochs=5)``."""
    return replace(resolve_setting(setting), **changes)


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
        super().__init__(config, routing_iterations, **kwargs)  # routing options and the loss's weight too
        self.size = int(size)
        self.decoder = keras.Sequential(
            [layers.Dense(units, activation="relu") for units in config.decoder_units]
            + [layers.Dense(self.size * self.size, activation="sigmoid"), layers.Reshape((self.size, self.size, 1))],
            name="decoder",
        )

    def get_config(self) -> dict:
        return {**super().get_config(), "size": self.size}


def build_cnn(
    widths: Sequence[int] = (16, 32, 32),
    dense: int = 256,
    anti_aliased: bool = False,
    dropout: float = 0.3,
    input_shape: tuple[int, int, int] = (40, 40, 1),
    n_classes: int = N_CLASSES,
    name: str = "cnn",
) -> keras.Model:
    """A CNN baseline: per width a 3x3 convolution, batch norm, ReLU and 2x2 max pooling.

    Then flatten, a dense layer (ReLU), dropout and the logits. With ``anti_aliased`` each
    pooling is a stride-1 max followed by :class:`~capsnet_book.cnn.BlurPool2D` (Zhang, 2019).

    Shape: ``images [batch, h, w, c] -> logits [batch, n_classes]``.

    Args:
        widths: filters of each convolution block (one pooling per block).
        dense: units of the hidden dense layer.
        anti_aliased: use blur pooling instead of plain max pooling.
        dropout: rate before the logits (0 for none).
        input_shape: ``(h, w, c)``.
        n_classes: size of the output.
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
    return keras.Model(inputs, classifier_head(x, dense, dropout, n_classes), name=name)


@dataclass(frozen=True)
class ModelSpec:
    """How to build one model of the comparison, how it is compiled, and how to read its scores.

    ``build(setting, name) -> model``; ``compile_options()``: the ``loss`` and ``metrics`` that
    :func:`capsnet_book.training.fit` gets (nothing for a CapsNet, whose ``train_step`` computes its
    own objective, the one chapter 6's training uses; cross-entropy and accuracy for a CNN);
    ``scores(outputs) -> [n, 10]``: the class scores from what
    :func:`capsnet_book.evaluate.class_scores` returns (capsule lengths as they are, logits turned
    into softmax probabilities).
    """

    build: Callable[[CompareSetting, str], keras.Model]
    compile_options: Callable[[], dict]
    scores: Callable[[np.ndarray], np.ndarray]


def _capsnet(iterations: int, reconstruction_weight: float, **routing: Any) -> Callable[[CompareSetting, str], keras.Model]:
    def build(s: CompareSetting, name: str) -> keras.Model:
        model = CanvasCapsNet(s.capsnet, iterations, size=s.canvas, reconstruction_weight=reconstruction_weight,
                              name=name, **routing)
        with warnings.catch_warnings():  # Keras notes that a subclassed model has no build()
            warnings.simplefilter("ignore", UserWarning)
            model(ops.zeros((1, s.canvas, s.canvas, 1)))
        return model

    return build


def _cnn(anti_aliased: bool) -> Callable[[CompareSetting, str], keras.Model]:
    def build(s: CompareSetting, name: str) -> keras.Model:
        widths, dense = s.cnn_matched
        return build_cnn(widths, dense, anti_aliased, s.dropout, (s.canvas, s.canvas, 1), name=name)

    return build


def _p4(s: CompareSetting, name: str) -> keras.Model:
    return build_p4_cnn(s.p4_filters, (s.canvas, s.canvas, 1), s.p4_dense, 0.0, name=name)


def _z2(s: CompareSetting, name: str) -> keras.Model:
    return build_z2_cnn(s.p4_filters, (s.canvas, s.canvas, 1), s.p4_dense, 0.0, name=name)


def _own_objective() -> dict:
    return {}


def _cross_entropy() -> dict:
    return {"loss": keras.losses.CategoricalCrossentropy(from_logits=True), "metrics": ["accuracy"]}


def _capsule_lengths(lengths: np.ndarray) -> np.ndarray:
    return lengths


def _softmax(logits: np.ndarray) -> np.ndarray:
    return np.asarray(ops.softmax(logits, axis=-1))


_CAPSNET = {"compile_options": _own_objective, "scores": _capsule_lengths}
_CLASSIFIER = {"compile_options": _cross_entropy, "scores": _softmax}
MODELS: dict[str, ModelSpec] = {
    "capsnet": ModelSpec(_capsnet(3, RECONSTRUCTION_WEIGHT), **_CAPSNET),
    "capsnet_r1": ModelSpec(_capsnet(1, RECONSTRUCTION_WEIGHT), **_CAPSNET),
    "capsnet_scale10": ModelSpec(_capsnet(3, RECONSTRUCTION_WEIGHT, logit_scale=10.0), **_CAPSNET),
    "capsnet_through": ModelSpec(_capsnet(3, RECONSTRUCTION_WEIGHT, gradient_through_routing=True), **_CAPSNET),
    "capsnet_no_recon": ModelSpec(_capsnet(3, 0.0), **_CAPSNET),
    "cnn_matched": ModelSpec(_cnn(False), **_CLASSIFIER),
    "cnn_blurpool": ModelSpec(_cnn(True), **_CLASSIFIER),
    "p4_cnn": ModelSpec(_p4, **_CLASSIFIER),
    "z2_cnn": ModelSpec(_z2, **_CLASSIFIER),
}
MODEL_NAMES = tuple(MODELS)


def model_spec(name: str) -> ModelSpec:
    """The :class:`ModelSpec` of ``name``.

    Raises:
        ValueError: unknown ``name``.
    """
    if name not in MODELS:
        raise ValueError(f"Unknown model {name!r}; choose one of {', '.join(MODEL_NAMES)}.")
    return MODELS[name]


def build_model(name: str, setting: str | CompareSetting = "quick") -> keras.Model:
    """The model called ``name`` (one of :data:`MODEL_NAMES`), built for ``setting``, named ``name``.

    CapsNets return ``(lengths, reconstructions)`` (see :class:`CanvasCapsNet`); the others
    return logits ``[batch, 10]``.

    Raises:
        ValueError: unknown ``name`` or ``setting``.
    """
    return model_spec(name).build(resolve_setting(setting), name)
