"""The package's layers, checked on its import graph (docs/architecture.md; issue 19).

Five layers, each importing only those below it:

    5 cli           cli, commands/*                      parse options, call the API, print
    4 api           upscope, api, testing                upscope.size(...) ... upscope.scan(...)
    3 presentation  documents, present, render/*, ...    JSON, terminal views, figures
    2 analyses      sizes, overlap_map, probing, ...     plain data: dataclasses of numbers
    1 foundations   errors, limits, files, arith, ...    shared rules and I/O

The graph is read with :mod:`ast` from the source (no import runs): every ``import`` and
``from ... import`` of an ``upscope`` module, at module level and inside functions alike. Not
counted: imports under ``if TYPE_CHECKING:`` (they never run) and the implicit import of a
module's parent packages. The checks:

- every module has a layer (a new module fails here until it is added to :data:`LAYERS`);
- no import runs from a lower layer to a higher one, except :data:`ALLOWED_UP` (the one lazy
  door: ``upscope.result`` reaches ``upscope.present``);
- no import circle among the modules;
- typer only in the CLI, rich at module level only in presentation and CLI (below them, only
  inside the functions that draw).
"""

from __future__ import annotations

import ast
import shutil
from collections.abc import Iterator
from fnmatch import fnmatchcase
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

FOUNDATIONS, ANALYSES, PRESENTATION, API, CLI = 1, 2, 3, 4, 5
NAMES = {1: "foundations", 2: "analyses", 3: "presentation", 4: "api", 5: "cli"}

#: module (or fnmatch pattern) -> layer. A new module gets a line here; the first match wins.
LAYERS: dict[str, int] = {
    # 1 foundations: shared rules, numbers and I/O; import nothing above them
    "upscope.errors": FOUNDATIONS,
    "upscope.limits": FOUNDATIONS,
    "upscope.files": FOUNDATIONS,
    "upscope.text": FOUNDATIONS,
    "upscope.arith": FOUNDATIONS,
    "upscope.periods": FOUNDATIONS,
    "upscope.metrics": FOUNDATIONS,
    "upscope.quality": FOUNDATIONS,
    "upscope.zoo": FOUNDATIONS,
    "upscope.upsamplers": FOUNDATIONS,
    "upscope.init": FOUNDATIONS,  # the initialisers the fixes import
    "upscope.layers": FOUNDATIONS,  # ResizeConv, which the fixes import
    "upscope.images": FOUNDATIONS,
    "upscope.image_sets": FOUNDATIONS,  # many images streamed: files, folders, arrays
    "upscope.phase_stats": FOUNDATIONS,  # per-phase statistics, numpy only
    "upscope.probe_config": FOUNDATIONS,
    "upscope.result": FOUNDATIONS,  # the Result base; its lazy door is ALLOWED_UP
    "upscope.audio_io": FOUNDATIONS,  # WAV files in and out
    "upscope.dsp": FOUNDATIONS,  # the band-limited resampler, the anti-aliasing downsampler
    "upscope.audio_metrics": FOUNDATIONS,  # tone_db, highs_db, images_db, SNR, LSD
    "upscope.zoo1d": FOUNDATIONS,  # the 1D zoo's names (torch-free)
    "upscope.upsamplers1d": FOUNDATIONS,  # the 1D zoo's layers
    "upscope.audio_config": FOUNDATIONS,  # what probe --audio runs, torch-free
    # 2 analyses: return plain data, never import presentation
    "upscope.sizes": ANALYSES,
    "upscope.overlap_map": ANALYSES,
    "upscope.probing": ANALYSES,
    "upscope.probe_result": ANALYSES,  # what probe returns, torch-free (unpickled to draw)
    "upscope.comparison": ANALYSES,
    "upscope.compare_result": ANALYSES,  # what compare returns, torch-free
    "upscope.scanning": ANALYSES,
    "upscope.scanning.args": ANALYSES,
    "upscope.scanning.static_input": ANALYSES,
    "upscope.scanning.records": ANALYSES,
    "upscope.scanning.load": ANALYSES,
    "upscope.scanning.torch_front": ANALYSES,
    "upscope.scanning.onnx_graph": ANALYSES,
    "upscope.scanning.onnx_front": ANALYSES,
    "upscope.scanning.onnx_names": ANALYSES,
    "upscope.scanning.onnx_check": ANALYSES,
    "upscope.scanning.onnx_conv": ANALYSES,
    "upscope.scanning.onnx_resize": ANALYSES,
    "upscope.scanning.score": ANALYSES,
    "upscope.scanning.grid": ANALYSES,  # the output grid, measured on the model (issue 16)
    "upscope.scanning.judge": ANALYSES,
    "upscope.scanning.fix": ANALYSES,
    "upscope.scanning.fix_code": ANALYSES,
    "upscope.scanning.verify": ANALYSES,
    "upscope.scanning.contain": ANALYSES,
    "upscope.scanning.checkpoint": ANALYSES,
    "upscope.scanning.run": ANALYSES,
    "upscope.scanning.audio": ANALYSES,  # scan --rate: tones in Hz
    "upscope.audio_probe": ANALYSES,
    "upscope.audio_compare": ANALYSES,
    "upscope.audio_results": ANALYSES,  # what probe --audio and compare SOUND return, torch-free
    "upscope.detection": ANALYSES,
    "upscope.detect_model": ANALYSES,
    # 3 presentation: documents (JSON), views and figures, the registry that maps results to them
    "upscope.documents": PRESENTATION,
    "upscope.audio_documents": PRESENTATION,
    "upscope.present": PRESENTATION,
    "upscope.scanning.report": PRESENTATION,  # the scan's JSON document
    "upscope.detect_document": PRESENTATION,  # detect's JSON document
    "upscope.render": PRESENTATION,
    "upscope.render.*": PRESENTATION,
    # 4 the API
    "upscope": API,
    "upscope.api": API,
    "upscope.api_audio": API,
    "upscope.testing": API,
    # 5 the command line
    "upscope.__main__": CLI,
    "upscope.cli": CLI,
    "upscope.commands": CLI,
    "upscope.commands.*": CLI,
}

