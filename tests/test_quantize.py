"""Behaviour of ccodec.quantize on tiny hand-checked images."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import ccodec
from ccodec import OptionError, Quantized, quantize
from ccodec.kmeans import histogram, lloyd, seeding
from ccodec.kmeans import levels as kmeans_levels
from ccodec.kmeans import nearest as kmeans_nearest
from ccodec.metrics import mse
from ccodec.model import MODES
from ccodec.quantize import SPACES
from ccodec.transparency import clear_hidden

ASTRONAUT = Path(ccodec.__file__).parent / "data" / "astronaut.png"


def rgb(*rows: list[tuple[int, int, int]]) -> np.ndarray:
    return np.array(rows, np.uint8)


def test_two_colours_four_pixels_exact():
    img = rgb([(10, 20, 30), (200, 100, 0)], [(200, 100, 0), (10, 20, 30)])
    q = quantize(img, 2)
    assert isinstance(q, Quantized)
    assert q.k == 2 and q.palette.dtype == np.uint8 and q.labels.dtype == np.uint8
    assert sorted(map(tuple, q.palette.tolist())) == [(10, 20, 30), (200, 100, 0)]
    first = q.labels[0, 0]
    assert q.labels.tolist() == [[first, 1 - first], [1 - first, first]]
    assert mse(q.to_array(), img) == 0


def test_known_split_and_its_mse():
    # Two pairs five levels either side of 5 and 205: each pixel is off by 5.
    img = np.array([[0, 10, 200, 210]], np.uint8)
    q = quantize(img, 2)
    assert sorted(q.palette[:, 0].tolist()) == [5, 205]
    assert q.to_array()[0].tolist() == [5, 5, 205, 205]
    assert mse(q.to_array(), img) == pytest.approx(25 / 255**2)


def test_weights_pull_the_centre():
    # 0 alone, nine pixels of 120 and one of 200: the best split keeps 0 apart
    # and puts the others at their weighted mean 128 (unweighted: 160).
    img = np.array([[0] + [120] * 9 + [200]], np.uint8)
    q = quantize(img, 2)
    assert sorted(q.palette[:, 0].tolist()) == [0, 128]
    assert mse(q.to_array(), img) == pytest.approx((9 * 8**2 + 72**2) / 11 / 255**2)


def test_empty_cluster_is_reseeded():
    points = np.array([[0.0], [0.01], [0.02], [0.5], [0.51]], np.float32)
    weights = np.ones(len(points))
    # The third centre lies beyond every point, so its cluster starts empty.
    centers = np.array([[0.0], [0.5], [1.0]], np.float32)
    state = lloyd.LloydState(points, weights, centers)
    assert np.bincount(state.labels, minlength=3).min() == 0
    state.iterate(100, 0.0)
    assert np.all(np.isfinite(state.centers))
    assert np.bincount(state.labels, minlength=3).min() > 0


def test_k_above_distinct_colours_is_exact_with_fewer_entries():
    img = rgb([(1, 2, 3), (4, 5, 6), (1, 2, 3)])
    q = quantize(img, 16)
    assert q.k == 2
    assert np.array_equal(q.to_array(), img)


def test_many_colours_give_exactly_k_entries():
    img = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    q = quantize(img, 7)
    assert q.k == 7 and len(np.unique(q.labels)) == 7
    assert q.labels.shape == (20, 30)


@pytest.mark.parametrize("k", [1, 2, 256])
def test_one_pixel(k):
    img = rgb([(9, 8, 7)])
    q = quantize(img, k)
    assert q.palette.tolist() == [[9, 8, 7]] and q.labels.tolist() == [[0]]


def test_one_colour():
    img = np.full((5, 4, 3), 77, np.uint8)
    q = quantize(img, 4)
    assert q.k == 1 and np.array_equal(q.to_array(), img)


def test_one_cluster_is_the_weighted_mean():
    img = np.array([[0, 0, 0, 40]], np.uint8)
    q = quantize(img, 1)
    assert q.palette.tolist() == [[10]]
    assert mse(q.to_array(), img) == pytest.approx((3 * 10**2 + 30**2) / 4 / 255**2)


def test_alpha_is_clustered():
    # Same colour, two opacities: only alpha separates them.
    img = np.array(
        [[[50, 60, 70, 0], [50, 60, 70, 0], [50, 60, 70, 255], [51, 60, 70, 255]]], np.uint8
    )
    q = quantize(img, 2)
    assert sorted(q.palette[:, 3].tolist()) == [0, 255]
    assert q.mode == "RGBA"


@pytest.mark.parametrize(
    ("shape", "mode"),
    [((6, 5), "L"), ((6, 5, 1), "L"), ((6, 5, 2), "LA"), ((6, 5, 3), "RGB"), ((6, 5, 4), "RGBA")],
)
def test_every_mode(shape, mode):
    img = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    q = quantize(img, 4)
    assert q.mode == mode and q.k == 4
    assert q.to_image().mode == mode and q.to_image().size == (5, 6)
    assert q.to_array().shape == (shape if len(shape) == 3 and shape[2] > 1 else (6, 5))


def test_grey_levels_one_channel():
    img = np.arange(256, dtype=np.uint8).reshape(16, 16)
    q = quantize(img, 4)
    assert q.palette.shape == (4, 1)
    # Uniform levels split into four equal runs centred near 32, 96, 160, 224.
    assert np.abs(np.sort(q.palette[:, 0]) - [32, 96, 159, 223]).max() <= 2


def noisy_image(seed: int = 0, size: int = 64) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (4, 4, 3))
    img = np.repeat(np.repeat(base, size // 4, 0), size // 4, 1)
    return np.clip(img + rng.normal(0, 20, img.shape), 0, 255).astype(np.uint8)


def test_same_seed_same_result():
    img = noisy_image()
    assert quantize(img, 8, seed=3) == quantize(img, 8, seed=3)


def test_seed_is_recorded():
    img = noisy_image()
    assert quantize(img, 8, seed=5).seed == 5
    q = quantize(img, 8, seed=None)
    assert isinstance(q.seed, int)
    assert quantize(img, 8, seed=q.seed) == q


def test_different_seeds_are_each_deterministic():
    img = noisy_image()
    results = [quantize(img, 8, seed=s) for s in range(3)]
    assert all(r == quantize(img, 8, seed=s) for s, r in enumerate(results))


def test_error_falls_with_k_on_the_bundled_photo():
    with Image.open(ASTRONAUT) as image:
        img = np.asarray(image.convert("RGB"))
    errors = [mse(quantize(img, k).to_array(), img) for k in (2, 16)]
    # Plain k-means++ and Lloyd reach 0.0295 and 0.00177 on this image.
    assert errors[0] < 0.0296 and errors[1] < 0.00180


def test_tol_zero_runs_until_no_label_changes():
    rng = np.random.default_rng(0)
    points = rng.random((500, 3)).astype(np.float32)
    weights = rng.integers(1, 5, 500).astype(np.float64)
    state = lloyd.LloydState(points, weights, points[:6].copy())
    state.iterate(1000, 0.0)
    # A fixed point: one more Lloyd step moves no point.
    assert state.move(state.means()[0]) == 0


class CountingState(lloyd.LloydState):
    """Records what each step's `move` returns (the weight that changed label)."""

    def move(self, centers, weights=None):
        self.moves = [*getattr(self, "moves", []), super().move(centers, weights)]
        return self.moves[-1]


