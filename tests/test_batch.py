"""ccodec.batch: which files, which outputs, the per-file job, and where jobs run."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import ccodec
from ccodec import batch
from ccodec.batch import FileResult, Job, encode_file, expand_inputs, plan_outputs
from ccodec.encoder import EncodeOptions

OPTIONS = EncodeOptions(k=8)


def make_images(folder: Path, *names: str) -> list[Path]:
    """Small distinct generated images, one per name (format from the extension)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, name in enumerate(names):
        rng = np.random.default_rng(index)
        pixels = rng.integers(0, 256, (12, 10 + index, 3), dtype=np.uint8)
        path = folder / name
        Image.fromarray(pixels).save(path)
        paths.append(path)
    return paths


# -- expand_inputs -------------------------------------------------------------------------


def test_a_folder_gives_its_images_sorted_without_ccz_hidden_or_other_files(tmp_path):
    make_images(tmp_path, "b.png", "a.jpg", ".hidden.png")
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "old.ccz").write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    make_images(tmp_path / "sub", "deep.png")
    assert expand_inputs([str(tmp_path)]) == [tmp_path / "a.jpg", tmp_path / "b.png"]


def test_files_keep_their_order_and_a_file_named_twice_is_taken_once(tmp_path):
    a, b = make_images(tmp_path, "a.png", "b.png")
    assert expand_inputs([str(b), str(a), str(tmp_path / "." / "b.png")]) == [b, a]


def test_glob_patterns_are_expanded_and_sorted(tmp_path):
    make_images(tmp_path, "x2.png", "x1.png", "y.png")
    make_images(tmp_path / "sub", "x3.png")
    assert expand_inputs([str(tmp_path / "x*.png")]) == [tmp_path / "x1.png", tmp_path / "x2.png"]
    deep = expand_inputs([str(tmp_path / "**" / "x3.png")])
    assert deep == [tmp_path / "sub" / "x3.png"]


def test_a_missing_file_is_kept_for_its_own_error(tmp_path):
    assert expand_inputs([str(tmp_path / "gone.png")]) == [tmp_path / "gone.png"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [("empty", "folder has no image files"), ("*.nothing", "no files match"), ("-", "standard")],
)
def test_nothing_to_encode_is_an_option_error(tmp_path, spec, message):
    (tmp_path / "empty").mkdir()
    target = spec if spec == "-" else str(tmp_path / spec)
    with pytest.raises(ccodec.OptionError, match=message):
        expand_inputs([target])


# -- plan_outputs --------------------------------------------------------------------------


def test_outputs_are_the_input_names_as_ccz_in_the_folder(tmp_path):
    inputs = [tmp_path / "a" / "x.png", tmp_path / "y.tiff"]
    assert plan_outputs(inputs, tmp_path / "out") == [
        tmp_path / "out/x.ccz",
        tmp_path / "out/y.ccz",
    ]


@pytest.mark.parametrize("names", [("a/x.png", "b/x.png"), ("a/x.png", "a/x.jpg")])
def test_two_inputs_with_one_output_name_are_refused(tmp_path, names):
    inputs = [tmp_path / name for name in names]
    with pytest.raises(ccodec.OptionError, match=r"would both be written to .*x\.ccz"):
        plan_outputs(inputs, tmp_path / "out")


def test_an_output_that_is_an_input_is_refused(tmp_path):
    with pytest.raises(ccodec.OptionError, match="would overwrite the input"):
        plan_outputs([tmp_path / "x.ccz"], tmp_path)


# -- encode_file ---------------------------------------------------------------------------


def test_encode_file_writes_what_the_library_writes(tmp_path):
    (source,) = make_images(tmp_path, "a.png")
    target = tmp_path / "a.ccz"
    result = encode_file(Job(str(source), str(target), EncodeOptions(k=5, seed=2, level=3)))
    assert result.status == "written"
    assert target.read_bytes() == ccodec.encode(ccodec.open_image(source), 5, seed=2, level=3)
    assert result.bytes_in == source.stat().st_size
    assert result.bytes_out == target.stat().st_size
    assert result.line.startswith(f"{target}: 10x12 RGB, K=5, MSE ")
    assert result.data is None


def test_encode_file_reports_problems_instead_of_raising(tmp_path):
    (source,) = make_images(tmp_path, "a.png")
    missing = encode_file(Job(str(tmp_path / "gone.png"), str(tmp_path / "g.ccz"), OPTIONS))
    assert missing == FileResult("failed", f"{tmp_path / 'gone.png'}: no such file", exit_status=1)
    target = tmp_path / "a.ccz"
    target.write_bytes(b"old")
    exists = encode_file(Job(str(source), str(target), OPTIONS))
    assert exists.status == "failed"
    assert "already exists" in exists.line
    assert target.read_bytes() == b"old"
    assert sorted(os.listdir(tmp_path)) == ["a.ccz", "a.png"]


