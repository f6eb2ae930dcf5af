"""One-line reprs (issue 20): every result type, and every object users reach from one (a scan's
findings, fixes and ops, a probe's measurements, a comparison's per-method scores, a size's
layers), prints as one line of headline numbers under ``MAX_REPR`` characters, arrays as their
shapes; ``rich.print`` still shows the full table. The walk below reaches every ``Brief`` class
the package defines, so a new result type without a short repr fails here by name."""

from __future__ import annotations

import dataclasses
import importlib
import io
import pkgutil
import re
from typing import Any

import numpy as np
import pytest
from rich.console import Console

import upscope
from upscope.result import MAX_REPR, Brief, Result, brief_repr


def _all_brief_classes() -> set[type]:
    for info in pkgutil.walk_packages(upscope.__path__, "upscope."):
        if not info.name.startswith(("upscope.samples", "upscope.commands", "upscope.cli")):
            importlib.import_module(info.name)
    found: set[type] = set()
    todo = list(Brief.__subclasses__())
    while todo:
        cls = todo.pop()
        if cls not in found:
            if cls.__module__.startswith("upscope.") and cls.__module__ != "upscope.result":
                found.add(cls)
            todo += cls.__subclasses__()
    return found


def _reachable(obj: Any, seen: dict[int, Any]) -> None:
    """Every Brief object reachable from ``obj`` through fields, lists, tuples and dicts."""
    if id(obj) in seen or isinstance(obj, str | bytes | np.ndarray):
        return
    if isinstance(obj, Brief):
        seen[id(obj)] = obj
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            _reachable(getattr(obj, f.name), seen)
    elif isinstance(obj, list | tuple):
        for item in obj:
            _reachable(item, seen)
    elif isinstance(obj, dict):
        for item in obj.values():
            _reachable(item, seen)


@pytest.fixture(scope="module")
def results() -> list[Result]:
    from torch import nn
    from upscope.samples import models

    rng = np.random.default_rng(0)
    tile = rng.random((24, 32, 3)).astype(np.float32)
    grid = rng.normal(128, 20, (8, 1, 64, 64))
    grid[:, :, ::2, ::2] += 6  # a 2x2 grid detect finds and names the convT that can make
    grid = grid.clip(0, 255).astype(np.uint8)
    return [
        upscope.overlap(3, 2, input=6),
        upscope.overlap(stack=["convT k=3 s=2 p=1 op=1", "conv k=3 p=1"], layers=2, input=5),
        upscope.size(14, 3, 2, 1, 1),
        upscope.stack("4x4", ["convT k=4 s=2 p=1", "upsample scale=2", "pixelshuffle r=2"]),
        upscope.solve((14, 20), (28, 40)),
        upscope.framework_size("keras", 14, 3, 2, "same"),
        upscope.probe(methods="convT-uneven,nearest", seeds=2, size=12, channels=2, grad=True),
        upscope.compare(tile, methods="bicubic,convT-uneven", fit=1, channels=2, threads=1),
        upscope.scan(models.DCGANGenerator(), input_shape=(1, 100, 1, 1)),
        upscope.probe(audio=True, methods="convT-uneven,nearest", inputs="silence", seeds=1),
        upscope.compare("sound", methods="convT-uneven,linear", fit=1, channels=2, threads=1),
        upscope.scan(
            nn.Sequential(nn.ConvTranspose1d(1, 1, 4, 2, 1)), input_shape=(1, 1, 64), rate=8000
        ),
        upscope.detect(
            grid, nn.Sequential(nn.ConvTranspose2d(1, 1, 3, 2, 1, 1)), input_shape=(1, 1, 32, 32)
        ),
    ]


def test_every_repr_is_one_short_line(results: list[Result]) -> None:
    seen: dict[int, Any] = {}
    for result in results:
        _reachable(result, seen)
    classes = {type(obj) for obj in seen.values()}
    assert _all_brief_classes() <= classes, "not reached: " + str(_all_brief_classes() - classes)
    for obj in seen.values():
        text = repr(obj)
        assert len(text) < MAX_REPR and "\n" not in text, text
        assert text.startswith(type(obj).__name__ + "("), text
        assert "array([" not in text and "<Error" not in text, text


def test_dataclasses_keep_the_brief_repr() -> None:
    """``@dataclass`` writes its own ``__repr__`` unless told ``repr=False``: each Brief class
    must have been told."""
    for cls in _all_brief_classes():
        assert cls.__repr__ is Brief.__repr__, f"{cls.__qualname__}: use @dataclass(repr=False)"


def test_headline_numbers(results: list[Result]) -> None:
    overlap, scan = results[0], results[8]
    assert repr(overlap) == (
        "OverlapResult(verdict='checkerboard', ratio=4.0, period=(2, 2), shape=(13, 13))"
    )
    finding = next(f for f in scan.findings if f.fixes)
    text = repr(finding)
    assert f"name={finding.op.name!r}" in text and f"status={finding.status!r}" in text
    assert f"fixes=[{len(finding.fixes)} Fix]" in text
    assert "weight=<array 512x256x4x4 float64>" in repr(finding.op)  # an array as its shape
    assert re.search(r"statuses=\{'(artifact|risk)': \d+", repr(scan))
    assert "layers=('convT k=3 s=2 p=1 op=1 d=1',)" in repr(results[2])
    compare = results[7]
    assert repr(compare.results[0]).startswith("MethodResult(method='bicubic', psnr=")
    assert "output=<array 3x24x32 float32>" in repr(compare.results[0])


def test_rich_print_keeps_the_full_table(results: list[Result]) -> None:
    console = Console(record=True, width=100, file=io.StringIO())
    console.print(results[8])
    text = console.export_text()
    assert len(text) > 3 * len(repr(results[8])) and "main.3" in text and "\n" in text


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (np.zeros((3, 4), np.int64), "<array 3x4 int64>"),
        (np.int64(7), "7"),
        (np.float32(0.5), "0.5"),
        (np.bool_(True), "True"),
        (0.1234567, "0.1235"),
        (3.0, "3.0"),
        (float("nan"), "nan"),
        ("x" * 100, repr("x" * 37 + "...")),
        (list(range(100)), "[100 int]"),
        ({"a": 1.0}, "{'a': 1.0}"),
    ],
)
def test_one_rule_for_values(value: Any, shown: str) -> None:
    class Holder(Brief):
        _brief = ("v",)

        def __init__(self) -> None:
            self.v = value

    assert brief_repr(Holder()) == f"Holder(v={shown})"


def test_a_repr_never_raises_and_stays_short() -> None:
    class Broken(Brief):
        _brief = ("missing", "name")

        def __init__(self) -> None:
            self.name = "n" * 10_000

    text = repr(Broken())
    assert text.startswith("Broken(missing=<AttributeError>, name='nnn") and len(text) < MAX_REPR
