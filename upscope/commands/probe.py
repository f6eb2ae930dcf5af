"""``upscope probe``: constant, noise and gradient probes of the upsampler zoo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from upscope import zoo
from upscope.commands import (
    OUT_DEFAULT,
    JsonFlag,
    MaxMemoryOpt,
    NoPngFlag,
    UpscopeCommand,
    examples_epilog,
    out_option,
    seed_option,
)
from upscope.probe_config import INPUTS, MAX_CHANNELS, MAX_SEEDS, MAX_SIZE

SHORT = (
    "Score every upsampler for checkerboard on constant and noise inputs at init. "
    "Example: upscope probe --scale 2"
)
HELP = (
    "Feed constant and random inputs through every upsampler at initialisation and measure its "
    "checkerboard (phase energy imbalance, spectral peak), averaged over seeds; --grad does the "
    "same for the gradients of strided convs."
)
EPILOG = examples_epilog(
    "upscope probe --no-png",
    "upscope probe --grad --methods convT-uneven --json --no-png",
)


def register(app: typer.Typer) -> None:
    from upscope.commands._shell import guarded

    app.command("probe", help=HELP, short_help=SHORT, epilog=EPILOG, cls=UpscopeCommand)(
        guarded(probe)
    )


def probe(
    scale: Annotated[
        int, typer.Option("--scale", metavar="S", help="Upsampling factor S, 2 to 4.")
    ] = 2,
    methods: Annotated[
        str,
        typer.Option(
            "--methods",
            metavar="NAMES",
            help="Comma-separated methods, or 'all': " + ", ".join(zoo.NAMES),
        ),
    ] = "all",
    inputs: Annotated[
        str,
        typer.Option(
            "--inputs", metavar="NAMES", help="Comma-separated inputs: " + ", ".join(INPUTS) + "."
        ),
    ] = "constant,noise",
    seeds: Annotated[
        int,
        typer.Option(
            "--seeds",
            max=MAX_SEEDS,
            metavar="N",
            help="Random initialisations averaged per method.",
        ),
    ] = 8,
    size: Annotated[
        int, typer.Option("--size", max=MAX_SIZE, metavar="N", help="Input side N (output S*N).")
    ] = 32,
    channels: Annotated[
        int, typer.Option("--channels", max=MAX_CHANNELS, metavar="C", help="Channels C.")
    ] = 4,
    seed: Annotated[int, seed_option("First seed (0 or more); seeds are seed..seed+N-1.")] = 0,
    grad: Annotated[
        bool, typer.Option("--grad", help="Also probe gradients through strided convs.")
    ] = False,
    json_out: JsonFlag = False,
    out: Annotated[Path, out_option("Folder for the PNGs.")] = OUT_DEFAULT,
    no_png: NoPngFlag = False,
    max_memory: MaxMemoryOpt = None,
) -> None:
    del max_memory  # applied by upscope.commands._shell.guarded
    from upscope import api, present
    from upscope.render.console import print_json

    report = api.probe(
        scale, methods, inputs, seeds, size, channels, seed, grad, out=None if no_png else out
    )
    if json_out:
        print_json(report.to_dict())
    else:
        present.show(report)