def test_tol_is_a_fraction_of_the_pixels():
    rng = np.random.default_rng(0)
    points = rng.random((500, 3)).astype(np.float32)
    weights = rng.integers(1, 5, 500).astype(np.float64)
    steps = []
    for tol in (0.0, 0.2):
        state = CountingState(points, weights, points[:6].copy())
        state.iterate(1000, tol)
        steps.append(len(state.moves))
        # The last step moved at most tol of the weight (none for tol=0).
        assert state.moves[-1] <= tol * weights.sum()
    assert steps[1] < steps[0]


def test_tolerance_stops_early_but_stays_valid():
    img = noisy_image()
    loose = quantize(img, 8, tol=0.5)
    assert (
        loose.k == 8 and mse(loose.to_array(), img) >= mse(quantize(img, 8).to_array(), img) * 0.9
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"pixels": np.zeros((2, 2, 3), np.float32)}, "float32"),
        ({"pixels": np.zeros((2, 2, 5), np.uint8)}, "(2, 2, 5)"),
        ({"pixels": np.zeros((2,), np.uint8)}, "(2,)"),
        ({"pixels": np.zeros((0, 3, 3), np.uint8)}, "(0, 3, 3)"),
        ({"k": 0}, "k=0 should be an integer in 1..65536"),
        ({"k": 65537}, "k=65537 should be an integer in 1..65536"),
        ({"k": 1 << 40}, "k=1099511627776"),
        ({"k": True}, "k=True"),
        ({"k": 2.0}, "k=2.0"),
        ({"max_iter": 0}, "max_iter=0"),
        ({"seed": -1}, "seed=-1"),
        ({"tol": -0.1}, "tol=-0.1"),
        ({"tol": "0"}, "tol='0'"),
    ],
)
def test_validation_errors_name_the_value(kwargs, message):
    args = {"pixels": np.zeros((2, 2, 3), np.uint8), "k": 2} | kwargs
    pixels, k = args.pop("pixels"), args.pop("k")
    with pytest.raises(OptionError) as info:
        quantize(pixels, k, **args)
    assert message in str(info.value)
    assert isinstance(info.value, ValueError)


