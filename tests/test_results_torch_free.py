"""Every result a command returns can be presented where torch is not loaded: a drawing process
that gets a finished result (pickled) imports the module that defines its type, its registrar
(:data:`upscope.present._REGISTRARS`) and the figure code, and none of them may import torch
(about a second there). The results are made here, in the parent; a fresh child process loads
them, makes their documents and views and draws the probe's and the scan's figures, and reports
what it made (the same as here, the PNGs byte for byte) and whether torch was imported."""

from __future__ import annotations

import io
import json
import pickle
import shutil
import sys
from pathlib import Path
from subprocess import PIPE, Popen
from typing import Any

import numpy as np
import pytest
from rich.console import Console

import upscope
from upscope import present
from upscope.result import Result

ROOT = Path(__file__).resolve().parent.parent

#: the kinds whose figures are drawn in both processes (the others: documents and views only)
DRAWN = ("probe", "scan")

#: the child: import every registrar, unpickle each result, make its document and its terminal
#: view (and the figures of DRAWN); print what it made and whether torch was imported
CHILD = """
import importlib, io, json, pickle, sys
from pathlib import Path
from rich.console import Console
from upscope import present

folder, kinds, drawn = Path(sys.argv[1]), sys.argv[2].split(","), sys.argv[3].split(",")
def text(result):
    buffer = io.StringIO()
    Console(file=buffer, width=100, color_system=None).print(present.view(result))
    return buffer.getvalue()
registrars = sorted({name for names in present._REGISTRARS.values() for name in names})
for name in registrars:
    importlib.import_module(name)
report = {"registrars": registrars, "types": {}, "documents": {}, "views": {}, "figures": {}}
for kind in kinds:
    result = pickle.loads((folder / f"{kind}.pkl").read_bytes())
    report["types"][kind] = type(result).__module__ + "." + type(result).__qualname__
    report["documents"][kind] = present.document(result)
    report["views"][kind] = text(result)
    if kind in drawn:
        paths = present.figures(result, folder / "child" / kind)
        report["figures"][kind] = sorted(p.name for p in paths)
report["torch"] = sorted(m for m in sys.modules if m == "torch" or m.startswith("torch."))
print(json.dumps(report))
"""


def _results() -> dict[str, Result]:
    """A small real result of every kind that has a registrar: the DCGAN generator at 8 base
    channels (its five ops and four PNGs as at 64, in a fraction of the time)."""
    from torch import nn
    from upscope.samples import models

    rng = np.random.default_rng(0)
    tile = rng.random((24, 32, 3)).astype(np.float32)
    grid = rng.normal(128, 20, (8, 1, 64, 64))
    grid[:, :, ::2, ::2] += 6
    grid = grid.clip(0, 255).astype(np.uint8)
    convt = nn.Sequential(nn.ConvTranspose2d(1, 1, 3, 2, 1, 1))
    return {
        "size": upscope.size(14, 3, 2, 1, 1),
        "overlap": upscope.overlap(3, 2, input=6),
        "probe": upscope.probe(methods="convT-uneven", seeds=1, size=8, channels=2),
        "compare": upscope.compare(tile, methods="bicubic,convT-uneven", fit=0, threads=1),
        "audio_probe": upscope.probe(audio=True, methods="convT-uneven", inputs="sine", seeds=1),
        "audio_compare": upscope.compare("sound", methods="convT-uneven,linear", fit=1, threads=1),
        "scan": upscope.scan(models.DCGANGenerator(ngf=8), input_shape=(1, 100, 1, 1)),
        "detect": upscope.detect(grid, convt, input_shape=(1, 1, 32, 32)),
    }


@pytest.fixture(scope="module")
def pickled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Result]]:
    folder = tmp_path_factory.mktemp("pickled")
    results = _results()
    for kind, result in results.items():
        (folder / f"{kind}.pkl").write_bytes(pickle.dumps(result))
    return folder, results


def _start(root: Path, folder: Path, kinds: list[str], drawn: tuple[str, ...]) -> Popen[str]:
    """Start :data:`CHILD` with ``root`` first on sys.path (its working directory)."""
    command = [sys.executable, "-c", CHILD, str(folder), ",".join(kinds), ",".join(drawn)]
    return Popen(command, cwd=root, stdout=PIPE, stderr=PIPE, text=True)