#: the only imports allowed to run upward, each documented where it is made
ALLOWED_UP = {("upscope.result", "upscope.present")}

#: third-party packages -> the lowest layer that may import them at module level
MODULE_LEVEL_FLOOR = {"typer": CLI, "rich": PRESENTATION, "click": CLI}


def modules(root: Path) -> dict[str, Path]:
    """Every module of the package under ``root``: dotted name -> file."""
    found = {}
    for path in sorted((root / "upscope").rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, in_function: bool = False) -> Iterator[tuple[ast.stmt, bool]]:
    """Every import statement that can run, with whether it sits inside a function."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):  # the body never runs
            for child in node.orelse:
                yield from _imports(ast.Module(body=[child], type_ignores=[]), in_function)
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, in_function
        inner = in_function or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        yield from _imports(node, inner)


def _targets(node: ast.stmt, name: str, is_package: bool) -> list[str]:
    """The dotted names an import statement asks for (a module, or module.attribute)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    assert isinstance(node, ast.ImportFrom)
    base = node.module or ""
    if node.level:
        parts = name.split(".")
        if not is_package:
            parts.pop()
        parts = parts[: len(parts) - (node.level - 1)]
        base = ".".join([*parts, base] if base else parts)
    return [f"{base}.{alias.name}" for alias in node.names] + [base]


class Graph:
    """The import graph of the package under ``root``."""

    def __init__(self, root: Path) -> None:
        self.files = modules(root)
        self.edges: dict[str, set[str]] = {name: set() for name in self.files}
        self.module_level: dict[str, set[str]] = {name: set() for name in self.files}
        for name, path in self.files.items():
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            is_package = path.name == "__init__.py"
            ancestors = {".".join(name.split(".")[:n]) for n in range(1, name.count(".") + 1)}
            for node, in_function in _imports(tree):
                asked = _targets(node, name, is_package)
                if isinstance(node, ast.ImportFrom):  # `from a import b`: b if a module, else a
                    module_names = [t for t in asked[:-1] if t in self.files]
                    asked = module_names or asked[-1:]
                for target in asked:
                    if not in_function:
                        self.module_level[name].add(target.split(".")[0])
                    found = self._resolve(target)
                    if found and found != name and found not in ancestors:
                        self.edges[name].add(found)

    def _resolve(self, target: str) -> str | None:
        while target and target not in self.files:
            target = target.rpartition(".")[0]
        return target or None


def layer_of(module: str, table: dict[str, int] = LAYERS) -> int | None:
    for pattern, layer in table.items():
        if fnmatchcase(module, pattern):
            return layer
    return None


def unlayered(graph: Graph) -> list[str]:
    return [
        f"{m} has no layer: add it to LAYERS in tests/test_layers.py "
        "(FOUNDATIONS, ANALYSES, PRESENTATION, API or CLI; see docs/architecture.md)"
        for m in graph.files
        if layer_of(m) is None
    ]