def _peak_bytes(img: np.ndarray, k: int) -> int:
    tracemalloc.start()
    try:
        quantize(img, k, max_iter=2)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_grows_with_pixels_not_pixels_times_k(monkeypatch):
    # 65,536 pixels of ~65,000 colours at K=256: an N x K float32 distance
    # matrix alone would be 64 MiB, N x K x C three times that.
    img = np.random.default_rng(0).integers(0, 256, (256, 256, 3), dtype=np.uint8)
    limit = 48 << 20
    peak = _peak_bytes(img, 256)
    assert peak < limit, f"peak {peak / 2**20:.0f} MiB"
    # The measure does catch a whole distance matrix: unchunked, it goes over.
    monkeypatch.setattr(kmeans_nearest, "CHUNK_ELEMENTS", 1 << 30)
    assert _peak_bytes(img, 256) > limit


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_interleaved_keys_round_trip(channels):
    pixels = np.random.default_rng(0).integers(0, 256, (3000, channels), dtype=np.uint8)
    keys, unique_keys, counts = histogram.histogram(pixels)
    assert np.array_equal(histogram.unpack(keys, channels), pixels)
    colours, expected_counts = np.unique(pixels, axis=0, return_counts=True)
    assert sorted(map(tuple, histogram.unpack(unique_keys, channels).tolist())) == sorted(
        map(tuple, colours.tolist())
    )
    assert sorted(counts.tolist()) == sorted(expected_counts.tolist())


@pytest.mark.parametrize("channels", [3, 4])
def test_two_thread_histogram_and_labels_match_one_thread(monkeypatch, channels):
    # Odd length, so the halves differ in size; repeats, so the merge meets equal keys.
    pixels = np.random.default_rng(1).integers(0, 6, (5001, channels), dtype=np.uint8) * 51
    monkeypatch.setattr(histogram, "_THREADED_FROM", 1 << 40)
    keys, unique_keys, counts = histogram.histogram(pixels)
    color_labels = (np.arange(len(unique_keys)) % 251).astype(np.uint8)
    labels = histogram.pixel_labels(keys, unique_keys, color_labels, channels)
    monkeypatch.setattr(histogram, "_THREADED_FROM", 2)
    monkeypatch.setattr(histogram.os, "cpu_count", lambda: 2)
    threaded = histogram.histogram(pixels)
    for one, two in zip((keys, unique_keys, counts), threaded, strict=True):
        assert np.array_equal(one, two)
    assert np.array_equal(histogram.pixel_labels(*threaded[:2], color_labels, channels), labels)
    assert np.all(np.diff(unique_keys.astype(np.int64)) > 0)
    assert counts.sum() == len(pixels)


