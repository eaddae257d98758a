"""sRGB <-> OKLab: reference values, round trips, layouts, the uint8 palette helper."""

from __future__ import annotations

import numpy as np
import pytest

from ccodec import OptionError
from ccodec.colorspace import oklab_palette_to_srgb, oklab_to_srgb, srgb_to_oklab

# Published OKLab values of the sRGB primaries and secondaries (Ottosson; also
# what colorjs.io and CSS Color 4 give for these colours), to five places.
REFERENCE = [
    ((1.0, 1.0, 1.0), (1.0, 0.0, 0.0)),
    ((0.0, 0.0, 0.0), (0.0, 0.0, 0.0)),
    ((1.0, 0.0, 0.0), (0.62796, 0.22486, 0.12585)),
    ((0.0, 1.0, 0.0), (0.86644, -0.23389, 0.17950)),
    ((0.0, 0.0, 1.0), (0.45201, -0.03246, -0.31153)),
]


@pytest.mark.parametrize(("rgb", "lab"), REFERENCE)
def test_reference_values(rgb, lab):
    assert srgb_to_oklab(np.array(rgb)) == pytest.approx(lab, abs=1e-5)


def test_mid_grey_lightness_is_the_cube_root_of_linear_luminance():
    # sRGB 0.5 is linear ((0.5 + 0.055) / 1.055) ** 2.4 = 0.21404.
    lab = srgb_to_oklab(np.array([0.5, 0.5, 0.5]))
    assert lab == pytest.approx([0.21404114 ** (1 / 3), 0, 0], abs=1e-6)


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_round_trip_random_colours(channels):
    values = np.random.default_rng(channels).random((50, 7, channels))
    lab = srgb_to_oklab(values)
    assert lab.shape == values.shape and lab.dtype == np.float64
    assert np.allclose(oklab_to_srgb(lab), values, atol=1e-9)


def test_alpha_passes_through_and_grey_agrees_with_rgb():
    rng = np.random.default_rng(5)
    grey, alpha = rng.random((20, 1)), rng.random((20, 1))
    rgba = np.hstack([grey, grey, grey, alpha])
    lab = srgb_to_oklab(rgba)
    assert np.array_equal(lab[:, 3], alpha[:, 0])
    assert np.allclose(lab[:, 1:3], 0, atol=1e-7)
    assert np.allclose(srgb_to_oklab(np.hstack([grey, alpha])), lab[:, [0, 3]], atol=1e-7)
    assert np.allclose(srgb_to_oklab(grey)[:, 0], lab[:, 0], atol=1e-7)


def test_lightness_orders_greys_and_distances_follow_perception():
    greys = srgb_to_oklab(np.linspace(0, 1, 11)[:, None])[:, 0]
    assert np.all(np.diff(greys) > 0)
    # Equal sRGB steps are far more even in OKLab lightness than in linear light.
    steps = np.diff(greys)
    assert steps.max() / steps.min() < 3


def test_out_of_gamut_points_stay_finite_and_the_palette_helper_clips():
    lab = np.array([[0.5, 0.4, -0.4], [1.3, 0.0, 0.0], [-0.1, 0.0, 0.0]])
    assert np.all(np.isfinite(oklab_to_srgb(lab)))
    palette = oklab_palette_to_srgb(lab)
    assert palette.dtype == np.uint8 and palette.shape == (3, 3)
    assert palette[1].tolist() == [255, 255, 255] and palette[2].tolist() == [0, 0, 0]


def test_palette_helper_round_trips_every_uint8_grey_and_random_colours():
    greys = np.arange(256, dtype=np.uint8)[:, None]
    assert np.array_equal(oklab_palette_to_srgb(srgb_to_oklab(greys / 255)), greys)
    colours = np.random.default_rng(6).integers(0, 256, (500, 4), dtype=np.uint8)
    assert np.array_equal(oklab_palette_to_srgb(srgb_to_oklab(colours / 255)), colours)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (np.zeros((2, 3), np.uint8), "floats on the \\[0, 1\\] scale, not uint8"),
        (np.zeros((2, 5)), r"1 to 4 channels last, not shape \(2, 5\)"),
        (np.float64(0.5), r"not shape \(\)"),
    ],
)
def test_bad_values_raise_option_error(values, message):
    with pytest.raises(OptionError, match=message):
        srgb_to_oklab(values)
    with pytest.raises(OptionError, match=message):
        oklab_to_srgb(values)


def test_palette_helper_needs_a_two_dimensional_palette():
    with pytest.raises(OptionError, match=r"\(K, C\), not \(3,\)"):
        oklab_palette_to_srgb(np.zeros(3))
