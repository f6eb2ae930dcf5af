"""``upscope compare``: every upsampler on a real image, side by side, with metrics and spectra."""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from upscope import limits, zoo
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
    "Run every upsampler on a real image: PSNR, SSIM, artifact metrics, spectra. "
    "Example: upscope compare photo.png"
)
HELP = (
    "Upsample the box-downsampled version of an image with every upsampler (learned ones fitted "
    "to the image for --fit steps) and compare PSNR, SSIM, checkerboard metrics, spectra and "
    "zoomed crops. IMAGE is a file, or a bundled sample: astronaut (the default) or zoneplate."
)
EPILOG = examples_epilog(
    "upscope compare --methods bicubic,convT-uneven --fit 20 --no-png",
    "upscope compare zoneplate -m bilinear,convT-uneven --fit 0 --out zoneplate-out",
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
    from upscope.cli import guarded

    app.command("compare", help=HELP, short_help=SHORT, epilog=EPILOG, cls=UpscopeCommand)(
        guarded(compare)
    )


def default_threads() -> int:
    """Half the CPUs this process may use, 1 to 4: leaves room on a shared 2-core machine."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    return max(1, min(4, cpus // 2))


def compare(
    image: Annotated[
        str | None,
        typer.Argument(
            help="Image file (any format Pillow reads), or a bundled sample: astronaut "
            "(default), zoneplate.",
            metavar="IMAGE",
            show_default=False,
        ),
    ] = None,
    scale: Annotated[
        int, typer.Option("--scale", "-s", metavar="S", help="Upsampling factor S, 2 to 4.")
    ] = 2,
    methods: Annotated[
        str,
        typer.Option(
            "--methods",
            "-m",
            metavar="NAMES",
            help="Comma-separated zoo names, or all: " + ", ".join(zoo.NAMES),
        ),
    ] = "all",
    fit: Annotated[
        int,
        typer.Option(
            "--fit",
            max=100_000,
            metavar="STEPS",
            help="Training steps for learned methods (0: untrained).",
        ),
    ] = 200,
    channels: Annotated[
        int,
        typer.Option(
            "--channels", max=512, metavar="W", help="Width W of the learned methods' network."
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
            help="Table order, best first, by one of: " + ", ".join(SortKey) + ".",
        ),
    ] = SortKey.psnr,
    seed: Annotated[int, seed_option("Seed of weights and crops (0 or more).")] = 0,
    out: Annotated[Path, out_option("Folder for the PNG figures.")] = OUT_DEFAULT,
    no_png: NoPngFlag = False,
    json_out: JsonFlag = False,
    max_memory: MaxMemoryOpt = None,
) -> None:
    del max_memory  # applied by upscope.cli.guarded
    # Everything a user can get wrong is checked before torch is imported, so bad input is
    # answered at once; the options first (standard library only), then the image (Pillow).
    zoo.check_scale(scale)
    if fit < 0:
        raise UpscopeError(f"--fit must be 0 or more, got {fit}")
    if channels < 1:
        raise UpscopeError(f"--channels must be at least 1, got {channels}")
    if threads is not None:
        limits.check_int("--threads", threads, 1, limits.MAX_THREADS)
    names = zoo.parse_names(methods, "--methods")

    from upscope import images

    path = images.resolve_image(image)

    def fits(width: int, height: int, bands: int) -> None:  # from the header, before decoding
        width_net = channels if any(zoo.is_learned(name) for name in names) else 0
        need = limits.compare_bytes(min(bands, 3), height, width, len(names), width_net)
        limits.check_memory(need, f"compare on a {width}x{height} image")

    loaded = images.load_image(path, before_decode=fits)
    original = images.crop_to_multiple(loaded.pixels, scale, source=f"image {str(path)!r}")
    images.check_size(original, scale, f"image {str(path)!r}")
    if not no_png:
        from upscope.files import prepare_out_dir, protect_inputs, refuse_inputs
        from upscope.render.compare_view import FIGURES

        prepare_out_dir(out)
        protect_inputs(IMAGE=path)
        refuse_inputs(out / name for name in FIGURES)  # before the work, not after it

    import torch

    from upscope import comparison as core
    from upscope.render import compare_view

    settings = core.Settings(
        scale=scale,
        methods=names,
        fit=fit,
        seed=seed,
        device=core.resolve_device(str(device)),
        width=channels,
    )
    label = images.describe_source(image, path)
    before = torch.get_num_threads()
    used_threads = threads or default_threads()
    torch.set_num_threads(used_threads)
    try:
        with compare_view.progress(settings, enabled=not json_out) as report:
            result = core.compare(original, settings, report)
    finally:
        torch.set_num_threads(before)
    pngs = [] if no_png else compare_view.save_figures(result, out)
    doc = compare_view.document(result, label, loaded, pngs, used_threads)
    if json_out:
        compare_view.print_json(doc)
    else:
        compare_view.show(result, doc, str(sort))
