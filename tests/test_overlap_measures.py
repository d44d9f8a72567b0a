"""Unit tests of capsnet_book.overlap_measures against plain NumPy references."""

from __future__ import annotations

import numpy as np
import pytest

from capsnet_book import overlap_measures as M
from capsnet_book.multimnist import make_pairs
from capsnet_book.readout import linear_readout
from capsnet_book.transforms import place_on_canvas


def digits(n=12, seed=0):
    """Random blobs as stand-in digits: [n, 28, 28, 1] in [0, 1] with ink in the 20x20 centre."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 28, 28, 1), np.float32)
    x[:, 4:24, 4:24, 0] = rng.random((n, 20, 20)) > 0.6
    return x, np.arange(n) % 4


def test_shifted_box_overlap_matches_a_pixel_count():
    x, y = digits()
    _, _, _, _, _, shifts = make_pairs(x, y, 50, seed=1, return_sources=True)
    box = np.zeros((1, 28, 28, 1), np.float32)
    box[0, 4:24, 4:24] = 1  # the 20x20 box of a centred digit
    a = place_on_canvas(np.repeat(box, 50, 0), 36, shifts[:, 0, 0], shifts[:, 0, 1])[..., 0] > 0
    b = place_on_canvas(np.repeat(box, 50, 0), 36, shifts[:, 1, 0], shifts[:, 1, 1])[..., 0] > 0
    np.testing.assert_allclose(M.shifted_box_overlap(shifts), (a & b).sum((1, 2)) / 400)


def test_shifted_box_overlap_expectation_under_the_paper_shifts():
    # dy, dx independent and uniform on -4..4: E|d0 - d1| = 80/27, so E[overlap] = ((20 - 80/27) / 20)^2.
    grid = np.array([[[a, c], [b, d]] for a in range(-4, 5) for b in range(-4, 5) for c in range(-4, 5)
                     for d in range(-4, 5)])
    assert M.shifted_box_overlap(grid).mean() == pytest.approx(((20 - 80 / 27) / 20) ** 2)
    with pytest.raises(ValueError, match=r"expected shape \[n, 2, 2\]"):
        M.shifted_box_overlap(np.zeros((3, 2)))


def test_ink_box_overlap_against_pixel_masks():
    x, y = digits()
    _, first, second, _ = make_pairs(x, y, 30, seed=2)
    out = M.ink_box_overlap(first, second)
    for i in range(30):
        masks = []
        for img in (first[i, ..., 0], second[i, ..., 0]):
            r, c = np.nonzero(img > 0.1)
            m = np.zeros_like(img, bool)
            m[r.min(): r.max() + 1, c.min(): c.max() + 1] = True
            masks.append(m)
        inter = (masks[0] & masks[1]).sum()
        assert out["over_smaller"][i] == pytest.approx(inter / min(masks[0].sum(), masks[1].sum()))
        assert out["iou"][i] == pytest.approx(inter / (masks[0] | masks[1]).sum())


def test_ink_boxes_rejects_an_empty_image():
    with pytest.raises(ValueError, match="image 1 has no pixel above threshold=0.1"):
        M.ink_boxes(np.stack([np.ones((3, 3, 1)), np.zeros((3, 3, 1))]))


def test_overlay_sum_differs_from_the_maximum_only_where_both_have_ink():
    x, y = digits()
    overlay, first, second, _ = make_pairs(x, y, 20, seed=3)
    summed = M.overlay_sum(first, second)
    both = (first > 0) & (second > 0)
    np.testing.assert_array_equal(summed[~both], overlay[~both])
    assert np.all(summed >= overlay) and summed.max() <= 1


def test_closer_to_own_reference_and_shapes():
    rng = np.random.default_rng(0)
    a, b, ra, rb = (rng.random((7, 5, 5, 1)) for _ in range(4))
    own = ((ra - a) ** 2).sum((1, 2, 3)) + ((rb - b) ** 2).sum((1, 2, 3))
    swapped = ((ra - b) ** 2).sum((1, 2, 3)) + ((rb - a) ** 2).sum((1, 2, 3))
    np.testing.assert_array_equal(M.closer_to_own(ra, rb, a, b), own < swapped)
    assert M.closer_to_own(a, b, a, b).all() and not M.closer_to_own(b, a, a, b).any()
    with pytest.raises(ValueError, match="one shape"):
        M.closer_to_own(a, b[:3], a, b)


def test_templates_placed_and_matched():
    x, y = digits(8)
    templates = M.class_templates(x, y, 4)
    np.testing.assert_allclose(templates[1], x[y == 1].mean(0))
    classes = np.array([0, 3, 2])
    shifts = np.array([[2, -1], [-4, 4], [0, 0]])
    placed = M.place_templates(templates, classes, 36, shifts)
    np.testing.assert_array_equal(placed[1], place_on_canvas(templates[3:4], 36, -4, 4)[0])
    # A template alone on the canvas is found at its own shift.
    found, found_shifts = M.match_templates(templates, classes, placed, 4)
    np.testing.assert_array_equal(found_shifts, shifts)
    np.testing.assert_array_equal(found, placed)
    with pytest.raises(ValueError, match="class 3 has no image"):
        M.class_templates(x[y < 3], y[y < 3], 4)


def test_sweep_readout_equals_linear_readout_and_resamples():
    rng = np.random.default_rng(0)
    values = np.arange(-4.0, 5.0)
    features = values[:, None, None] * rng.normal(size=(1, 40, 6)) + rng.normal(size=(9, 40, 6))
    out = M.sweep_readout(features, values, 20, (1e-2, 1e2))
    target = np.repeat(values[:, None], 40, axis=1)
    expected = linear_readout(features[:, :20].reshape(-1, 6), target[:, :20].ravel(),
                              features[:, 20:].reshape(-1, 6), target[:, 20:].ravel(), out.ridge, standardise=False)
    assert out.r2 == pytest.approx(expected["r2"])
    assert out.residual.shape == out.total.shape == (20,)
    # Resampling every digit once gives the read-out's own R^2; two read-outs are compared on the same resamples.
    pair = M.resampled_r2(np.stack([out.residual, out.total]), out.total, n_boot=5)
    assert pair.shape == (5, 2) and np.allclose(pair[:, 1], 0)
    everyone = 1 - out.residual.sum() / out.total.sum()
    assert everyone == pytest.approx(out.r2)
    with pytest.raises(ValueError, match="n_fit=39"):
        M.sweep_readout(features, values, 39, (1.0,))