def upward(graph: Graph) -> list[str]:
    found = []
    for a, targets in graph.edges.items():
        for b in sorted(targets):
            la, lb = layer_of(a), layer_of(b)
            if la is not None and lb is not None and lb > la and (a, b) not in ALLOWED_UP:
                found.append(f"{a} ({NAMES[la]}) imports {b} ({NAMES[lb]}): a lower layer")
    return found


def circles(graph: Graph) -> list[list[str]]:
    """Every strongly connected set of two or more modules (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph.edges):
        if v not in index:
            visit(v)
    return found


def heavy_at_module_level(graph: Graph) -> list[str]:
    found = []
    for module, packages in graph.module_level.items():
        layer = layer_of(module)
        for package in sorted(packages):
            floor = MODULE_LEVEL_FLOOR.get(package)
            if layer is not None and floor is not None and layer < floor:
                found.append(
                    f"{module} ({NAMES[layer]}) imports {package} at module level: only "
                    f"{NAMES[floor]} and above may; import it inside the function that needs it"
                )
    return found


@pytest.fixture(scope="module")
def graph() -> Graph:
    return Graph(ROOT)


def test_every_module_has_a_layer(graph: Graph) -> None:
    assert unlayered(graph) == []


def test_no_import_runs_upward(graph: Graph) -> None:
    assert upward(graph) == []


def test_no_import_circle(graph: Graph) -> None:
    assert circles(graph) == []


def test_typer_and_rich_stay_up(graph: Graph) -> None:
    assert heavy_at_module_level(graph) == []


def test_the_graph_is_read(graph: Graph) -> None:
    """The checks above see real arrows, function-level ones included, and the lazy door."""
    assert "upscope.arith" in graph.edges["upscope.sizes"]
    assert "upscope.present" in graph.edges["upscope.result"]  # inside a function
    assert "upscope.render.size_view" not in graph.edges["upscope.sizes"]
    assert "typer" in graph.module_level["upscope.cli"]
    assert "rich" not in graph.module_level["upscope.render.console"]  # under TYPE_CHECKING


def test_the_registrars_are_presentation() -> None:
    """Every module upscope.present imports lazily registers views: it is presentation, and the
    result types it serves are defined in analyses."""
    from upscope import present

    for defines, registrars in present._REGISTRARS.items():
        assert layer_of(defines) == ANALYSES, defines
        assert all(layer_of(r) == PRESENTATION for r in registrars), registrars


# ------------------------------------------------ the checker fails where it should


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """The package's source in a temporary folder, to break on purpose."""
    shutil.copytree(ROOT / "upscope", tmp_path / "upscope", ignore=shutil.ignore_patterns("*.pyc"))
    return tmp_path


def _append(root: Path, module: str, code: str) -> None:
    path = root / (module.replace(".", "/") + ".py")
    path.write_text(path.read_text(encoding="utf-8") + "\n" + code + "\n", encoding="utf-8")


def test_a_copy_passes(copy: Path) -> None:
    g = Graph(copy)
    assert (unlayered(g), upward(g), circles(g), heavy_at_module_level(g)) == ([], [], [], [])


def test_an_upward_import_fails(copy: Path) -> None:
    _append(copy, "upscope.sizes", "def _f():\n    from upscope.render import size_view\n")
    assert upward(Graph(copy)) == [
        "upscope.sizes (analyses) imports upscope.render.size_view (presentation): a lower layer"
    ]


def test_an_import_circle_fails(copy: Path) -> None:
    _append(copy, "upscope.scanning.judge", "def _f():\n    from upscope.scanning import fix\n")
    assert ["upscope.scanning.fix", "upscope.scanning.judge"] in circles(Graph(copy))


def test_rich_at_module_level_below_presentation_fails(copy: Path) -> None:
    _append(copy, "upscope.overlap_map", "import rich.table")
    assert heavy_at_module_level(Graph(copy)) == [
        "upscope.overlap_map (analyses) imports rich at module level: only presentation and "
        "above may; import it inside the function that needs it"
    ]


def test_a_new_module_without_a_layer_fails(copy: Path) -> None:
    (copy / "upscope" / "novelty.py").write_text("from upscope import arith\n")
    assert unlayered(Graph(copy)) == [
        "upscope.novelty has no layer: add it to LAYERS in tests/test_layers.py "
        "(FOUNDATIONS, ANALYSES, PRESENTATION, API or CLI; see docs/architecture.md)"
    ]
