"""Behaviour of ccodec.target.quantize_to_target on small generated images."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from ccodec import OptionError, Quantized, quantize
from ccodec.metrics import mse
from ccodec.model import MAX_COLORS
from ccodec.target import TargetQuantized, quantize_to_target


def three_colours() -> np.ndarray:
    """A 6x6 RGB image of three well separated colours."""
    colours = np.array([(0, 0, 0), (250, 10, 10), (10, 10, 250)], np.uint8)
    return colours[np.arange(36).reshape(6, 6) % 3]


def gradient(size: int = 40, seed: int = 1) -> np.ndarray:
    """A smooth RGB image with noise: many colours, error falling with K."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    base = np.stack([x, y, (x + y) / 2], axis=-1) * 230
    return np.clip(base + rng.normal(0, 2, base.shape), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def small_errors() -> dict[int, float]:
    """The MSE of a full `quantize` of gradient(24) at every K from 1 to 48."""
    pixels = gradient(24)
    return {k: mse(pixels, quantize(pixels, k).to_array()) for k in range(1, 49)}


def test_zero_target_on_three_colours_gives_k_3_exactly():
    q = quantize_to_target(three_colours(), max_mse=0)
    assert isinstance(q, TargetQuantized) and isinstance(q, Quantized)
    assert q.k == 3 and q.reached and q.mse == 0
    assert np.array_equal(q.to_array(), three_colours())


def test_small_positive_target_on_three_colours_needs_all_three():
    # Merging any two of the colours costs far more than 1e-6.
    q = quantize_to_target(three_colours(), max_mse=1e-6)
    assert q.k == 3 and q.mse == 0


def test_target_met_by_one_colour_gives_k_1():
    pixels = np.full((5, 4, 3), 100, np.uint8)
    pixels[0, 0] = (101, 100, 100)
    q = quantize_to_target(pixels, max_mse=1e-3)
    assert q.k == 1 and q.reached
    assert q.mse == pytest.approx(mse(pixels, quantize(pixels, 1).to_array()))


def test_result_is_the_full_quantize_at_that_k():
    pixels = gradient()
    q = quantize_to_target(pixels, min_psnr=30, seed=3)
    assert q == quantize(pixels, q.k, seed=3)
    assert q.mse == mse(pixels, q.to_array()) <= q.target
    assert (q.k, q.mse) in q.trials


@pytest.mark.parametrize("psnr", [20.0, 27.5, 33.0])
def test_psnr_is_the_mse_it_converts_to(psnr):
    pixels = gradient()
    by_psnr = quantize_to_target(pixels, min_psnr=psnr)
    by_mse = quantize_to_target(pixels, max_mse=10 ** (-psnr / 10))
    assert by_psnr.k == by_mse.k and by_psnr == by_mse
    assert by_psnr.target == pytest.approx(10 ** (-psnr / 10))


@pytest.mark.parametrize("target", [2e-2, 5e-3, 2.5e-3, 1.5e-3])
def test_k_is_the_smallest_that_meets_the_target(target, small_errors):
    errors = small_errors
    q = quantize_to_target(gradient(24), max_mse=target, k_max=48)
    assert q.reached
    assert errors[q.k] <= target
    assert all(errors[k] > target for k in range(1, q.k))


def test_smallest_k_on_an_image_searched_on_a_subsample():
    # 300 x 300 pixels: the search starts on a subsample, then runs in full.
    pixels = gradient(300, seed=2)
    q = quantize_to_target(pixels, min_psnr=26, k_max=32)
    assert q.reached
    assert mse(pixels, quantize(pixels, q.k).to_array()) <= q.target
    assert q.k == 1 or mse(pixels, quantize(pixels, q.k - 1).to_array()) > q.target


def test_unreachable_target_returns_k_max_and_says_so():
    pixels = gradient()
    q = quantize_to_target(pixels, min_psnr=60, k_max=8)
    assert not q.reached
    assert q.k == 8 and q == quantize(pixels, 8)
    assert q.mse > q.target


def test_zero_target_beyond_k_max_is_not_reached():
    q = quantize_to_target(three_colours(), max_mse=0, k_max=2)
    assert q.k == 2 and not q.reached and q.mse > 0


def test_same_inputs_same_result():
    pixels = gradient(300, seed=4)
    first = quantize_to_target(pixels, min_psnr=26, seed=7)
    second = quantize_to_target(pixels, min_psnr=26, seed=7)
    assert first.k == second.k and first == second and first.trials == second.trials


def test_grey_and_alpha_images():
    grey = gradient()[..., 0]
    q = quantize_to_target(grey, max_mse=1e-3)
    assert q.mode == "L" and q.mse <= 1e-3
    rgba = np.dstack([gradient(), np.full((40, 40), 255, np.uint8)])
    assert quantize_to_target(rgba, max_mse=1e-3).mode == "RGBA"


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({}, "exactly one"),
        ({"max_mse": 1e-3, "min_psnr": 30}, "exactly one"),
        ({"max_mse": -1e-3}, "max_mse=-0.001"),
        ({"max_mse": math.inf}, "max_mse=inf"),
        ({"max_mse": math.nan}, "max_mse=nan"),
        ({"max_mse": "0.1"}, "max_mse='0.1'"),
        ({"min_psnr": True}, "min_psnr=True"),
        ({"min_psnr": math.nan}, "min_psnr=nan"),
        ({"max_mse": 1e-3, "k_max": 0}, "k_max=0"),
        ({"max_mse": 1e-3, "k_max": MAX_COLORS + 1}, f"k_max={MAX_COLORS + 1}"),
        ({"max_mse": 1e-3, "seed": -1}, "seed=-1"),
        ({"max_mse": 1e-3, "max_iter": 0}, "max_iter=0"),
        ({"max_mse": 1e-3, "space": "lab"}, "space='lab'"),
    ],
)
def test_bad_options_name_the_value(options, named):
    with pytest.raises(OptionError, match=re.escape(named)):
        quantize_to_target(three_colours(), **options)