def test_one_core_or_a_small_image_stays_on_one_thread(monkeypatch):
    monkeypatch.setattr(histogram.os, "cpu_count", lambda: 1)
    assert not histogram.threads_pay(1 << 30)
    monkeypatch.setattr(histogram.os, "cpu_count", lambda: 8)
    assert not histogram.threads_pay(histogram._THREADED_FROM - 1)
    assert histogram.threads_pay(histogram._THREADED_FROM)


@pytest.mark.parametrize("failing", ["first", "second"])
def test_an_error_on_either_thread_reaches_the_caller(failing):
    def work(part: str) -> str:
        if part == failing:
            raise MemoryError(part)
        return part

    with pytest.raises(MemoryError, match=failing):
        histogram.on_two_threads(work, "first", "second")
    assert histogram.on_two_threads(str.upper, "a", "b") == ("A", "B")


def test_coarse_bins_group_colours_by_their_top_bits(monkeypatch):
    monkeypatch.setattr(kmeans_levels, "_COARSE_ABOVE", 0)
    monkeypatch.setattr(kmeans_levels, "_COARSE_BITS", (2, 3))
    pixels = np.random.default_rng(0).integers(0, 256, (4000, 3), dtype=np.uint8)
    _, unique_keys, _ = histogram.histogram(pixels)
    colours = histogram.unpack(unique_keys, 3)
    levels = kmeans_levels.coarse_bins(unique_keys, 3, 2)
    assert len(levels) == 2
    for bits, bins in zip((2, 3), levels, strict=True):
        # Same bin exactly when the colours agree in their top bits.
        top = (colours >> (8 - bits)).astype(np.int64)
        packed = top[:, 0] << 16 | top[:, 1] << 8 | top[:, 2]
        _, expected = np.unique(packed, return_inverse=True)
        assert bins.max() + 1 == expected.max() + 1
        same_bin = bins[:, None] == bins[None, :300]
        assert np.array_equal(same_bin, expected[:, None] == expected[None, :300])


def test_a_skipped_level_is_used_when_coarser_ones_are_too_coarse(monkeypatch):
    monkeypatch.setattr(kmeans_levels, "_COARSE_ABOVE", 0)
    monkeypatch.setattr(kmeans_levels, "_COARSE_BITS", (2, 7))
    pixels = np.random.default_rng(0).integers(0, 256, (4000, 3), dtype=np.uint8)
    _, unique_keys, _ = histogram.histogram(pixels)
    # 7 bits barely merges random colours (skipped: not half as many bins),
    # and 2 bits leaves 64 bins, too few for 3 x 32: the 7-bit level it is.
    levels = kmeans_levels.coarse_bins(unique_keys, 3, 3)
    expected = len(np.unique(pixels >> 1, axis=0))
    assert len(levels) == 1 and levels[0].max() + 1 == expected
    assert kmeans_levels.coarse_bins(unique_keys, 3, 1)[0].max() + 1 == 64


# --- K above 256: uint16 labels ------------------------------------------------


def _distinct_colours(n: int, shape: tuple[int, int]) -> np.ndarray:
    """An (H, W, 3) image whose first `n` pixels are distinct colours, the rest repeats."""
    rng = np.random.default_rng(n)
    codes = rng.choice(1 << 24, n, replace=False)
    colours = np.stack([codes >> 16, codes >> 8 & 255, codes & 255], 1).astype(np.uint8)
    index = np.concatenate([np.arange(n), rng.integers(0, n, shape[0] * shape[1] - n)])
    return colours[index].reshape(*shape, 3)


def test_k_above_256_gives_uint16_labels_and_exactly_k_entries():
    img = _distinct_colours(2000, (50, 60))
    q = quantize(img, 300)
    assert q.k == 300 and q.labels.dtype == np.uint16 and q.palette.dtype == np.uint8
    assert len(np.unique(q.labels)) == 300 and q.labels.max() == 299
    assert q == quantize(img, 300)
    # More entries, less error; and the uint16 labels index the palette.
    assert mse(q.to_array(), img) < mse(quantize(img, 256).to_array(), img)
    assert np.array_equal(q.to_array(), q.palette[q.labels])


def test_257_entries():
    q = quantize(_distinct_colours(400, (20, 30)), 257)
    assert q.k == 257 and q.labels.dtype == np.uint16


