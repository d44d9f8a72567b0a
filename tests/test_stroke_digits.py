"""The parts test of chapter 7: seven-segment digits whose identical strokes are rearranged."""

from __future__ import annotations

import numpy as np
import pytest

from capsnet_book.stroke_digits import SEGMENTS_OF_DIGIT, stroke_digit_pairs


@pytest.fixture(scope="module")
def pairs():
    return stroke_digit_pairs(60, seed=0)


def test_shapes_labels_and_range(pairs):
    intact, rearranged, labels = pairs
    assert intact.shape == rearranged.shape == (60, 40, 40, 1)
    assert labels.tolist() == [i % 10 for i in range(60)]
    assert 0 <= intact.min() and intact.max() <= 1 + 1e-6 and rearranged.max() <= 1 + 1e-6


def test_the_two_images_hold_the_same_ink_in_other_places(pairs):
    intact, rearranged, _ = pairs
    np.testing.assert_allclose(intact.sum(axis=(1, 2, 3)), rearranged.sum(axis=(1, 2, 3)), rtol=1e-4)
    # ... and the same grey levels, pixel for pixel, once sorted: the strokes are only moved
    for a, b in zip(intact[:10], rearranged[:10]):
        np.testing.assert_allclose(np.sort(a[a > 0]), np.sort(b[b > 0]), atol=1e-5)
    moved_pixels = np.mean(np.abs(intact - rearranged).sum(axis=(1, 2, 3)) / intact.sum(axis=(1, 2, 3)))
    assert moved_pixels > 1.0, "most of the ink should be somewhere else"


def test_each_digit_has_its_segments_as_separate_strokes(pairs):
    intact, _, labels = pairs
    from scipy import ndimage  # a test dependency (requirements.txt)

    for image, label in zip(intact[:10, :, :, 0], labels[:10]):
        _, count = ndimage.label(image > 0.5)  # the strokes' cores: their soft edges may meet
        assert count == len(SEGMENTS_OF_DIGIT[int(label)]), f"digit {label}: strokes must not touch"


def test_deterministic_and_seeded():
    a = stroke_digit_pairs(10, seed=3)
    b = stroke_digit_pairs(10, seed=3)
    c = stroke_digit_pairs(10, seed=4)
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])


@pytest.mark.parametrize("kwargs, message", [
    ({"n": 0}, "n must be at least 1"),
    ({"n": 5, "size": 20}, "at least 28 pixels"),
    ({"n": 5, "min_move": 6, "max_move": 3}, "min_move <= max_move"),
])
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        stroke_digit_pairs(seed=0, **kwargs)