def test_bad_pixels_are_an_option_error():
    with pytest.raises(OptionError, match="uint8"):
        quantize_to_target(np.zeros((2, 2, 3), np.float32), max_mse=1e-3)


def test_very_low_psnr_means_any_k():
    assert quantize_to_target(gradient(), min_psnr=-5000).k == 1


def test_a_target_equal_to_an_error_is_met(small_errors):
    q = quantize_to_target(gradient(24), max_mse=small_errors[10], k_max=48)
    assert q.mse == small_errors[10]
    assert q.k == min(k for k, error in small_errors.items() if error <= small_errors[10])


def test_oklab_space_is_the_full_quantize_in_that_space():
    pixels = gradient()
    q = quantize_to_target(pixels, max_mse=5e-3, space="oklab")
    assert q == quantize(pixels, q.k, space="oklab")
    assert q.mse == mse(pixels, q.to_array()) <= 5e-3
    assert q.k == 1 or mse(pixels, quantize(pixels, q.k - 1, space="oklab").to_array()) > 5e-3


def test_k_max_is_256_unless_given():
    pixels = np.random.default_rng(5).integers(0, 256, (24, 24, 3), dtype=np.uint8)
    q = quantize_to_target(pixels, min_psnr=80)
    assert q.k == 256 and not q.reached


def test_first_full_run_below_the_answer_is_the_proof():
    # Every full run is recorded; K - 1 is among them and fails.
    pixels = gradient()
    q = quantize_to_target(pixels, max_mse=3e-3)
    errors = dict(q.trials)
    assert errors[q.k] <= 3e-3 < errors[q.k - 1]
    assert all(error > 3e-3 for k, error in q.trials if k < q.k)


def few_colours(count: int, size: int = 40, seed: int = 6) -> np.ndarray:
    """A size x size RGB image of exactly `count` random distinct colours, each used."""
    rng = np.random.default_rng(seed)
    keys = rng.choice(1 << 24, count, replace=False)
    colours = np.stack([keys >> 16, (keys >> 8) & 255, keys & 255], axis=1).astype(np.uint8)
    index = np.concatenate([np.arange(count), rng.integers(0, count, size * size - count)])
    return colours[rng.permutation(index)].reshape(size, size, 3)


def test_large_k_max_finds_the_number_of_colours():
    # 600 colours, above the 256 where the estimate switches to the split
    # start: only all of them meet a target no fewer can, and K stops there.
    pixels = few_colours(600)
    q = quantize_to_target(pixels, min_psnr=90, k_max=MAX_COLORS)
    assert q.reached and q.k == 600 and q.mse == 0
    assert mse(pixels, quantize(pixels, 599).to_array()) > q.target


def test_estimate_above_the_number_of_colours_is_the_binning_error():
    from ccodec.target import _Estimate

    estimate = _Estimate(few_colours(600))
    # Every colour its own centre: nothing left but rounding (no start asked for more centres).
    assert all(estimate(k) < 1e-20 for k in (600, 5000, MAX_COLORS))
    # Above 256 (split start) and below the colours: a positive error, less than at 256.
    assert 0 < estimate(400) < estimate(256)


@pytest.mark.parametrize("target", [3e-2, 8e-3, 2e-3, 6e-4])
def test_estimate_smallest_lands_on_a_crossing(target):
    from ccodec.target import _Estimate

    estimate = _Estimate(gradient(120, seed=3))
    k = estimate.smallest(target, 1, 200)
    # A K whose estimate meets while K - 1's does not (the estimate may rise a little with K).
    assert 1 <= k < 200
    assert estimate(k) <= target and (k == 1 or estimate(k - 1) > target)


def test_estimate_smallest_is_high_when_nothing_meets_and_low_when_it_does():
    from ccodec.target import _Estimate

    estimate = _Estimate(gradient(60, seed=3))
    assert estimate.smallest(1e-12, 1, 20) == 20 and estimate(20) > 1e-12
    assert estimate.smallest(1.0, 5, 20) == 5


def test_growing_start_hands_out_prefixes_of_one_draw():
    from ccodec.target import _GrowingStart

    rng = np.random.default_rng(0)
    points = rng.random((300, 3)).astype(np.float32)
    weights = rng.integers(1, 50, 300).astype(np.float64)
    start = _GrowingStart(points, weights)
    eight = start.centers(8).copy()
    assert np.array_equal(start.centers(3), eight[:3])
    assert np.array_equal(_GrowingStart(points, weights).centers(5), eight[:5])
    assert len(np.unique(start.centers(40), axis=0)) == 40


def test_estimate_does_not_depend_on_the_order_k_are_asked_in():
    from ccodec.target import _Estimate

    pixels = gradient(120, seed=5)
    ks = [3, 40, 7, 64, 12, 90, 5]
    forward, backward = _Estimate(pixels), _Estimate(pixels)
    first = {k: forward(k) for k in ks}
    second = {k: backward(k) for k in reversed(ks)}
    assert first == second
