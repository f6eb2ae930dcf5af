"""``upscope size``: output sizes of one layer or a stack, and the target solver."""

from __future__ import annotations

from typing import Annotated

import typer

from upscope import arith
from upscope.arith import Bounds, Framework
from upscope.commands import (
    INPUT_HELP,
    DilationOpt,
    JsonFlag,
    KernelOpt,
    OutPadOpt,
    StrideOpt,
    UpscopeCommand,
    examples_epilog,
    seed_option,
)
from upscope.errors import UpscopeError

SHORT = "Output sizes of a transposed conv or a layer stack; solve for a target size."
EXAMPLE = "upscope size --input 14 --k 4 --s 2 --p 1"
HELP = SHORT
EPILOG = examples_epilog(
    EXAMPLE,
    'upscope size --input 4 --layer "convT k=4 s=2 p=1" --layer "upsample scale=2"',
    "upscope size --input 14 --target 28",
    "upscope size --input 14 --k 3 --s 2 --p same --framework keras",
)


def register(app: typer.Typer) -> None:
    from upscope.cli import guarded

    short = f"{SHORT} Example: {EXAMPLE}"
    app.command("size", help=HELP, short_help=short, epilog=EPILOG, cls=UpscopeCommand)(
        guarded(size)
    )


def size(
    input: Annotated[str, typer.Option("--input", "-i", metavar="SIZE", help=INPUT_HELP)] = "",
    k: KernelOpt = None,
    s: StrideOpt = None,
    p: Annotated[
        str | None,
        typer.Option(
            "--p",
            metavar="P",
            help="Padding (int or AxB), default 0; same|valid|full with keras/jax.",
        ),
    ] = None,
    op: OutPadOpt = None,
    d: DilationOpt = None,
    layer: Annotated[
        list[str] | None,
        typer.Option(
            "--layer",
            metavar="SPEC",
            help="A layer of a stack, repeatable: 'convT k=4 s=2 p=1', 'conv k=3 p=1', "
            "'pool k=2', 'upsample scale=2', 'pixelshuffle r=2', 'pixelunshuffle r=2'.",
        ),
    ] = None,
    target: Annotated[
        str | None,
        typer.Option(
            "--target", "-t", metavar="SIZE", help="Solve for parameters giving this size."
        ),
    ] = None,
    framework: Annotated[
        Framework, typer.Option("--framework", help="Padding semantics to use.")
    ] = Framework.torch,
    max_k: Annotated[
        int | None,
        typer.Option("--max-k", max=64, metavar="K", help="Solver: largest kernel (default 8)."),
    ] = None,
    max_s: Annotated[
        int | None,
        typer.Option("--max-s", max=16, metavar="S", help="Solver: largest stride (default 4)."),
    ] = None,
    max_d: Annotated[
        int | None,
        typer.Option("--max-d", max=8, metavar="D", help="Solver: largest dilation (default 2)."),
    ] = None,
    max_p: Annotated[
        int | None,
        typer.Option(
            "--max-p", max=1024, metavar="P", help="Solver: largest padding (default: D*(K-1))."
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option("--limit", min=1, metavar="N", help="Solver: table rows shown (default 20)."),
    ] = None,
    json_out: JsonFlag = False,
    seed: Annotated[
        int,
        seed_option(
            "Seed (0 or more), accepted by every command; no effect here: sizes are exact."
        ),
    ] = 0,
) -> None:
    from upscope.render import size_view

    del seed

    if not input:
        raise UpscopeError("--input is required (e.g. --input 14 or --input 14x20)")
    inputs = arith.parse_axes(input, "--input")
    solver_options = {
        "--max-k": max_k,
        "--max-s": max_s,
        "--max-d": max_d,
        "--max-p": max_p,
        "--limit": limit,
    }
    if target is not None:
        used = _given(k, s, p, op, d)
        if used:
            raise UpscopeError(f"--target solves for the layer's parameters; drop {'/'.join(used)}")
        if framework is not Framework.torch:
            raise UpscopeError("--target solves for PyTorch parameters; drop --framework")
        if layer:
            raise UpscopeError("--target solves one layer; it cannot be combined with --layer")
        targets = arith.parse_axes(target, "--target")
        both = arith.broadcast({"--input": inputs, "--target": targets})
        bounds = Bounds(max_k or 8, max_s or 4, max_d or 2, max_p)
        solutions = arith.solve(both["--input"], both["--target"], bounds)
        per_axis = len(inputs) > 1 or len(targets) > 1
        doc = size_view.solve_document(both["--input"], both["--target"], solutions, per_axis)
        if json_out:
            size_view.print_json(doc)
        else:
            size_view.show_solutions(doc, solutions, bounds, limit or 20)
        return
    unused = [name for name, v in solver_options.items() if v is not None]
    if unused:
        raise UpscopeError(f"{'/'.join(unused)} only work with --target")
    if framework is not Framework.torch:
        if layer:
            raise UpscopeError(f"--framework {framework} computes one layer; drop --layer")
        if k is None:
            raise UpscopeError("--k is required")
        doc = _other_framework(framework, inputs, k, s or "1", p or "valid", op, d or "1")
        if json_out:
            size_view.print_json(doc)
        else:
            size_view.show_framework(doc)
        return
    specs = layer_specs(layer, k, s, p, op, d)
    ndims = {spec.ndim for spec in specs if spec.ndim is not None}
    ndim = len(inputs) if len(inputs) > 1 or not ndims else max(ndims)
    inputs = inputs * ndim if len(inputs) == 1 else inputs
    # a stack's errors name the failing layer; one layer's errors name the bad value alone
    run = arith.stack_output if layer else lambda s, i: [arith.layer_output(s[0], i)]
    results = run(specs, inputs)
    doc = size_view.stack_document(results, per_axis=len(inputs) > 1 or bool(ndims))
    if json_out:
        size_view.print_json(doc)
    else:
        size_view.show_stack(doc, results)


def _other_framework(
    framework: Framework, inputs: arith.Axes, k: str, s: str, p: str, op: str | None, d: str
) -> dict[str, object]:
    padding = p.lower()
    values = {
        "--input": inputs,
        "--k": arith.parse_axes(k, "--k"),
        "--s": arith.parse_axes(s, "--s"),
        "--d": arith.parse_axes(d, "--d"),
    }
    if op is not None:
        if framework is Framework.jax:
            raise UpscopeError("--op has no meaning with --framework jax")
        values["--op"] = arith.parse_axes(op, "--op")
    per_axis = any(len(v) > 1 for v in values.values())
    values = arith.broadcast(values)
    if framework is Framework.keras:
        arith.check_keras(values["--s"], values["--d"])
    if padding == "0":
        padding = "valid"
    outputs, equivalents = [], []
    for axis, i in enumerate(values["--input"]):
        kk, ss, dd = values["--k"][axis], values["--s"][axis], values["--d"][axis]
        if framework is Framework.keras:
            oo = values["--op"][axis] if "--op" in values else None
            out = arith.keras_output(i, kk, ss, padding, oo, dd)
        else:
            out = arith.jax_output(i, kk, ss, padding, dd)
        outputs.append(out)
        equivalents.append(arith.torch_equivalent(i, kk, ss, out, dd))
    return {
        "framework": str(framework),
        "padding": padding,
        "per_axis": per_axis,
        "input": list(values["--input"]),
        "kernel": list(values["--k"]),
        "stride": list(values["--s"]),
        "dilation": list(values["--d"]),
        "output_padding": list(values["--op"]) if "--op" in values else None,
        "output": outputs,
        "torch_equivalent": [
            None if e is None else {"padding": e[0], "output_padding": e[1]} for e in equivalents
        ],
    }


def layer_specs(
    layer: list[str] | None,
    k: str | None,
    s: str | None,
    p: str | None,
    op: str | None,
    d: str | None,
) -> list[arith.LayerSpec]:
    """The layers named by ``--layer`` (a stack) or by ``--k --s --p --op --d`` (one convT).

    Options that would be silently ignored are refused instead.
    """
    given = _given(k, s, p, op, d)
    if layer:
        if given:
            raise UpscopeError(
                f"{_listing(given)} one layer; with --layer, put the parameters in "
                "each spec (e.g. --layer 'convT k=4 s=2 p=1')"
            )
        return [arith.parse_layer(text) for text in layer]
    if k is None:
        raise UpscopeError("--k is required (or give a stack with --layer)")
    raw = {"--k": k, "--s": s or "1", "--p": p or "0", "--op": op or "0", "--d": d or "1"}
    values = {name: arith.parse_axes(text, name) for name, text in raw.items()}
    per_axis = {name[2:] for name, v in values.items() if len(v) > 1}
    values = arith.broadcast(values)
    spec = arith.convt_spec(
        values["--k"], values["--s"], values["--p"], values["--op"], values["--d"], per_axis
    )
    return [spec]


def _listing(names: list[str]) -> str:
    """``--s describes`` / ``--s/--p describe``."""
    return f"{'/'.join(names)} {'describes' if len(names) == 1 else 'describe'}"


def _given(*values: str | None) -> list[str]:
    """The names of the one-layer options (--k --s --p --op --d, in order) the user gave."""
    names = ("--k", "--s", "--p", "--op", "--d")
    return [name for name, value in zip(names, values, strict=True) if value]
