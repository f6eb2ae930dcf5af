"""``upscope overlap``: the exact overlap-count map of a transposed convolution or a stack."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from upscope.arith import OVERLAP_KINDS, layer_help
from upscope.commands import (
    INPUT_HELP,
    OUT_DEFAULT,
    DilationOpt,
    JsonFlag,
    KernelOpt,
    MaxMemoryOpt,
    NoPngFlag,
    OutPadOpt,
    StrideOpt,
    UpscopeCommand,
    examples_epilog,
    out_option,
    seed_option,
)

SHORT = (
    "Exact overlap-count map of a transposed conv or stack, and its checkerboard verdict. "
    "Example: upscope overlap --k 3 --s 2"
)
HELP = (
    "Exact overlap-count map of a transposed convolution (or a stack): how many kernel taps "
    "land on each output pixel, its interior figures and an even/checkerboard/holes verdict."
)
EPILOG = examples_epilog(
    "upscope overlap --k 3 --s 2 --p 1 --op 1 --input 6",
    'upscope overlap --layer "convT k=3 s=2 p=1 op=1" --layers 3 --dims 1',
)


def register(app: typer.Typer) -> None:
    from upscope.commands._shell import guarded

    app.command("overlap", help=HELP, short_help=SHORT, epilog=EPILOG, cls=UpscopeCommand)(
        guarded(overlap)
    )


def overlap(
    k: KernelOpt = None,
    s: StrideOpt = None,
    p: Annotated[
        str | None, typer.Option("--p", metavar="P", help="Padding (int or AxB); default 0.")
    ] = None,
    op: OutPadOpt = None,
    d: DilationOpt = None,
    input: Annotated[str, typer.Option("--input", "-i", metavar="SIZE", help=INPUT_HELP)] = "8",
    layers: Annotated[
        int,
        typer.Option(
            "--layers", "-L", metavar="L", help="Apply the layer (or the --layer stack) L times."
        ),
    ] = 1,
    layer: Annotated[
        list[str] | None,
        typer.Option(
            "--layer",
            metavar="SPEC",
            help="A layer of a mixed stack, repeatable, as for `upscope size`: "
            + layer_help(OVERLAP_KINDS),
        ),
    ] = None,
    dims: Annotated[int, typer.Option("--dims", metavar="N", help="1 or 2 spatial axes.")] = 2,
    json_out: JsonFlag = False,
    out: Annotated[Path, out_option("Folder for the PNG figure.")] = OUT_DEFAULT,
    no_png: NoPngFlag = False,
    seed: Annotated[
        int,
        seed_option(
            "Seed (0 or more), accepted by every command; no effect here: the map is exact."
        ),
    ] = 0,
    max_memory: MaxMemoryOpt = None,
) -> None:
    del max_memory, seed  # the budget is applied by guarded (commands._shell); the map is exact
    from upscope import api, present
    from upscope.render.console import print_json

    result = api.overlap(
        k, s, p, op, d, layers=layers, input=input, dims=dims, stack=layer,
        out=None if no_png else out,
    )  # fmt: skip
    if json_out:
        print_json(result.to_dict())
    else:
        present.show(result)
