"""``upscope overlap``: the exact overlap-count map of a transposed convolution or a stack."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

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
from upscope.errors import UpscopeError

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
    from upscope.cli import guarded

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
            "'convT k=4 s=2 p=1', 'conv k=3 p=1', 'pool k=2', 'avgpool k=2', "
            "'upsample scale=2', 'pixelshuffle r=2'.",
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
    del max_memory  # applied by upscope.cli.guarded
    from upscope import arith
    from upscope.commands.size import layer_specs

    del seed
    if dims not in (1, 2):
        raise UpscopeError(f"--dims must be 1 or 2, got {dims}")
    if layers < 1:
        raise UpscopeError(f"--layers must be at least 1, got {layers}")
    if layers > 64:
        raise UpscopeError(f"--layers must be at most 64, got {layers}")
    inputs = arith.parse_axes(input, "--input")
    if len(inputs) not in (1, dims):
        raise UpscopeError(f"--input {input} has {len(inputs)} axes but --dims is {dims}")
    inputs = inputs * dims if len(inputs) == 1 else inputs
    if not layer and k is not None:
        raw = {"--k": k, "--s": s, "--p": p, "--op": op, "--d": d}
        for name, text in raw.items():
            if text is not None and len(arith.parse_axes(text, name)) not in (1, dims):
                raise UpscopeError(f"{name} {text} has more axes than --dims {dims}")
    specs = layer_specs(layer, k, s, p, op, d)
    for n, spec in enumerate(specs, start=1):
        if spec.ndim is not None and spec.ndim != dims:
            raise UpscopeError(
                f"layer {n} ({spec.kind} {spec.describe()}) has {spec.ndim} axes but --dims is "
                f"{dims}"
            )
    specs = specs * layers

    from upscope.overlap_map import stack_overlap
    from upscope.render import overlap_view

    result = stack_overlap(specs, inputs)
    png: Path | None = None
    if not no_png:
        from upscope.files import prepare_out_dir

        folder = prepare_out_dir(out)
        png = overlap_view.write_png(result, folder / overlap_view.file_name(result, layers))
    if json_out:
        overlap_view.print_json(overlap_view.document(result, png))
    else:
        overlap_view.show(result, png)
