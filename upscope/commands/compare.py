"""``upscope compare``: every upsampler on a real image, side by side, with metrics and spectra."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from upscope import api, zoo, zoo1d
from upscope.api import default_threads as default_threads  # re-exported for tests
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
from upscope.errors import UpscopeError

SHORT = (
    "Run every upsampler on a real image (or a WAV sound, 1D): PSNR, SSIM, artifact metrics, "
    "spectra. "
    "Example: upscope compare photo.png"
)
HELP = (
    "Upsample the box-downsampled version of an image with every upsampler (learned ones fitted "
    "to the image for --fit steps) and compare PSNR, SSIM, checkerboard metrics, spectra and "
    "zoomed crops. IMAGE is a file, or a bundled sample: astronaut (the default) or zoneplate. "
    "A sound (a .wav file, or the bundled sample 'sound') is downsampled with an anti-aliasing "
    "filter and upsampled back with every 1D upsampler instead: SNR, LSD, tone dB, one WAV per "
    "method and spectrograms (docs/audio.md)."
)
EPILOG = examples_epilog(
    "upscope compare --methods bicubic,convT-uneven --fit 20 --no-png",
    "upscope compare zoneplate -m bilinear,convT-uneven --fit 0 --out zoneplate-out",
    "upscope compare sound -m convT-even,nearest,sinc --fit 20 --out sound-out",
)


class Device(StrEnum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


class SortKey(StrEnum):
    psnr = "psnr"
    ssim = "ssim"
    checkerboard = "checkerboard"
    checkerboard_error = "checkerboard_error"
    spectral_peak_db = "spectral_peak_db"
    seconds = "seconds"
    method = "method"


def register(app: typer.Typer) -> None:
    from upscope.commands._shell import guarded

    app.command("compare", help=HELP, short_help=SHORT, epilog=EPILOG, cls=UpscopeCommand)(
        guarded(compare)
    )


def compare(
    image: Annotated[
        str | None,
        typer.Argument(
            help="Image file (any format Pillow reads), or a bundled sample: astronaut "
            "(default), zoneplate; or a sound: a .wav file (16/24/32-bit PCM or float), or "
            "'sound' (bundled).",
            metavar="IMAGE",
            show_default=False,
        ),
    ] = None,
    scale: Annotated[
        int,
        typer.Option("--scale", metavar="S", help="Upsampling factor S, 2 to 4 (sounds: 2 to 16)."),
    ] = 2,
    old_scale: Annotated[
        str | None, typer.Option("-s", hidden=True)  # refused below: the scale is --scale
    ] = None,
    methods: Annotated[
        str,
        typer.Option(
            "--methods",
            "-m",
            metavar="NAMES",
            help="Comma-separated zoo names, or all: "
            + ", ".join(zoo.NAMES)
            + "; for a sound: "
            + ", ".join(zoo1d.NAMES),
        ),
    ] = "all",
    fit: Annotated[
        int,
        typer.Option(
            "--fit",
            max=api.MAX_FIT,
            metavar="STEPS",
            help="Training steps for learned methods (0: untrained).",
        ),
    ] = 200,
    channels: Annotated[
        int,
        typer.Option(
            "--channels",
            max=api.MAX_WIDTH,
            metavar="W",
            help="Width W of the learned methods' network.",
        ),
    ] = 16,
    device: Annotated[Device, typer.Option("--device", help="Where torch runs.")] = Device.auto,
    threads: Annotated[
        int | None,
        typer.Option(
            "--threads",
            metavar="N",
            help="CPU threads for torch (default: half the CPUs, 1 to 4); another count "
            "changes the last digits of the results.",
        ),
    ] = None,
    sort: Annotated[
        SortKey,
        typer.Option(
            "--sort",
            metavar="KEY",
            help="Table order, best first, by one of: " + ", ".join(SortKey) + " (images; "
            "a sound's table is by SNR).",
        ),
    ] = SortKey.psnr,
    seed: Annotated[int, seed_option("Seed of weights and crops (0 or more).")] = 0,
    out: Annotated[Path, out_option("Folder for the PNG figures.")] = OUT_DEFAULT,
    no_png: NoPngFlag = False,
    json_out: JsonFlag = False,
    max_memory: MaxMemoryOpt = None,
) -> None:
    del max_memory  # applied by upscope.commands._shell.guarded
    if old_scale is not None:  # -s was compare's scale; --s is the stride in size and overlap
        raise UpscopeError(
            f"-s is not an option of compare: the scale is --scale {old_scale} "
            "(--s is the stride, in size and overlap)"
        )
    from upscope import api, present
    from upscope.render.console import print_json
    from upscope.render.progress import progress

    with progress(enabled=not json_out) as report:
        result = api.compare(
            "astronaut" if image is None else image,
            scale, methods, fit, channels, str(device), threads, seed,
            sort=str(sort), out=None if no_png else out, progress=report,
        )  # fmt: skip
        if report is not None:  # the bars end on the table's seconds, not their own clocks
            report.finish({r.method: r.seconds for r in result.results})
    if json_out:
        print_json(result.to_dict())
    else:
        present.show(result)
