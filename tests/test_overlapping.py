"""The MultiMNIST CapsNet of chapter 8: its objective, its metric and its batches."""

from __future__ import annotations

import numpy as np
import pytest

from capsnet_book.notebook import quiet_logs

quiet_logs()

import keras  # noqa: E402

from capsnet_book.capsnet import CapsNetConfig  # noqa: E402
from capsnet_book.costs import inference_parameters  # noqa: E402
from capsnet_book.datasets import OverlapPairs  # noqa: E402
from capsnet_book.evaluate import class_scores  # noqa: E402
from capsnet_book.models import build_overlap_capsnet, build_pair_cnn, matching_dense_units  # noqa: E402
from capsnet_book.multimnist import BothRight, both_right, both_right_each, both_right_tensor, make_pairs, two_hot  # noqa: E402
from capsnet_book.overlapping import fit_on_pairs  # noqa: E402

TINY = CapsNetConfig(conv_filters=4, conv_kernel=3, primary_channels=2, primary_dim=4, primary_kernel=3,
                     primary_strides=2, digit_dim=4, decoder_units=(16,))


@pytest.fixture(scope="module")
def pairs():
    rng = np.random.default_rng(0)
    digits = np.zeros((30, 28, 28, 1), np.float32)
    digits[:, 6:22, 8:20] = rng.random((30, 16, 12, 1))
    return make_pairs(digits, np.arange(30) % 10, 24, seed=0, canvas=36)


def test_both_right_tensor_agrees_with_the_numpy_metric():
    rng = np.random.default_rng(1)
    lengths = rng.random((200, 10)).astype(np.float32)
    label_pairs = np.stack([rng.integers(0, 5, 200), rng.integers(5, 10, 200)], axis=1)
    lengths[:100][np.arange(100)[:, None], label_pairs[:100]] += 1.0  # half of them right
    per_example = np.asarray(both_right_tensor(lengths, two_hot(label_pairs)))
    assert per_example.mean() == pytest.approx(both_right(lengths, label_pairs))
    assert per_example[:100].all()
    np.testing.assert_array_equal(per_example.astype(bool), both_right_each(lengths, label_pairs))


def test_both_right_metric_scores_a_two_label_model_and_survives_saving(tmp_path):
    label_pairs = np.array([[0, 1], [2, 3], [4, 5], [6, 7]])
    logits = np.full((4, 10), -5.0, np.float32)
    logits[np.arange(3)[:, None], label_pairs[:3]] = 5.0  # three of four right
    metric = BothRight()
    metric.update_state(two_hot(label_pairs), logits)
    assert float(metric.result()) == pytest.approx(0.75)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(10)])
    model.compile(optimizer="adam", loss=keras.losses.BinaryCrossentropy(from_logits=True), metrics=[BothRight()])
    model.fit(np.zeros((8, 3)), two_hot(np.tile(label_pairs, (2, 1))), epochs=1, verbose=0)
    model.save(tmp_path / "two_label.keras")
    keras.models.load_model(tmp_path / "two_label.keras")  # the metric is found again


def test_batches_carry_every_target(pairs):
    overlay, first, second, label_pairs = pairs
    batches = OverlapPairs(overlay, first, second, label_pairs, batch_size=8, seed=0)
    images, targets = batches[0]
    assert len(batches) == 3 and images.shape == (8, 36, 36, 1)
    assert set(targets) == {"both", "first_label", "second_label", "first", "second"}
    np.testing.assert_array_equal(targets["both"], targets["first_label"] + targets["second_label"])
    row = batches.order[0]
    np.testing.assert_array_equal(targets["first"][0], first[row])
    only = OverlapPairs(overlay, first, second, label_pairs, batch_size=8, seed=0, labels_only=True)
    same_images, two_hot_labels = only[0]
    np.testing.assert_array_equal(same_images, images)  # same seed, same batches
    np.testing.assert_array_equal(two_hot_labels, targets["both"])
    with pytest.raises(ValueError, match="differ in length"):
        OverlapPairs(overlay, first[:3], second, label_pairs, 8, 0)


def test_each_digit_is_reconstructed_from_its_own_capsule(pairs):
    overlay, first, second, label_pairs = pairs
    keras.utils.set_random_seed(0)
    model = build_overlap_capsnet(TINY, 3, size=36)
    eye = np.eye(10, dtype="float32")
    capsules = np.asarray(model.digit_capsules(overlay[:4]))
    _, from_first, from_second = model.reconstruct_each(overlay[:4], eye[label_pairs[:4, 0]], eye[label_pairs[:4, 1]])
    np.testing.assert_allclose(np.asarray(from_first), np.asarray(model.decode(capsules, eye[label_pairs[:4, 0]])), atol=1e-6)
    np.testing.assert_allclose(np.asarray(from_second), np.asarray(model.decode(capsules, eye[label_pairs[:4, 1]])), atol=1e-6)
    # The decoder of the first digit sees that digit's capsule and nothing of the second one.
    rows = np.arange(4)
    seen = np.asarray(model.mask(capsules, eye[label_pairs[:4, 0]])).reshape(4, 10, -1)
    np.testing.assert_array_equal(seen[rows, label_pairs[:4, 0]], capsules[rows, label_pairs[:4, 0]])
    assert not seen[rows, label_pairs[:4, 1]].any(), "the other digit's capsule is masked out"


def test_fit_lowers_the_objective_and_reports_both_right(pairs):
    overlay, first, second, label_pairs = pairs
    keras.utils.set_random_seed(0)
    model = build_overlap_capsnet(TINY, 3, size=36)
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    history = model.fit(OverlapPairs(overlay, first, second, label_pairs, 8, seed=0), epochs=4, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert set(history.history) == {"loss", "both_right"} and 0 <= history.history["both_right"][-1] <= 1


def test_the_dense_units_are_solved_to_match_the_weights():
    target = inference_parameters(build_overlap_capsnet(TINY, 3, size=36))
    units = matching_dense_units(target, (4, 8), size=36)
    assert abs(inference_parameters(build_pair_cnn((4, 8), units, size=36)) - target) <= 2 * 8 * 9 * 9 + 12
    with pytest.raises(ValueError, match="narrower widths"):
        matching_dense_units(100, (64, 128), size=36)


@pytest.mark.parametrize("kind", ["capsnet", "cnn"])
def test_fit_on_pairs_keeps_the_best_epoch_for_either_model(pairs, kind):
    keras.utils.set_random_seed(0)
    model = build_overlap_capsnet(TINY, 3, size=36) if kind == "capsnet" else build_pair_cnn((4,), 8, size=36)
    curve = fit_on_pairs(model, pairs, pairs, seed=0, batch_size=8, learning_rate=3e-3, max_epochs=3, patience=1)
    assert 2 <= len(curve) <= 3 and all(0 <= rate <= 1 for rate in curve)
    scores = class_scores(model, pairs[0], batch_size=10)  # in batches that do not divide the 24 pairs
    assert scores.shape == (24, 10)
    kept = both_right(scores, pairs[3])
    # The restored weights are the best epoch's: its validation rate (on full batches of the same pairs).
    assert kept == pytest.approx(max(curve), abs=1e-6)