def test_encode_file_turns_an_unexpected_exception_into_a_failure(tmp_path, monkeypatch):
    (source,) = make_images(tmp_path, "a.png")

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(batch, "quantize_pixels", broken)
    result = encode_file(Job(str(source), str(tmp_path / "a.ccz"), OPTIONS))
    assert result == FileResult(
        "failed", f"{source}: unexpected RuntimeError: a bug", exit_status=1
    )
    assert not (tmp_path / "a.ccz").exists()


def test_encode_file_says_when_memory_ran_out(tmp_path, monkeypatch):
    (source,) = make_images(tmp_path, "a.png")

    def too_big(*args, **kwargs):
        raise MemoryError("Unable to allocate 1.34 GiB for an array")

    monkeypatch.setattr(batch, "quantize_pixels", too_big)
    result = encode_file(Job(str(source), str(tmp_path / "a.ccz"), OPTIONS))
    assert result == FileResult("failed", f"{source}: out of memory encoding it", exit_status=1)
    assert not (tmp_path / "a.ccz").exists()


def test_skip_existing_leaves_the_output_and_force_replaces_it(tmp_path):
    (source,) = make_images(tmp_path, "a.png")
    target = tmp_path / "a.ccz"
    target.write_bytes(b"old")
    skipped = encode_file(Job(str(source), str(target), OPTIONS, skip_existing=True))
    assert (skipped.status, skipped.bytes_out, target.read_bytes()) == ("skipped", 0, b"old")
    forced = encode_file(Job(str(source), str(target), OPTIONS, force=True))
    assert forced.status == "written"
    assert ccodec.decode(target.read_bytes()).k == 8


def test_quality_target_jobs_say_which_k_they_chose(tmp_path):
    (source,) = make_images(tmp_path, "a.png")
    options = EncodeOptions(max_mse=0.0)
    result = encode_file(Job(str(source), str(tmp_path / "a.ccz"), options))
    assert "(smallest K for MSE <= 0)" in result.line
    capped = EncodeOptions(k=2, min_psnr=99)
    result = encode_file(Job(str(source), str(tmp_path / "b.ccz"), capped))
    assert result.warning.startswith("target not reached")


# -- where jobs run ------------------------------------------------------------------------


def _jobs(tmp_path: Path, out: str) -> list[Job]:
    sources = make_images(tmp_path / "in", "a.png", "b.png", "c.png", "d.png")
    sources.insert(2, tmp_path / "in" / "broken.png")  # a failure in the middle
    (tmp_path / out).mkdir()
    targets = plan_outputs(sources, tmp_path / out)
    return [Job(str(s), str(t), OPTIONS) for s, t in zip(sources, targets, strict=True)]


def _outputs(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def test_worker_processes_give_the_same_files_and_results_in_order(tmp_path):
    one = list(batch.run_jobs(_jobs(tmp_path, "one"), workers=1))
    two = list(batch.run_jobs(_jobs(tmp_path, "two"), workers=2))
    assert [r.status for r in one] == ["written", "written", "failed", "written", "written"]
    assert [r.line.replace("/two/", "/one/") for r in two] == [r.line for r in one]
    assert _outputs(tmp_path / "two") == _outputs(tmp_path / "one")
    assert len(_outputs(tmp_path / "one")) == 4


def test_scheduler_without_dask_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed fails
    with pytest.raises(ccodec.OptionError, match=r'pip install "ccodec\[dask\]"'):
        batch.dask_client("tcp://127.0.0.1:8786").__enter__()


@pytest.fixture(scope="module")
def dask_scheduler():
    """The address of a LocalCluster: two worker processes, as a real cluster has."""
    if os.environ.get("CCODEC_REQUIRE_DASK"):  # CI: a skipped Dask test would hide a problem
        import distributed
    else:
        distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        yield cluster.scheduler_address


@pytest.mark.parametrize("address", ["nonsense://x", "tcp://"])
def test_a_bad_scheduler_address_is_one_option_error(address):
    pytest.importorskip("distributed")
    with pytest.raises(ccodec.OptionError, match=f"^{address}: not a Dask address "):
        batch.dask_client(address).__enter__()


def test_a_dask_cluster_runs_the_same_jobs_to_the_same_files(tmp_path, dask_scheduler):
    local = list(batch.run_jobs(_jobs(tmp_path, "local"), workers=1))
    with batch.dask_client(dask_scheduler) as client:
        remote = list(batch.run_jobs(_jobs(tmp_path, "dask"), client=client))
    assert [r.status for r in remote] == [r.status for r in local]
    assert [r.bytes_out for r in remote] == [r.bytes_out for r in local]
    assert "no such file" in remote[2].line
    assert _outputs(tmp_path / "dask") == _outputs(tmp_path / "local")


def test_a_quality_target_without_k_stops_at_256_colours(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, (24, 24, 3), dtype=np.uint8)  # 576 colours
    Image.fromarray(pixels).save(tmp_path / "noise.png")
    job = Job(str(tmp_path / "noise.png"), str(tmp_path / "n.ccz"), EncodeOptions(max_mse=0))
    result = encode_file(job)
    assert result.warning.startswith("target not reached")
    assert ccodec.decode((tmp_path / "n.ccz").read_bytes()).k == 256