@pytest.mark.parametrize("k", [1000, 1001, 65536])
def test_k_at_or_above_distinct_colours_is_lossless_above_256(k):
    img = _distinct_colours(1000, (40, 30))
    q = quantize(img, k)
    assert q.k == 1000 and q.labels.dtype == np.uint16
    assert sorted(map(tuple, q.palette.tolist())) == sorted(
        set(map(tuple, img.reshape(-1, 3).tolist()))
    )
    assert np.array_equal(q.to_array(), img)


def test_label_type_follows_the_palette_not_the_requested_k():
    # 100 colours at K = 4096: a 100-entry palette, so uint8 labels (as a
    # .ccz file with K = 100 decodes).
    img = _distinct_colours(100, (10, 20))
    q = quantize(img, 4096)
    assert q.k == 100 and q.labels.dtype == np.uint8
    assert np.array_equal(q.to_array(), img)


def test_rgba_and_grey_above_256():
    rng = np.random.default_rng(1)
    rgba = rng.integers(0, 256, (30, 40, 4), dtype=np.uint8)
    q = quantize(rgba, 500)
    assert q.k == 500 and q.labels.dtype == np.uint16 and q.mode == "RGBA"
    la = rng.integers(0, 256, (30, 40, 2), dtype=np.uint8)
    q = quantize(la, 400)
    assert q.k == 400 and q.mode == "LA"


def test_split_centers_halves_at_the_widest_axis():
    points = np.array([[0, 0], [0.1, 0], [1, 0.05], [1.1, 0.05]], np.float32)
    centers = seeding.split_centers(points, np.array([1.0, 3.0, 1.0, 1.0]), 2)
    assert np.sort(centers, axis=0) == pytest.approx(np.array([[0.075, 0], [1.05, 0.05]]))
    # Every cluster splits until there are K, however many rounds that takes.
    many = np.random.default_rng(0).random((5000, 3)).astype(np.float32)
    centers = seeding.split_centers(many, np.ones(5000), 777)
    assert len(np.unique(centers, axis=0)) == 777


def test_half_gaps_in_row_chunks_match_the_whole_matrix(monkeypatch):
    centers = np.random.default_rng(0).random((300, 3)).astype(np.float32)
    whole = ((centers[:, None] - centers[None]) ** 2).sum(2)
    np.fill_diagonal(whole, np.inf)
    expected = np.sqrt(whole.min(1)) / 2
    monkeypatch.setattr(kmeans_nearest, "CHUNK_ELEMENTS", 64)  # 13 rows a chunk
    # float32 products against float64 differences: equal up to rounding.
    assert lloyd._half_gaps(centers) == pytest.approx(expected, abs=1e-5)


@pytest.mark.parametrize("k", [1, 2, 7, 16, 20, 40])
@pytest.mark.parametrize("by_centre", [True, False])
def test_nearest_two_matches_brute_force_on_either_path(monkeypatch, k, by_centre):
    rng = np.random.default_rng(k)
    points = rng.random((3001, 3)).astype(np.float32)
    centers = rng.random((k, 3)).astype(np.float32)
    order, starts = lloyd._groups(centers, len(points))
    centers = centers[order]
    # Small blocks, so several blocks and a short last one are covered.
    monkeypatch.setattr(kmeans_nearest, "_BY_CENTRE_BLOCK", 700)
    monkeypatch.setattr(kmeans_nearest, "_BY_CENTRE_UP_TO", 64 if by_centre else 0)
    labels, first, others = kmeans_nearest.nearest_two(
        points, centers, starts, kmeans_nearest.group_columns(starts, k)
    )
    exact = np.sqrt(((points[:, None].astype(np.float64) - centers[None]) ** 2).sum(2))
    assert np.array_equal(labels, exact.argmin(1))
    assert first == pytest.approx(exact.min(1), abs=1e-5)
    exact[np.arange(len(points)), labels] = np.inf
    ends = np.append(starts[1:], k)
    per_group = np.stack([exact[:, a:b].min(1) for a, b in zip(starts, ends, strict=True)], 1)
    assert others.shape == (len(points), len(starts))
    # With one centre there is no other: infinite, on both paths.
    assert np.allclose(others, per_group, atol=1e-5)