def _report(child: Popen[str]) -> dict[str, Any]:
    """What the child printed, once it has ended well."""
    stdout, stderr = child.communicate(timeout=120)
    assert child.returncode == 0, stderr
    report: dict[str, Any] = json.loads(stdout)
    return report


def _text(result: Result) -> str:
    """What the child's ``text`` makes: the view printed at 100 columns, no colour."""
    buffer = io.StringIO()
    Console(file=buffer, width=100, color_system=None).print(present.view(result))
    return buffer.getvalue()


def test_results_unpickle_and_draw_without_torch(
    pickled: tuple[Path, dict[str, Result]],
) -> None:
    folder, results = pickled
    child = _start(ROOT, folder, list(results), DRAWN)
    # meanwhile, this process makes the same (documents and views first: drawing records the
    # PNGs in the result, and a document lists them)
    documents = {kind: json.loads(json.dumps(r.to_dict())) for kind, r in results.items()}
    views = {kind: _text(r) for kind, r in results.items()}
    mine = {kind: present.figures(results[kind], folder / "parent" / kind) for kind in DRAWN}
    report = _report(child)
    assert report["torch"] == []
    # every registrar was imported, and every result type defined by a module it serves
    assert set(report["registrars"]) == {n for ns in present._REGISTRARS.values() for n in ns}
    defining = {type(r).__module__ for r in results.values()}
    assert defining <= set(present._REGISTRARS), defining - set(present._REGISTRARS)
    assert defining >= set(present._REGISTRARS), "a registrar without a result here"
    for kind, result in results.items():
        assert report["types"][kind] == f"{type(result).__module__}.{type(result).__qualname__}"
        assert report["documents"][kind] == documents[kind], kind
        assert report["views"][kind] == views[kind], kind
    for kind in DRAWN:
        assert mine[kind], kind
        assert report["figures"][kind] == sorted(p.name for p in mine[kind]), kind
        for path in mine[kind]:  # the same figure gives the same bytes in any process
            assert (folder / "child" / kind / path.name).read_bytes() == path.read_bytes()


def test_an_import_of_torch_is_caught(
    tmp_path: Path, pickled: tuple[Path, dict[str, Result]]
) -> None:
    """The check is not empty: with ``import torch`` added to the module that defines the probe's
    result (a stand-in torch, so this stays fast), the child reports it."""
    folder, _ = pickled
    shutil.copytree(ROOT / "upscope", tmp_path / "upscope", ignore=shutil.ignore_patterns("*.pyc"))
    (tmp_path / "torch.py").write_text("", encoding="utf-8")
    module = tmp_path / "upscope" / "probe_result.py"
    module.write_text(module.read_text(encoding="utf-8") + "\nimport torch\n", encoding="utf-8")
    out = tmp_path / "out"
    shutil.copytree(folder, out, ignore=shutil.ignore_patterns("child", "parent"))
    report = _report(_start(tmp_path, out, ["probe"], ()))
    assert report["torch"] == ["torch"]


def test_a_scan_is_handed_to_the_drawing_process_without_its_weights(
    tmp_path: Path, pickled: tuple[Path, dict[str, Result]]
) -> None:
    """:func:`upscope.present.handed` drops what no figure reads (the ops' weights): the copy
    pickles to a small fraction, documents alike, and draws the same PNGs byte for byte; the
    result itself keeps its weights."""
    _, results = pickled
    full = pickle.loads(pickle.dumps(results["scan"]))  # a copy: drawing records its PNGs
    handed = present.handed(full)
    assert all(f.op.weight is None for f in handed.findings)
    assert sum(f.op.weight is not None for f in full.findings) == 5
    assert len(pickle.dumps(handed)) < len(pickle.dumps(full)) / 5
    assert json.dumps(present.document(handed)) == json.dumps(present.document(full))
    drawn = [
        present.figures(r, tmp_path / name) for name, r in (("full", full), ("handed", handed))
    ]
    assert [p.name for p in drawn[0]] == [p.name for p in drawn[1]] and len(drawn[0]) == 4
    for a, b in zip(*drawn, strict=True):
        assert a.read_bytes() == b.read_bytes()
