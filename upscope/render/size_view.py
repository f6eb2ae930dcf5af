"""Presentation of ``upscope size``: JSON documents and rich tables."""

from __future__ import annotations

from typing import Any

from upscope.arith import Axes, Bounds, LayerResult, Solution, is_square, overlap_verdict, share
from upscope.render.console import out_console, print_json

__all__ = ["print_json", "stack_document", "solve_document", "show_stack", "show_solutions"]

_LONG = {
    "k": "kernel",
    "s": "stride",
    "p": "padding",
    "op": "output_padding",
    "d": "dilation",
    "r": "r",
    "size": "size",
}

_VERDICT_STYLE = {"even": "green", "checkerboard": "bold red", "holes": "bold magenta"}


def _axes_value(values: Axes, per_axis: bool) -> int | list[int]:
    return list(values) if per_axis or len(set(values)) > 1 else values[0]


def layer_document(result: LayerResult) -> dict[str, Any]:
    """One layer as JSON: kind, input, output, its parameters, the overlap verdict."""
    spec = result.spec
    doc: dict[str, Any] = {"kind": spec.kind, "input": list(result.input)}
    doc["output"] = list(result.output)
    ndim = len(result.input)
    defaults = {"s": 1, "p": 0, "op": 0, "d": 1}
    if spec.kind == "pool":
        defaults["s"] = spec.get("k", 0, 1)
    keys = list(spec.params)
    if spec.kind == "convT":
        keys = ["k", "s", "p", "op", "d"]
    elif spec.kind == "conv":
        keys = ["k", "s", "p", "d"]
    for key in keys:
        values = tuple(spec.get(key, a, defaults.get(key, 0)) for a in range(ndim))
        doc[_LONG[key]] = _axes_value(values, key in spec.per_axis)
    for key, value in spec.options.items():
        if key == "scale":
            doc[key] = float(value)
        elif key == "ceil":
            doc["ceil_mode"] = value == "1"
        else:
            doc[key] = value
    if spec.kind in ("convT", "conv"):
        doc["even_overlap"] = None if result.verdict is None else result.verdict == "even"
    doc["verdict"] = result.verdict
    doc["note"] = result.note or None
    if result.formulas:
        doc["formula"] = list(result.formulas)
    return doc


def stack_document(results: list[LayerResult], per_axis: bool) -> dict[str, Any]:
    """``{"output": [...], "layers": [...]}`` for one layer or a stack."""
    return {
        "output": list(results[-1].output),
        "layers": [layer_document(r) for r in results],
    }


def solution_document(sols: tuple[Solution, ...], per_axis: bool) -> dict[str, Any]:
    def field(name: str) -> int | list[int]:
        values = tuple(getattr(s, name) for s in sols)
        return list(values) if per_axis else values[0]

    names = ("kernel", "stride", "padding", "output_padding", "dilation")
    doc: dict[str, Any] = {name: field(name) for name in names}
    doc["even_overlap"] = all(s.even_overlap for s in sols)
    doc["interior"] = field("interior")
    doc["interior_share"] = round(share(sols), 4)
    return doc


def solve_document(
    inputs: Axes, targets: Axes, solutions: list[tuple[Solution, ...]], per_axis: bool
) -> dict[str, Any]:
    """``{"input", "target", "solutions": [...], "recommended", "square"}``; best first.

    ``square`` counts the configurations with the same parameters on every axis when every
    axis asks the same (they come first), else None.
    """
    docs = [solution_document(sols, per_axis) for sols in solutions]
    same = per_axis and len(set(zip(inputs, targets, strict=True))) == 1
    return {
        "input": list(inputs) if per_axis else inputs[0],
        "target": list(targets) if per_axis else targets[0],
        "solutions": docs,
        "recommended": docs[0] if docs else None,
        "square": sum(is_square(s) for s in solutions) if same else None,
    }


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


def show_stack(doc: dict[str, Any], results: list[LayerResult]) -> None:
    """One layer: the formula and the verdict. A stack: a table, one row per layer."""
    console = out_console()
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
    doc: dict[str, Any], solutions: list[tuple[Solution, ...]], bounds: Bounds, limit: int
) -> None:
    """The solver's table, even-overlap configurations first, the recommended one marked."""
    console = out_console()
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
        "overlap first.[/dim]"
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


def show_framework(doc: dict[str, Any]) -> None:
    """A Keras/JAX layer's output size and the PyTorch layer of the same size."""
    console = out_console()
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