# Up to _PACKED_UP_TO (50) the packed minimum, above it the argmin per point.
@pytest.mark.parametrize("k", [1, 3, 50, 51])
def test_nearest_batch_matches_brute_force_run_by_run(monkeypatch, k):
    rng = np.random.default_rng(k)
    points = rng.random((2001, 3)).astype(np.float32)
    centers = rng.random((3, k, 3)).astype(np.float32)
    # Small chunks, so several chunks and a short last one are covered.
    monkeypatch.setattr(kmeans_nearest, "CHUNK_ELEMENTS", 50 * 3 * k)
    labels, nearest = kmeans_nearest.nearest_batch(points, centers)
    for run in range(3):
        exact = ((points[:, None].astype(np.float64) - centers[run][None]) ** 2).sum(2)
        assert np.array_equal(labels[run], exact.argmin(1))
        # Without |x|^2, as the restarts add it once for all points.
        norms = (points.astype(np.float64) ** 2).sum(1)
        assert nearest[run] + norms == pytest.approx(exact.min(1), abs=1e-5, rel=1e-5)


def test_a_finer_level_inherits_valid_bounds_and_converges_to_exact_labels():
    rng = np.random.default_rng(4)
    coarse = rng.random((300, 3)).astype(np.float32)
    state = lloyd.LloydState(coarse, np.ones(300), coarse[:40])
    assert len(state.starts) == 5
    parent = rng.integers(0, 300, 1000)
    fine = (coarse[parent] + rng.normal(0, 0.02, (1000, 3))).astype(np.float32)
    finer = state.finer(fine, np.ones(1000), parent)

    def distances(s):
        return np.sqrt(((s.points[:, None] - s.centers[None]) ** 2).sum(2))

    d = distances(finer)
    rows = np.arange(1000)
    assert finer.upper == pytest.approx(d[rows, finer.labels], abs=1e-6)
    ends = np.append(finer.starts[1:], 40)
    for g, (begin, end) in enumerate(zip(finer.starts, ends, strict=True)):
        others = d[:, begin:end].copy()
        inside = (finer.labels >= begin) & (finer.labels < end)
        others[inside, finer.labels[inside] - begin] = np.inf
        assert np.all(finer.lower[g] <= others.min(axis=1) + 1e-6)
    finer.iterate(100, 0.0)
    assert np.array_equal(finer.labels, np.argmin(distances(finer), axis=1))


def test_memory_at_large_k_stays_below_points_times_k():
    # ~16,000 colours at K = 4096: an N x K float32 matrix would be 256 MiB.
    img = np.random.default_rng(2).integers(0, 256, (128, 128, 3), dtype=np.uint8)
    peak = _peak_bytes(img, 4096)
    assert peak < 96 << 20, f"peak {peak / 2**20:.0f} MiB"


# --- space="oklab" -------------------------------------------------------------


def _fingerprint_images():
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:48, 0:64]
    grad = np.stack([x * 4, y * 5, (x + y) * 2], -1).astype(np.uint8)
    yield "rgb_noise", rng.integers(0, 256, (40, 50, 3), dtype=np.uint8), 16
    yield "rgb_gradient", grad, 8
    yield "rgba", np.concatenate([grad, (x * 3)[..., None].astype(np.uint8)], -1), 5
    yield "grey", (x * y % 256).astype(np.uint8), 4


# sha256 of palette + labels bytes at seed=3, recorded before space= existed
# (commit 3f514d6): the rgb path must not move by a byte. "rgba" recorded again when
# alpha-0 pixels (its first column, of varied colours) became one colour before the histogram;
# all four recorded again when issue 17 carried every finalist to the end and searched the
# rounding +-1 (the rgb and oklab paths must still agree with each other).
RGB_FINGERPRINTS = {
    "rgb_noise": "1d255a4861ee3331",
    "rgb_gradient": "be44495b20b66f46",
    "rgba": "53966919ccd9cfaf",
    "grey": "0fa15309a4296b8b",
}


def _fingerprint(q: Quantized) -> str:
    import hashlib

    return hashlib.sha256(q.palette.tobytes() + q.labels.tobytes()).hexdigest()[:16]


