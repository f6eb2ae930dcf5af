"""``upscope size``: output sizes of one layer or a stack, and the target solver."""

from __future__ import annotations

from typing import Annotated

import typer

from upscope import api
from upscope.arith import Framework, layer_help
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
    from upscope.commands._shell import guarded

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
            help="A layer of a stack, repeatable: KIND key=value ...; " + layer_help(),
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
        typer.Option(
            "--max-k",
            max=api.SOLVER_MAX["--max-k"],
            metavar="K",
            help="Solver: largest kernel (default 8).",
        ),
    ] = None,
    max_s: Annotated[
        int | None,
        typer.Option(
            "--max-s",
            max=api.SOLVER_MAX["--max-s"],
            metavar="S",
            help="Solver: largest stride (default 4).",
        ),
    ] = None,
    max_d: Annotated[
        int | None,
        typer.Option(
            "--max-d",
            max=api.SOLVER_MAX["--max-d"],
            metavar="D",
            help="Solver: largest dilation (default 2).",
        ),
    ] = None,
    max_p: Annotated[
        int | None,
        typer.Option(
            "--max-p",
            max=api.SOLVER_MAX["--max-p"],
            metavar="P",
            help="Solver: largest padding (default: D*(K-1)).",
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
    from upscope import present
    from upscope.render.console import print_json

    del seed

    if not input:
        raise UpscopeError("--input is required (e.g. --input 14 or --input 14x20)")
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
        given = {
            name[2:].replace("-", "_"): v for name, v in solver_options.items() if v is not None
        }
        solutions = api.solve(input, target, **given)
        if json_out:
            print_json(solutions.to_dict())
        else:
            present.show(solutions)
        return
    unused = [name for name, v in solver_options.items() if v is not None]
    if unused:
        raise UpscopeError(f"{'/'.join(unused)} only work with --target")
    if framework is not Framework.torch:
        if layer:
            raise UpscopeError(f"--framework {framework} computes one layer; drop --layer")
        if k is None:
            raise UpscopeError("--k is required")
        other = api.framework_size(str(framework), input, k, s or "1", p or "valid", op, d or "1")
        if json_out:
            print_json(other.to_dict())
        else:
            present.show(other)
        return
    if layer:  # refused: --k ... beside --layer
        result = api.stack(input, api.layer_specs(layer, k, s, p, op, d))
    elif k is None:
        raise UpscopeError("--k is required (or give a stack with --layer)")
    else:
        result = api.size(input, k, s or 1, p or 0, op or 0, d or 1)
    if json_out:
        print_json(result.to_dict())
    else:
        present.show(result)


def _given(*values: str | None) -> list[str]:
    """The names of the one-layer options (--k --s --p --op --d, in order) the user gave."""
    names = ("--k", "--s", "--p", "--op", "--d")
    return [name for name, value in zip(names, values, strict=True) if value]
