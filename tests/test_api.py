"""The Python API (issue 12): each function's ``to_dict()`` is the CLI's ``--json`` for the same
call, bad arguments raise UpscopeError with the CLI's message, ``import upscope`` stays light,
compare takes every kind of image, and the results show the CLI's text in rich and notebooks."""

from __future__ import annotations

import html
import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rich.console import Console

import upscope
from upscope.result import Result

ROOT = Path(__file__).resolve().parent.parent


def cli_json(run_cli: Any, *args: str) -> dict[str, Any]:
    result = run_cli(*args, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def cli_error(run_cli: Any, *args: str) -> str:
    result = run_cli(*args)
    assert result.exit_code == 2 and result.stdout == "", result.stderr
    line = result.stderr.strip()
    assert line.startswith("upscope: error: ") and "\n" not in line
    return line.removeprefix("upscope: error: ")


# ---------------------------------------------------------------- to_dict() == --json

SIZE_CASES = [
    ((14, 3, 2, 1, 1), ["--input", "14", "--k", "3", "--s", "2", "--p", "1", "--op", "1"]),
    (("14x20", "4x3", 2, 1), ["--input", "14x20", "--k", "4x3", "--s", "2", "--p", "1"]),
    (((14, 20), (4, 3), (2, 1)), ["--input", "14x20", "--k", "4x3", "--s", "2x1"]),
    ((9, 3, 1, 0, 0, 2), ["--input", "9", "--k", "3", "--d", "2"]),
    ((7, 3, 2, 0, 0, 3), ["--input", "7", "--k", "3", "--s", "2", "--d", "3"]),  # holes
]


@pytest.mark.parametrize(("args", "cli"), SIZE_CASES)
def test_size_is_the_cli_json(run_cli, args: tuple[Any, ...], cli: list[str]) -> None:
    result = upscope.size(*args)
    assert isinstance(result, Result)
    assert result.to_dict() == cli_json(run_cli, "size", *cli)
    assert result.output == tuple(result.to_dict()["output"])


def test_size_keywords_and_types(run_cli) -> None:
    """Keywords, numpy ints, an AxB string and a tuple all name the same layer."""
    expected = cli_json(run_cli, "size", "--input", "8x8", "--k", "4", "--s", "2", "--p", "1")
    for given in ("8x8", (8, 8), [np.int64(8), 8]):
        result = upscope.size(input=given, kernel=4, stride=2, padding=1)
        assert result.to_dict() == expected
    assert result.input == (8, 8) and result.output == (16, 16)


STACK = ["convT k=4 s=2 p=1", "convT k=3 s=2 p=1 op=1", "upsample scale=2", "conv k=3 s=2 p=1"]


def test_stack_is_the_cli_json(run_cli) -> None:
    cli = [arg for spec in STACK for arg in ("--layer", spec)]
    expected = cli_json(run_cli, "size", "--input", "4x4", *cli)
    assert upscope.stack("4x4", STACK).to_dict() == expected
    from upscope.arith import parse_layer

    mixed = [parse_layer(STACK[0]), *STACK[1:]]  # a LayerSpec among the strings
    assert upscope.stack((4, 4), mixed).to_dict() == expected
    one = cli_json(run_cli, "size", "--input", "6", "--layer", "pixelshuffle r=3")
    assert upscope.stack(6, "pixelshuffle r=3").to_dict() == one


@pytest.mark.parametrize(
    ("kwargs", "cli"),
    [
        ({"input": 14, "target": 28}, ["--input", "14", "--target", "28"]),
        ({"input": "14x10", "target": (28, 20)}, ["--input", "14x10", "--target", "28x20"]),
        (
            {"input": 5, "target": 17, "max_k": 12, "max_s": 5, "max_d": 3, "max_p": 4},
            ["--input", "5", "--target", "17", "--max-k", "12", "--max-s", "5", "--max-d", "3",
             "--max-p", "4"],
        ),
        ({"input": 4, "target": 100}, ["--input", "4", "--target", "100"]),  # none
    ],
)  # fmt: skip
def test_solve_is_the_cli_json(run_cli, kwargs: dict[str, Any], cli: list[str]) -> None:
    result = upscope.solve(**kwargs)
    doc = result.to_dict()
    assert doc == cli_json(run_cli, "size", *cli)
    assert len(result.solutions) == len(doc["solutions"])
    if result.recommended is not None:
        best = result.recommended[0]
        assert doc["recommended"]["kernel"] in (best.kernel, [s.kernel for s in result.recommended])


@pytest.mark.parametrize(
    ("args", "cli"),
    [
        (("keras", 14, 3, 2, "same"), ["-i", "14", "--k", "3", "--s", "2", "--p", "same",
                                        "--framework", "keras"]),
        (("jax", "14x9", 4, 2, "valid"), ["-i", "14x9", "--k", "4", "--s", "2", "--p", "valid",
                                          "--framework", "jax"]),
        (("keras", 10, 5, 3, "valid", 1), ["-i", "10", "--k", "5", "--s", "3", "--op", "1",
                                           "--framework", "keras"]),
    ],
)  # fmt: skip
def test_framework_size_is_the_cli_json(run_cli, args: tuple[Any, ...], cli: list[str]) -> None:
    assert upscope.framework_size(*args).to_dict() == cli_json(run_cli, "size", *cli)


OVERLAP_CASES = [
    ({"kernel": 3, "stride": 2, "input": 6}, ["--k", "3", "--s", "2", "--input", "6"]),
    ({"kernel": 4, "stride": 2, "padding": 1, "input": 6, "dims": 1},
     ["--k", "4", "--s", "2", "--p", "1", "--input", "6", "--dims", "1"]),
    ({"kernel": (3, 4), "stride": 2, "input": "5x7", "layers": 2},
     ["--k", "3x4", "--s", "2", "--input", "5x7", "--layers", "2"]),
    ({"stack": ["convT k=3 s=2 p=1 op=1", "conv k=3 p=1"], "layers": 2, "input": 5, "dims": 1},
     ["--layer", "convT k=3 s=2 p=1 op=1", "--layer", "conv k=3 p=1", "--layers", "2",
      "--input", "5", "--dims", "1"]),
]  # fmt: skip


@pytest.mark.parametrize(("kwargs", "cli"), OVERLAP_CASES)
def test_overlap_is_the_cli_json(run_cli, kwargs: dict[str, Any], cli: list[str]) -> None:
    result = upscope.overlap(**kwargs)
    doc = result.to_dict()
    assert doc == cli_json(run_cli, "overlap", *cli, "--no-png")
    assert doc["png"] is None and result.pngs == []
    assert result.map.tolist() == doc["map"] and result.verdict == doc["verdict"]


@pytest.mark.parametrize(("kwargs", "cli"), OVERLAP_CASES[2:])
def test_overlap_png_is_the_cli_png(
    run_cli, tmp_path: Path, kwargs: dict[str, Any], cli: list[str]
) -> None:
    """save_png writes the CLI's file (same name, same bytes) and to_dict() then names it."""
    cli_doc = cli_json(run_cli, "overlap", *cli, "--out", str(tmp_path / "cli"))
    result = upscope.overlap(**kwargs)
    written = result.save_png(tmp_path / "api")
    assert [p.name for p in written] == [Path(cli_doc["png"]).name]
    assert written[0].read_bytes() == Path(cli_doc["png"]).read_bytes()
    assert result.to_dict()["png"] == str(written[0])
    again = upscope.overlap(**kwargs, out=tmp_path / "cli")  # out= is save_png(out)
    assert again.to_dict() == cli_doc


PROBE_CLI = ["--seeds", "2", "--size", "12", "--methods", "convT-uneven,nearest", "--channels",
             "2", "--inputs", "constant,noise"]  # fmt: skip


def test_probe_is_the_cli_json(run_cli) -> None:
    report = upscope.probe(
        methods=["convT-uneven", "nearest"], seeds=2, size=12, channels=2, grad=True
    )
    assert report.to_dict() == cli_json(run_cli, "probe", *PROBE_CLI, "--grad", "--no-png")
    assert report.results[0].method == "convT-uneven" and len(report.grad or []) == 8


def test_probe_png_is_the_cli_png(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "o"
    cli_doc = cli_json(run_cli, "probe", *PROBE_CLI, "--seed", "3", "--out", str(out))
    report = upscope.probe(2, "convT-uneven,nearest", "constant,noise", 2, 12, 2, seed=3)
    assert report.to_dict()["png"] == []
    paths = report.save_png(out)
    assert report.to_dict() == cli_doc
    assert [p.name for p in paths] == ["probe-responses.png", "probe-spectra.png"]


# ---------------------------------------------------------------- compare

COMPARE = {"methods": "convT-uneven,bilinear", "fit": 0, "threads": 1, "seed": 1}
COMPARE_CLI = ["--methods", "convT-uneven,bilinear", "--fit", "0", "--threads", "1",
               "--seed", "1"]  # fmt: skip


def _timeless(doc: dict[str, Any]) -> dict[str, Any]:
    """The document without the measured seconds (they differ from run to run)."""
    return {**doc, "results": [{**r, "seconds": None} for r in doc["results"]]}


def _scores(result: Any) -> list[tuple[Any, ...]]:
    keys = ("method", "psnr", "ssim", "checkerboard", "checkerboard_error", "spectral_peak_db")
    return [tuple(getattr(r, k) for k in keys) for r in result.results]


@pytest.fixture(scope="module")
def rgba_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 40x36 RGBA PNG (odd sizes: compare crops it) with a transparent part."""
    from PIL import Image

    rng = np.random.default_rng(5)
    pixels = rng.integers(0, 256, (36, 40, 4), dtype=np.uint8)
    pixels[:10, :, 3] = 0
    path = tmp_path_factory.mktemp("img") / "tile.png"
    Image.fromarray(pixels, "RGBA").save(path)
    return path


def test_compare_is_the_cli_json(run_cli, tmp_path: Path) -> None:
    cli_doc = cli_json(run_cli, "compare", "zoneplate", *COMPARE_CLI, "--no-png")
    result = upscope.compare("zoneplate", **COMPARE)
    assert _timeless(result.to_dict()) == _timeless(cli_doc)
    assert result.to_dict()["note"] and result.image == "bundled:zoneplate"


def test_compare_png_is_the_cli_png(run_cli, rgba_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "o"
    cli_doc = cli_json(run_cli, "compare", str(rgba_file), *COMPARE_CLI, "--out", str(out))
    result = upscope.compare(rgba_file, **COMPARE)
    assert result.save_png(out) == [Path(p) for p in cli_doc["png"]]
    assert _timeless(result.to_dict()) == _timeless(cli_doc)
    assert cli_doc["alpha"] == "composited on white" and cli_doc["original_size"] == [36, 40]


def test_compare_refuses_to_write_over_its_image(tmp_path: Path) -> None:
    from PIL import Image

    image = tmp_path / "compare-grid.png"  # the name of compare's first figure
    Image.fromarray(np.full((32, 32, 3), 128, np.uint8)).save(image)
    before = image.read_bytes()
    with pytest.raises(upscope.UpscopeError, match="refusing to write"):
        upscope.compare(image, **COMPARE, out=tmp_path)
    result = upscope.compare(image, **COMPARE)
    with pytest.raises(upscope.UpscopeError, match="refusing to write"):
        result.save_png(tmp_path)
    assert image.read_bytes() == before


def test_compare_from_every_kind_of_image(rgba_file: Path) -> None:
    """A PIL image, uint8 and float numpy arrays, CxHxW and 1xCxHxW tensors give the numbers
    of the file they hold."""
    import torch
    from PIL import Image

    from_path = upscope.compare(rgba_file, **COMPARE)
    with Image.open(rgba_file) as opened:
        opened.load()
        pil = opened.copy()
    array = np.asarray(pil)  # (H, W, 4) uint8
    floats = array.astype(np.float32) / 255.0
    tensor = torch.from_numpy(np.moveaxis(floats, -1, 0).copy())
    kinds = {
        "PIL image": pil,
        "numpy array": array,
        "float array": floats,
        "torch tensor": tensor,
        "batched tensor": tensor[None],
    }
    for kind, image in kinds.items():
        result = upscope.compare(image, **COMPARE)
        assert _scores(result) == _scores(from_path), kind
        assert result.mode == "RGBA" and result.alpha == "composited on white", kind
        assert result.original_size == (36, 40), kind
    assert upscope.compare(array, **COMPARE).image == "numpy array"
    assert upscope.compare(array, **COMPARE, name="tile").to_dict()["image"] == "tile"


def test_compare_grey_array_is_the_grey_file(tmp_path: Path) -> None:
    from PIL import Image

    grey = np.random.default_rng(2).integers(0, 256, (32, 34), dtype=np.uint8)
    path = tmp_path / "grey.png"
    Image.fromarray(grey, "L").save(path)
    from_file = upscope.compare(path, **COMPARE)
    from_array = upscope.compare(grey, **COMPARE)
    assert _scores(from_array) == _scores(from_file)
    assert from_array.mode == from_file.mode == "L" and from_array.original.shape[0] == 1


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.full((32, 32), 1.5, np.float32), "a float numpy array must hold values in [0, 1]"),
        (np.full((32, 32), np.nan), "a float numpy array must hold values in [0, 1]"),
        (np.zeros((32, 32, 5), np.uint8), "a numpy image is (H, W) or (H, W, C)"),
        (np.zeros((32, 32), np.int32), "must be uint8 or float in [0, 1], got int32"),
        (3.5, "image must be a file path"),
    ],
)
def test_compare_refuses_bad_images(image: object, message: str) -> None:
    with pytest.raises(upscope.UpscopeError) as caught:
        upscope.compare(image, **COMPARE)
    assert message in str(caught.value)


def test_compare_refuses_a_bad_tensor() -> None:
    import torch

    with pytest.raises(upscope.UpscopeError, match=r"got shape \(2, 3, 32, 32\)"):
        upscope.compare(torch.zeros(2, 3, 32, 32), **COMPARE)


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("call", "cli"),
    [
        (lambda: upscope.size(14, 0, 2), ["size", "--input", "14", "--k", "0", "--s", "2"]),
        (lambda: upscope.size("4y3", 3), ["size", "--input", "4y3", "--k", "3"]),
        (lambda: upscope.size(14, (4, 3, 2), (2, 2)),
         ["size", "--input", "14", "--k", "4x3x2", "--s", "2x2"]),
        (lambda: upscope.stack(8, ["convT s=2"]), ["size", "--input", "8", "--layer", "convT s=2"]),
        (lambda: upscope.solve(14, 28, max_s=0),
         ["size", "--input", "14", "--target", "28", "--max-s", "0"]),
        (lambda: upscope.overlap(3, dims=3), ["overlap", "--k", "3", "--dims", "3"]),
        (lambda: upscope.overlap((3, 3, 3)), ["overlap", "--k", "3x3x3"]),
        (lambda: upscope.overlap(stride=2, stack=["convT k=3"]),
         ["overlap", "--layer", "convT k=3", "--s", "2"]),
        (lambda: upscope.overlap(), ["overlap"]),
        (lambda: upscope.overlap(3, layers=0), ["overlap", "--k", "3", "--layers", "0"]),
        (lambda: upscope.overlap(3, 2, input=4000, max_memory="1M"),
         ["overlap", "--k", "3", "--s", "2", "--input", "4000", "--max-memory", "1M"]),
        (lambda: upscope.probe(scale=5), ["probe", "--scale", "5"]),
        (lambda: upscope.probe(methods="foo"), ["probe", "--methods", "foo"]),
        (lambda: upscope.probe(inputs=["noise", "zeros"]), ["probe", "--inputs", "noise,zeros"]),
        (lambda: upscope.probe(size=4), ["probe", "--size", "4"]),
        (lambda: upscope.compare(fit=-1), ["compare", "--fit", "-1"]),
        (lambda: upscope.compare("no-such.png"), ["compare", "no-such.png"]),
        (lambda: upscope.compare(methods=["all", "nearest"]), ["compare", "-m", "all,nearest"]),
    ],
)  # fmt: skip
def test_errors_are_the_cli_messages(run_cli, call: Any, cli: list[str]) -> None:
    with pytest.raises(upscope.UpscopeError) as caught:
        call()
    assert isinstance(caught.value, ValueError)
    assert " ".join(str(caught.value).split()) == cli_error(run_cli, *cli)


def test_python_only_checks() -> None:
    """What the CLI's option parser refuses is refused in Python too, with one line."""
    cases = [
        (lambda: upscope.solve(14, 28, max_k=65), "--max-k must be at most 64, got 65"),
        (lambda: upscope.probe(seeds=1001), "--seeds must be at most 1000, got 1001"),
        (lambda: upscope.probe(seed=-1), "--seed must be 0 or more, got -1"),
        (lambda: upscope.compare(channels=0), "--channels must be at least 1, got 0"),
        (lambda: upscope.compare(device="tpu", fit=0), "--device must be auto, cpu or cuda"),
        (lambda: upscope.compare(sort="speed", fit=0), "cannot sort by 'speed'"),
        (lambda: upscope.size(True, 3), "--input must be an int or AxB per axis"),
        (lambda: upscope.stack(8, []), "no layers given"),
        (lambda: upscope.framework_size("flax", 8, 3), "--framework must be keras or jax"),
    ]
    for call, message in cases:
        with pytest.raises(upscope.UpscopeError) as caught:
            call()
        assert message in str(caught.value)


# ---------------------------------------------------------------- import cost


def test_import_and_arithmetic_load_neither_torch_nor_matplotlib_nor_pil() -> None:
    code = (
        "import sys, upscope\n"
        "heavy = ('torch', 'matplotlib', 'PIL')\n"
        "assert not [m for m in heavy if m in sys.modules], 'import'\n"
        "upscope.size(14, 4, 2, 1); upscope.solve(14, 28); upscope.stack(4, ['upsample scale=2'])\n"
        "upscope.overlap(3, 2).to_dict(); upscope.framework_size('keras', 14, 3, 2, 'same')\n"
        "upscope.probe, upscope.compare, upscope.scan, upscope.UpscopeError\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
        "print(sorted(n for n in dir(upscope) if not n.startswith('_')))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr
    loaded, names = run.stdout.splitlines()
    assert loaded == "[]"
    for name in ("compare", "overlap", "probe", "scan", "size", "solve", "stack", "UpscopeError"):
        assert repr(name) in names


def test_lazy_names_are_the_api_functions() -> None:
    from upscope import api
    from upscope.scanning import run

    assert upscope.size is api.size and upscope.compare is api.compare
    assert upscope.scan is run.scan
    assert upscope.testing.assert_no_checkerboard.__module__ == "upscope.testing"
    assert upscope.UpscopeError is __import__("upscope.errors").errors.UpscopeError
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        upscope.nope  # noqa: B018


# ---------------------------------------------------------------- rich and notebooks


def _plain(result: Result, width: int = 100, colour: str | None = None) -> str:
    """What ``rich.print(result)`` shows, as plain text (``colour``: the console's colours)."""
    console = Console(record=True, width=width, color_system=colour, file=io.StringIO())  # type: ignore[arg-type]
    console.print(result)
    return console.export_text()


def _html_text(page: str) -> str:
    body = re.search(r"<pre[^>]*>(.*)</pre>", page, re.DOTALL)
    assert body is not None, page[:200]
    return html.unescape(re.sub(r"<[^>]+>", "", body.group(1)))


@pytest.mark.parametrize(
    ("make", "cli"),
    [
        (lambda: upscope.overlap(3, 2, input=6), ["overlap", "--k", "3", "--s", "2", "--input",
                                                  "6", "--no-png"]),
        (lambda: upscope.size(14, 3, 2, 1, 1), ["size", "--input", "14", "--k", "3", "--s", "2",
                                                "--p", "1", "--op", "1"]),
        (lambda: upscope.stack("4x4", STACK), ["size", "--input", "4x4",
                                               *[a for s in STACK for a in ("--layer", s)]]),
        (lambda: upscope.solve(14, 28, limit=6), ["size", "--input", "14", "--target", "28",
                                                  "--limit", "6"]),
        (lambda: upscope.framework_size("keras", 14, 3, 2, "same"),
         ["size", "-i", "14", "--k", "3", "--s", "2", "--p", "same", "--framework", "keras"]),
    ],
)  # fmt: skip
def test_rich_and_html_show_the_cli_text(run_cli, monkeypatch, make: Any, cli: list[str]) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    shown = run_cli(*cli)
    assert shown.exit_code == 0, shown.stderr
    result = make()
    assert _plain(result) == shown.stdout
    page = result._repr_html_()  # in colour: the overlap grid then dims the border cells
    assert _html_text(page).rstrip() == _plain(result, colour="truecolor").rstrip()


def test_html_keeps_the_colours_and_the_figures() -> None:
    page = upscope.overlap(3, 2, input=6)._repr_html_()
    assert "<pre" in page and "background-color" in page  # the coloured cells
    text = _html_text(page)
    assert "Numbers" in text and "max/min" in text and "checkerboard" in text


def test_probe_and_compare_show_their_tables(rgba_file: Path, tmp_path: Path) -> None:
    report = upscope.probe(methods="convT-uneven,nearest", seeds=2, size=12, channels=2)
    text = _plain(report)
    assert "convT-uneven (k=3 s=2)" in text and "checkerbd" in text and "wrote" not in text
    report.save_png(tmp_path)
    assert f"wrote {tmp_path / 'probe-spectra.png'}" in _plain(report, width=200)
    result = upscope.compare(rgba_file, **COMPARE)
    text = _html_text(result._repr_html_())
    assert "bilinear" in text and "PSNR" in text and "tile.png" in text
    psnr = f"{result.result('bilinear').psnr:.2f}"
    assert psnr in text


# ---------------------------------------------------------------- scan and upscope.testing


def test_scan_is_the_cli_json(run_cli) -> None:
    """``upscope.scan`` on a MODEL string and on a live model built here (with an example
    input): the CLI's document, as it is (plain JSON types, no tuples)."""
    import torch

    spec = str(ROOT / "samples" / "models.py") + ":ResizeConvDecoder"
    cli = cli_json(run_cli, "scan", spec, "--no-png")
    assert upscope.scan(spec).to_dict() == cli
    sys.path.insert(0, str(ROOT / "samples"))
    try:
        from models import ResizeConvDecoder  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(ROOT / "samples"))
    torch.manual_seed(0)  # as the CLI seeds torch before it builds the model
    live = upscope.scan(ResizeConvDecoder(), example_input=torch.zeros(1, 64, 8, 8))
    assert live.to_dict() == {**cli, "model": "ResizeConvDecoder"}
    from upscope.testing import assert_no_checkerboard

    assert_no_checkerboard(ResizeConvDecoder(), torch.zeros(1, 64, 8, 8))


def test_the_python_api_page_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/python-api.md's ``>>>`` examples return what the page shows."""
    import doctest

    monkeypatch.chdir(tmp_path)  # the page's save_png writes upscope-out/ here
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    page = ROOT / "docs" / "python-api.md"
    failed, tried = doctest.testfile(str(page), module_relative=False, optionflags=flags)
    assert tried >= 20 and failed == 0
    assert (tmp_path / "upscope-out" / "overlap-convt-k3-s2-p0-op0-d1-in6.png").is_file()
