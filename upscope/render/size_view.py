"""Presentation of ``upscope size``: the rich tables (the JSON is ``upscope.documents``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from upscope import documents, present
from upscope.arith import Bounds, LayerResult, Solution, overlap_verdict
from upscope.render.console import View, out_console
from upscope.sizes import FrameworkSize, LayerStack, Solutions

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["show_framework", "show_solutions", "show_stack"]

_VERDICT_STYLE = {"even": "green", "checkerboard": "bold red", "holes": "bold magenta"}


def _fmt(value: Any) -> str:
    if isinstance(value, list):
        return "x".join(map(str, value))
    return str(value)


def _py(value: Any) -> str:
    """A value as Python source: ``8`` or ``(8, 8)`` (never ``8x8``)."""
    if isinstance(value, list):
        return str(tuple(value)) if len(value) > 1 else str(value[0])
    return str(value)


def _share_text(sol: dict[str, Any]) -> str:
    interior = sol["interior"]
    pixels = _fmt(interior) if isinstance(interior, list) else str(interior)
    return f"{pixels} ({sol['interior_share']:.0%})"


def _verdict_text(verdict: str | None) -> str:
    if verdict is None:
        return "[dim]-[/dim]"
    return f"[{_VERDICT_STYLE[verdict]}]{verdict}[/]"


def show_stack(
    doc: dict[str, Any], results: list[LayerResult], console: Console | None = None
) -> None:
    """One layer: the formula and the verdict. A stack: a table, one row per layer."""
    console = console or out_console()
    if len(results) == 1 and results[0].spec.kind == "convT":
        result = results[0]
        for formula in dict.fromkeys(result.formulas):
            console.print(formula)
        console.print(f"output size: [bold]{_fmt(doc['output'])}[/bold]")
        console.print(f"overlap: {_verdict_text(result.verdict)} ({result.note})")
        return
    from rich.table import Table

    table = Table(title="Layer stack", title_justify="left")
    for name in ("#", "kind", "parameters", "input", "output", "overlap"):
        table.add_column(name, justify="right" if name == "#" else "left")
    for n, (result, layer) in enumerate(zip(results, doc["layers"], strict=True), start=1):
        overlap = _verdict_text(result.verdict)
        if result.note:
            overlap += f" [dim]{result.note}[/dim]"
        table.add_row(
            str(n),
            result.spec.kind,
            result.spec.describe(),
            _fmt(layer["input"]),
            _fmt(layer["output"]),
            overlap,
        )
    console.print(table)
    sizes = " -> ".join(_fmt(list(r.input)) for r in results) + f" -> {_fmt(doc['output'])}"
    console.print(f"sizes: {sizes}")


def show_solutions(
    doc: dict[str, Any],
    solutions: list[tuple[Solution, ...]],
    bounds: Bounds,
    limit: int,
    console: Console | None = None,
) -> None:
    """The solver's table, even-overlap configurations first, the recommended one marked."""
    console = console or out_console()
    pad = "D*(K-1)" if bounds.max_p is None else str(bounds.max_p)
    scope = f"K<={bounds.max_k}, S<={bounds.max_s}, D<={bounds.max_d}, P<={pad}"
    if not solutions:
        console.print(
            f"No transposed convolution maps {_fmt(doc['input'])} to {_fmt(doc['target'])} "
            f"within {scope}; raise --max-k/--max-s/--max-d/--max-p."
        )
        return
    from rich.table import Table

    console.print(
        f"ConvTranspose parameters mapping {_fmt(doc['input'])} -> {_fmt(doc['target'])}: "
        f"{len(solutions)} within {scope}"
    )
    square = doc["square"]
    listed = len(solutions) if square is None else square
    table = Table()
    for name in ("", "k", "s", "p", "op", "d", "overlap", "interior"):
        table.add_column(name)
    shown = min(max(limit, 1), listed)
    for n, sol in enumerate(doc["solutions"][:shown]):
        mark = "[bold green]*[/]" if n == 0 else ""
        verdict = "even" if sol["even_overlap"] else "checkerboard"
        if any(overlap_verdict(s.kernel, s.stride, s.dilation) == "holes" for s in solutions[n]):
            verdict = "holes"
        table.add_row(
            mark,
            *(
                _fmt(sol[key])
                for key in ("kernel", "stride", "padding", "output_padding", "dilation")
            ),
            _verdict_text(verdict),
            _share_text(sol),
        )
    console.print(table)
    console.print(
        "[dim]interior: output pixels free of border fall-off (share of the output). Ranked: "
        "holes last; before them, layers with at least half the output interior; then even "
        "overlap; then a stride near target/input, no dilation, no output padding, K = 2S "
        "(docs/size.md).[/dim]"
    )
    best = doc["recommended"]
    console.print(
        f"[bold green]*[/] recommended: nn.ConvTranspose2d(C_in, C_out, "
        f"kernel_size={_py(best['kernel'])}, stride={_py(best['stride'])}, "
        f"padding={_py(best['padding'])}, output_padding={_py(best['output_padding'])}, "
        f"dilation={_py(best['dilation'])})"
    )
    if listed > shown:
        what = "square " if square is not None else ""
        console.print(f"[dim]{listed - shown} more {what}solutions: --limit N or --json[/dim]")
    if square is not None and len(solutions) > square:
        console.print(
            f"[dim]{len(solutions) - square} more with different parameters per axis: "
            "--json lists them[/dim]"
        )


def show_framework(doc: dict[str, Any], console: Console | None = None) -> None:
    """A Keras/JAX layer's output size and the PyTorch layer of the same size."""
    console = console or out_console()
    console.print(
        f"{doc['framework']} ConvTranspose, padding={doc['padding']!r}: "
        f"output size [bold]{_fmt(doc['output'])}[/bold]"
    )
    eq = doc["torch_equivalent"]
    if all(e is not None for e in eq):
        pads = [e["padding"] for e in eq]
        ops = [e["output_padding"] for e in eq]
        console.print(
            "PyTorch equivalent (same output size): nn.ConvTranspose2d(..., "
            f"kernel_size={_py(doc['kernel'])}, stride={_py(doc['stride'])}, "
            f"padding={_py(pads if len(set(pads)) > 1 else pads[0])}, "
            f"output_padding={_py(ops if len(set(ops)) > 1 else ops[0])}, "
            f"dilation={_py(doc['dilation'])})"
        )
    else:
        console.print("No PyTorch ConvTranspose gives this size with the same kernel and stride.")


# ---------------------------------------------------------------- the registry (upscope.present)

present.document.register(LayerStack)(documents.size_stack)
present.document.register(Solutions)(documents.solve)
present.document.register(FrameworkSize)(documents.framework_size)


@present.view.register(LayerStack)
def _stack_view(result: LayerStack) -> View:
    doc = documents.size_stack(result)
    return View(lambda console: show_stack(doc, list(result.layers), console))


@present.view.register(Solutions)
def _solutions_view(result: Solutions) -> View:
    doc, sols = documents.solve(result), list(result.solutions)
    return View(lambda console: show_solutions(doc, sols, result.bounds, result.limit, console))


@present.view.register(FrameworkSize)
def _framework_view(result: FrameworkSize) -> View:
    doc = documents.framework_size(result)
    return View(lambda console: show_framework(doc, console))
