"""``upscope detect IMAGES``: find the grid in images a model made, and name the layer."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

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

SHORT = (
    "Find the periodic grid in images a model made, and the layer that draws it. "
    "Example: upscope detect samples/ --model gen.py:Generator"
)
HELP = (
    "Test images for a periodic grid: for every period from 2 to 16 (and every period the "
    "model can make), the per-phase mean of the high-pass residual (an additive grid: a "
    "transposed conv's or pixel shuffle's offsets) and the per-phase neighbour differences (a "
    "structural one: nearest upscaling, JPEG's 8x8 blocks), against a null measured on the same "
    "images. Images of one size are tested together (a faint grid grows with their number). "
    "IMAGES are image files, folders of them, or .npy/.npz batches (N x C x H x W or "
    "N x H x W x C; uint8, or floats in [0, 1] or [-1, 1]). With --model, each period found is "
    "matched with the ops of the model that can make it (scan's status and fix); with "
    "--samples N and no IMAGES, the model makes N images itself from seeded standard-normal "
    "inputs."
)
EPILOG = examples_epilog(
    "upscope detect astronaut",
    "upscope detect --model upscope.samples.models:DCGANGenerator --samples 8",
    "upscope detect astronaut --json --no-png --fail-on grid",
)
FAIL_ON = ("grid",)


def register(app: typer.Typer) -> None:
    from upscope.commands._shell import guarded

    app.command("detect", help=HELP, short_help=SHORT, epilog=EPILOG, cls=UpscopeCommand)(
        guarded(detect)
    )


def detect(
    images: Annotated[
        list[str] | None,
        typer.Argument(
            help="Image files, folders of them, .npy or .npz batches (or a bundled image: "
            "astronaut, zoneplate).",
            metavar="IMAGES",
            show_default=False,
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            metavar="MODEL",
            help="The model that made the images (scan's MODEL: path/to/file.py:Name, "
            "package.module:Name or model.onnx): name the ops that can make each period.",
        ),
    ] = None,
    weights: Annotated[
        Path | None,
        typer.Option(
            "--weights",
            metavar="FILE",
            help="A state dict for --model, saved with torch.save (weights_only=True).",
        ),
    ] = None,
    input_shape: Annotated[
        str | None,
        typer.Option(
            "--input-shape",
            metavar="SHAPE",
            help="The model's input shape, e.g. 1x100x1x1 (default: its example_input_array).",
        ),
    ] = None,
    samples: Annotated[
        int | None,
        typer.Option(
            "--samples",
            metavar="N",
            help="Without IMAGES: N forward passes of --model on seeded standard-normal inputs "
            "of its input shape make the images.",
        ),
    ] = None,
    recursive: Annotated[
        bool, typer.Option("--recursive", help="Read the image files of subfolders too.")
    ] = False,
    fail_on: Annotated[
        str | None,
        typer.Option(
            "--fail-on",
            metavar="WHAT",
            help="grid: exit with code 3 when a period other than JPEG blocks is found. For CI.",
        ),
    ] = None,
    json_out: JsonFlag = False,
    out: Annotated[Path, out_option("Folder for the PNGs.")] = OUT_DEFAULT,
    no_png: NoPngFlag = False,
    seed: Annotated[
        int, seed_option("Seed (0 or more) of the model's build and of its --samples inputs.")
    ] = 0,
    max_memory: MaxMemoryOpt = None,
) -> None:
    del max_memory  # applied by upscope.commands._shell.guarded
    from upscope.errors import UpscopeError
    from upscope.files import prepare_out_dir

    if fail_on is not None and fail_on not in FAIL_ON:
        raise UpscopeError(f"--fail-on must be grid, got {fail_on!r}")
    if weights is not None and model is None:
        raise UpscopeError("--weights is for --model")
    if input_shape is not None and model is None:
        raise UpscopeError("--input-shape is for --model")
    if not no_png:
        prepare_out_dir(out)  # a bad folder is answered before the work

    from upscope import api
    from upscope.render.progress import progress

    with progress(enabled=not json_out, verb="reading", delay=1.0) as report:
        result = api.detect(
            images or None,
            model,
            weights=weights,
            input_shape=input_shape,
            samples=samples,
            seed=seed,
            recursive=recursive,
            progress=report,
        )
    if not no_png:
        result.save_png(out)
    from upscope import present
    from upscope.render.console import print_json

    if json_out:
        print_json(result.to_dict())
    else:
        present.show(result)
    if fail_on == "grid" and result.verdict == "grid":
        raise typer.Exit(3)
