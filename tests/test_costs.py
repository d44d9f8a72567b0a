"""Unit tests of capsnet_book.costs: parameters and FLOPs against hand-counted references."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

from capsnet_book.notebook import quiet_logs

quiet_logs()

import keras  # noqa: E402
from keras import layers  # noqa: E402

from capsnet_book.capsnet import CapsNet, CapsNetConfig  # noqa: E402
from capsnet_book.comparison_models import CanvasCapsNet  # noqa: E402
from capsnet_book.costs import (  # noqa: E402
    COLUMNS,
    cost_table,
    flops_per_image,
    inference_parameters,
)
from capsnet_book.group_conv import P4Conv2D, build_p4_cnn  # noqa: E402

# conv 4@3x3, primary capsules 2 x 4D @3x3 stride 2, 10 digit capsules of 4D, decoder 64-128.
SMALL = CapsNetConfig(conv_filters=4, conv_kernel=3, primary_channels=2, primary_dim=4, primary_kernel=3,
                      primary_strides=2, digit_dim=4, decoder_units=(64, 128))
SIDE = 12


def conv_flops(h_out: int, w_out: int, k: int, c_in: int, c_out: int, bias: bool) -> int:
    """2 FLOPs per multiply-add of the convolution, 1 per output for the bias."""
    return 2 * k * k * c_in * c_out * h_out * w_out + (c_out * h_out * w_out if bias else 0)


def dense_flops(n_in: int, n_out: int, bias: bool = True) -> int:
    return 2 * n_in * n_out + (n_out if bias else 0)


def sequential(input_shape: tuple[int, ...], *stack: layers.Layer) -> keras.Model:
    return keras.Sequential([keras.Input(input_shape), *stack])


def canvas_capsnet(iterations: int = 3) -> CanvasCapsNet:
    model = CanvasCapsNet(SMALL, iterations, size=SIDE)
    with warnings.catch_warnings():  # Keras notes that a subclassed model has no build()
        warnings.simplefilter("ignore", UserWarning)
        model(np.zeros((1, SIDE, SIDE, 1), "float32"))
    return model


def capsnet_sizes(side: int) -> dict[str, int]:
    """Hand-counted sizes of SMALL on a side x side image."""
    conv1 = side - SMALL.conv_kernel + 1
    primary = (conv1 - SMALL.primary_kernel) // SMALL.primary_strides + 1
    return {"conv1": conv1, "primary": primary, "n_in": primary * primary * SMALL.primary_channels}


# --- Conv2D and Dense against the analytic count -------------------------------------------


@pytest.mark.parametrize(
    "size, c_in, c_out, k, strides, padding, bias",
    [
        (8, 1, 4, 3, 1, "valid", False),
        (8, 1, 4, 3, 1, "valid", True),
        (10, 3, 5, 5, 2, "valid", True),
        (9, 2, 6, 3, 2, "same", True),
        (7, 4, 2, 1, 1, "same", False),
    ],
)
def test_conv2d_matches_the_analytic_count(size, c_in, c_out, k, strides, padding, bias):
    model = sequential((size, size, c_in), layers.Conv2D(c_out, k, strides=strides, padding=padding, use_bias=bias))
    h_out = (size - k) // strides + 1 if padding == "valid" else -(-size // strides)
    assert model.output_shape == (None, h_out, h_out, c_out)
    assert flops_per_image(model, (size, size, c_in)) == conv_flops(h_out, h_out, k, c_in, c_out, bias)
    assert inference_parameters(model) == k * k * c_in * c_out + (c_out if bias else 0)


@pytest.mark.parametrize("n_in, n_out, bias", [(5, 3, True), (7, 1, False), (64, 10, True)])
def test_dense_matches_the_analytic_count(n_in, n_out, bias):
    model = sequential((n_in,), layers.Dense(n_out, use_bias=bias))
    assert flops_per_image(model, (n_in,)) == dense_flops(n_in, n_out, bias)
    assert inference_parameters(model) == n_in * n_out + (n_out if bias else 0)


def test_flatten_relu_and_dropout_add_no_flops():
    model = sequential(
        (4, 4, 2), layers.Flatten(), layers.Dense(6, activation="relu"), layers.Dropout(0.5), layers.Dense(3)
    )
    assert flops_per_image(model, (4, 4, 2)) == dense_flops(32, 6) + dense_flops(6, 3)


def test_batch_norm_statistics_count_as_inference_weights():
    model = sequential((6, 6, 2), layers.Conv2D(5, 3, use_bias=False), layers.BatchNormalization())
    # gamma, beta (trainable), moving mean and variance (not trainable): 4 per channel.
    assert inference_parameters(model) == 3 * 3 * 2 * 5 + 4 * 5 == model.count_params()
    assert flops_per_image(model, (6, 6, 2)) > conv_flops(4, 4, 3, 2, 5, bias=False)


# --- CapsNets: the decoder is not an inference weight, routing costs FLOPs -----------------


def test_capsnet_inference_parameters_are_the_total_minus_the_decoder():
    model = canvas_capsnet()
    n_in = capsnet_sizes(SIDE)["n_in"]
    conv1 = 3 * 3 * 1 * 4 + 4
    primary = 3 * 3 * 4 * 8 + 8
    digit = n_in * 10 * 4 * 4
    assert inference_parameters(model) == conv1 + primary + digit
    assert inference_parameters(model) == model.count_params() - model.decoder.count_params()
    assert model.decoder.count_params() > 0


def test_chapter_6_capsnet_also_leaves_out_its_decoder():
    model = CapsNet(SMALL, 2)
    model(np.zeros((1, 28, 28, 1), "float32"))
    assert inference_parameters(model) == model.count_params() - model.decoder.count_params()
    inference_only = flops_per_image(model, (28, 28, 1))
    n_in = capsnet_sizes(28)["n_in"]
    assert inference_only >= 2 * n_in * 4 * 10 * 4  # at least the predictions u_hat = W u


@pytest.mark.parametrize("iterations", [1, 2, 3])
def test_capsnet_flops_are_the_convolutions_predictions_and_routing_not_the_decoder(iterations):
    model = canvas_capsnet(iterations)
    sizes = capsnet_sizes(SIDE)
    n_in, n_out, dim, dim_in = sizes["n_in"], 10, SMALL.digit_dim, SMALL.primary_dim
    products = (
        conv_flops(sizes["conv1"], sizes["conv1"], 3, 1, 4, bias=True)
        + conv_flops(sizes["primary"], sizes["primary"], 3, 4, 8, bias=True)
        + 2 * n_in * dim_in * n_out * dim  # u_hat = W u
        # every iteration sums the predictions weighted by c; all but the last measure agreement
        + (2 * iterations - 1) * 2 * n_in * n_out * dim
    )
    decoder = dense_flops(n_out * dim, 64) + dense_flops(64, 128) + dense_flops(128, SIDE * SIDE)
    rest = flops_per_image(model, (SIDE, SIDE, 1)) - products
    # what is left is element-wise work (squash, softmax, lengths), far less than the decoder
    assert 0 < rest < decoder / 2


def test_routing_iterations_raise_the_capsnet_flops():
    flops = [flops_per_image(canvas_capsnet(r), (SIDE, SIDE, 1)) for r in (1, 2, 3)]
    two_products = 2 * 2 * capsnet_sizes(SIDE)["n_in"] * 10 * SMALL.digit_dim
    assert flops[1] - flops[0] > two_products
    assert flops[2] - flops[1] > two_products
    params = {inference_parameters(canvas_capsnet(r)) for r in (1, 3)}
    assert len(params) == 1  # routing has no weights


# --- p4-CNN against a plain CNN of the same filters -----------------------------------------


def test_lifting_p4_convolution_is_four_plain_convolutions_with_one_set_of_weights():
    plain = sequential((8, 8, 2), layers.Conv2D(3, 3, padding="same"))
    p4 = sequential((8, 8, 2), P4Conv2D(3, 3, lifting=True))
    assert inference_parameters(p4) == inference_parameters(plain) == 3 * 3 * 2 * 3 + 3
    assert flops_per_image(p4, (8, 8, 2)) == 4 * flops_per_image(plain, (8, 8, 2))


def test_p4_to_p4_convolution_reads_and_writes_four_rotations():
    plain = sequential((8, 8, 2), layers.Conv2D(3, 3, padding="same", use_bias=False))
    p4 = sequential((8, 8, 4, 2), P4Conv2D(3, 3, lifting=False, use_bias=False))
    assert inference_parameters(p4) == 4 * inference_parameters(plain)
    assert flops_per_image(p4, (8, 8, 4, 2)) == 16 * flops_per_image(plain, (8, 8, 2))


def cnn_flops(filters: tuple[int, ...], side: int, dense: int, p4: bool) -> int:
    """FLOPs of build_p4_cnn (p4) or of its plain twin: convolutions, 2x2 pools, the head."""
    rotations = 4 if p4 else 1
    total, c_in, s = 0, 1, side
    for i, f in enumerate(filters):
        if i:
            s //= 2
            total += 4 * s * s * rotations * c_in  # 2x2 max pooling: 4 comparisons per output
        rotations_in = rotations if i else 1
        total += 2 * 3 * 3 * rotations_in * c_in * rotations * f * s * s + rotations * f * s * s
        c_in = f
    return total + dense_flops(c_in, dense) + dense_flops(dense, 10)


def test_p4_cnn_and_a_plain_cnn_of_the_same_filters_match_their_analytic_counts():
    filters, side, dense = (4, 8), 8, 16
    p4 = build_p4_cnn(filters, (side, side, 1), dense)
    plain = sequential(
        (side, side, 1),
        layers.Conv2D(4, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(8, 3, padding="same", activation="relu"),
        layers.GlobalMaxPooling2D(),
        layers.Dense(dense, activation="relu"),
        layers.Dense(10),
    )
    assert flops_per_image(plain, (side, side, 1)) == cnn_flops(filters, side, dense, p4=False)
    assert flops_per_image(p4, (side, side, 1)) == cnn_flops(filters, side, dense, p4=True)
    head = dense_flops(8, dense) + dense_flops(dense, 10)
    plain_conv1 = conv_flops(side, side, 3, 1, 4, bias=True)
    p4_conv1 = flops_per_image(sequential((side, side, 1), P4Conv2D(4, 3, lifting=True)), (side, side, 1))
    assert p4_conv1 == 4 * plain_conv1
    # one set of weights per filter: only the p4 -> p4 layer has 4x the weights (rotation axis)
    assert inference_parameters(p4) - inference_parameters(plain) == 3 * (3 * 3 * 4 * 8)
    assert flops_per_image(p4, (side, side, 1)) - head > 4 * (flops_per_image(plain, (side, side, 1)) - head)


# --- the table -------------------------------------------------------------------------------


def test_cost_table_has_one_row_per_model_in_order():
    capsnet = canvas_capsnet()
    cnn = sequential((SIDE, SIDE, 1), layers.Conv2D(4, 3), layers.Flatten(), layers.Dense(10))
    table = cost_table({"capsnet": capsnet, "cnn": cnn}, (SIDE, SIDE, 1))
    assert list(table.columns) == list(COLUMNS)
    assert list(table.index) == ["capsnet", "cnn"]
    assert table.loc["capsnet", "inference parameters"] == inference_parameters(capsnet)
    assert table.loc["capsnet", "all parameters"] == capsnet.count_params()
    assert table.loc["cnn", "inference parameters"] == table.loc["cnn", "all parameters"] == cnn.count_params()
    expected = np.array([flops_per_image(m, (SIDE, SIDE, 1)) for m in (capsnet, cnn)]) / 1e6
    np.testing.assert_allclose(table["FLOPs per image (millions)"].to_numpy(), expected)


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [(), (8, 0, 1), (8.0, 8, 1), (8, True, 1), "8x8", None])
def test_flops_rejects_a_bad_input_shape(bad):
    model = sequential((8, 8, 1), layers.Conv2D(2, 3))
    message = "flops_per_image: input_shape must be the shape of one image without the batch axis"
    with pytest.raises(ValueError, match=re.escape(f"{message}, a non-empty tuple of positive ints such as "
                                                   f"(40, 40, 1), got {bad!r}.")):
        flops_per_image(model, bad)


@pytest.mark.parametrize("shape", [(8, 8, 3), (8, 8), (6, 6, 1)])
def test_flops_rejects_a_shape_the_model_was_not_built_for(shape):
    model = sequential((8, 8, 1), layers.Conv2D(2, 3))
    with pytest.raises(ValueError, match=re.escape(
        f"flops_per_image: model {model.name!r} expects images of shape (8, 8, 1), got input_shape {shape}."
    )):
        flops_per_image(model, shape)


def test_flops_reports_a_capsnet_that_cannot_take_the_shape():
    model = canvas_capsnet()
    message = f"flops_per_image: model {model.name!r} does not accept images of shape (1, 12, 12, 3): ValueError: "
    with pytest.raises(ValueError, match=re.escape(message)):
        flops_per_image(model, (SIDE, SIDE, 3))


def test_flops_refuses_an_operation_the_profiler_cannot_count():
    model = sequential((6,), layers.Lambda(lambda x: keras.ops.cumsum(x, axis=-1)))
    with pytest.raises(ValueError, match=re.escape(
        "flops_per_image: TensorFlow's profiler has no FLOP count for the operation type(s) ['Cumsum'] "
        f"in model {model.name!r}; counting them as 0 would understate its cost."
    )):
        flops_per_image(model, (6,))


@pytest.mark.parametrize("function", [inference_parameters, lambda m: flops_per_image(m, (3,))])
def test_unbuilt_models_and_non_models_are_refused(function):
    unbuilt = keras.Sequential([layers.Dense(2)], name="unbuilt")
    name = "inference_parameters" if function is inference_parameters else "flops_per_image"
    with pytest.raises(ValueError, match=re.escape(
        f"{name}: model 'unbuilt' is not built (it has no weights yet); call it once on a batch of images first."
    )):
        function(unbuilt)
    with pytest.raises(TypeError, match=re.escape(f"{name}: expected a keras.Model, got Dense.")):
        function(layers.Dense(2))


def test_cost_table_refuses_an_empty_mapping_and_a_non_model():
    with pytest.raises(ValueError, match=re.escape("cost_table: expected at least one model, got an empty mapping.")):
        cost_table({}, (8, 8, 1))
    with pytest.raises(TypeError, match=re.escape("cost_table: models['cnn'] is a str, not a keras.Model.")):
        cost_table({"cnn": "cnn"}, (8, 8, 1))