@pytest.mark.parametrize("space", [None, "rgb"])
def test_rgb_space_gives_the_same_bytes_as_before_the_option(space):
    options = {} if space is None else {"space": space}
    for name, img, k in _fingerprint_images():
        assert _fingerprint(quantize(img, k, seed=3, **options)) == RGB_FINGERPRINTS[name], name


def test_rgb_space_on_the_bundled_sample_is_unchanged():
    # Recorded again for issue 17: both restart finalists now run to the
    # full histogram and the rounded palette gets the +-1 search (MSE
    # 0.001764 -> 0.001720 here).
    pixels = np.asarray(Image.open(ASTRONAUT).convert("RGB"))
    assert _fingerprint(quantize(pixels, 16, seed=0, space="rgb")) == "bad63ffa43b66c44"


@pytest.mark.parametrize("space", ["lab", "RGB", "", None, 3])
def test_unknown_space_names_the_valid_ones(space):
    with pytest.raises(OptionError, match=r"space=.* is not one of rgb, oklab\."):
        quantize(np.zeros((2, 2, 3), np.uint8), 2, space=space)


def _oklab(values: np.ndarray) -> np.ndarray:
    from ccodec.colorspace import srgb_to_oklab

    return srgb_to_oklab(values.astype(np.float64) / 255)


@pytest.mark.parametrize("name", ["rgb_noise", "rgb_gradient", "rgba", "grey"])
def test_oklab_labels_are_the_nearest_entries_in_oklab_and_deterministic(name):
    img, k = next((img, k) for n, img, k in _fingerprint_images() if n == name)
    q = quantize(img, k, seed=5, space="oklab")
    assert q == quantize(img, k, seed=5, space="oklab")
    assert q.palette.dtype == np.uint8 and q.k == k and q.mode == MODES[q.palette.shape[1]]
    # Alpha-0 pixels are all (0, 0, 0, 0) to the quantizer: their colour is free.
    flat = clear_hidden(img.reshape(-1, q.channels))
    distances = ((_oklab(flat)[:, None, :] - _oklab(q.palette)[None]) ** 2).sum(axis=2)
    chosen = distances[np.arange(len(flat)), q.labels.reshape(-1)]
    # float32 clustering against a float64 check: equal up to rounding.
    assert np.all(chosen <= distances.min(axis=1) + 1e-6)


def test_oklab_changes_the_palette_and_lowers_the_oklab_error():
    pixels = np.asarray(Image.open(ASTRONAUT).convert("RGB"))[::4, ::4]
    by_space = {space: quantize(pixels, 8, seed=0, space=space) for space in SPACES}
    errors = {
        space: float(np.mean(np.sum((_oklab(q.to_array()) - _oklab(pixels)) ** 2, axis=2)))
        for space, q in by_space.items()
    }
    assert not np.array_equal(by_space["rgb"].palette, by_space["oklab"].palette)
    assert errors["oklab"] < errors["rgb"]


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_oklab_is_exact_when_k_covers_every_colour(channels):
    rng = np.random.default_rng(channels)
    colours = rng.integers(0, 256, (12, channels), dtype=np.uint8)
    img = colours[rng.integers(0, 12, (9, 11))]
    for k in (12, 40):
        q = quantize(img, k, space="oklab")
        assert np.array_equal(q.to_array().reshape(img.shape), img)


@pytest.mark.parametrize(("k", "channels"), [(300, 3), (300, 1), (16, 2)])
def test_to_array_needs_no_index_temporary(k, channels):
    """The labels index the palette as they are, without an 8-byte-per-pixel copy."""
    rng = np.random.default_rng(0)
    palette = rng.integers(0, 256, (k, channels), dtype=np.uint8)
    labels = rng.integers(0, k, (500, 400)).astype(np.uint16 if k > 256 else np.uint8)
    q = Quantized(palette, labels)
    tracemalloc.start()
    try:
        pixels = q.to_array()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert np.array_equal(pixels.reshape(500, 400, channels), np.take(palette, labels, axis=0))
    assert peak < pixels.nbytes + 4 * labels.size
