"""``upscope probe``: constant, noise and gradient probes of the upsampler zoo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from upscope import api_audio, zoo, zoo1d
from upscope.audio_config import DEFAULT_RATE
from upscope.audio_config import INPUTS as AUDIO_INPUTS
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
from upscope.probe_config import INPUTS, MAX_CHANNELS, MAX_SEEDS, MAX_SIZE

SHORT = (
    "Score every upsampler for checkerboard on constant and noise inputs at init. "
    "Example: upscope probe --scale 2"
)
HELP = (
    "Feed constant and random inputs through every upsampler at initialisation and measure its "
    "checkerboard (phase energy imbalance, spectral peak), averaged over seeds; --grad does the "
    "same for the gradients of strided convs. --audio probes the 1D upsamplers on sound instead "
    "(silence + bias, DC, a sine, a sweep, white noise at --rate Hz): tones at multiples of the "
    "input rate in dB over broadband, attenuated highs, spectral images (docs/audio.md)."
)
EPILOG = examples_epilog(
    "upscope probe --no-png",
    "upscope probe --grad --methods convT-uneven --json --no-png",
    "upscope probe --audio --rate 22050 --scale 4 --out audio-out",
)


def register(app: typer.Typer) -> None:
    from upscope.commands._shell import guarded

    app.command("probe", help=HELP, short_help=SHORT, epilog=EPILOG, cls=UpscopeCommand)(
        guarded(probe)
    )


def probe(
    scale: Annotated[
        int,
        typer.Option(
            "--scale", metavar="S", help="Upsampling factor S, 2 to 4 (--audio: 2 to 16)."
        ),
    ] = 2,
    methods: Annotated[
        str,
        typer.Option(
            "--methods",
            metavar="NAMES",
            help="Comma-separated methods, or 'all': "
            + ", ".join(zoo.NAMES)
            + "; with --audio: "
            + ", ".join(zoo1d.NAMES),
        ),
    ] = "all",
    inputs: Annotated[
        str | None,
        typer.Option(
            "--inputs",
            metavar="NAMES",
            help="Comma-separated inputs: " + ", ".join(INPUTS) + " (default: all); with "
            "--audio: " + ", ".join(AUDIO_INPUTS) + " (default: all).",
            show_default=False,
        ),
    ] = None,
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
        int | None,
        typer.Option(
            "--size",
            max=MAX_SIZE,
            metavar="N",
            help="Input side N (output S*N); default 32. Not with --audio.",
            show_default=False,
        ),
    ] = None,
    channels: Annotated[
        int, typer.Option("--channels", max=MAX_CHANNELS, metavar="C", help="Channels C.")
    ] = 4,
    seed: Annotated[int, seed_option("First seed (0 or more); seeds are seed..seed+N-1.")] = 0,
    grad: Annotated[
        bool, typer.Option("--grad", help="Also probe gradients through strided convs.")
    ] = False,
    audio: Annotated[
        bool,
        typer.Option("--audio", help="Probe the 1D upsamplers on sound (tones in Hz) instead."),
    ] = False,
    rate: Annotated[
        int | None,
        typer.Option(
            "--rate",
            metavar="HZ",
            help="With --audio: the output's sample rate in Hz (the input's is HZ / S); "
            "default 16000.",
            show_default=False,
        ),
    ] = None,
    json_out: JsonFlag = False,
    out: Annotated[Path, out_option("Folder for the PNGs.")] = OUT_DEFAULT,
    no_png: NoPngFlag = False,
    max_memory: MaxMemoryOpt = None,
) -> None:
    del max_memory  # applied by upscope.commands._shell.guarded
    from upscope import api, present
    from upscope.render.console import print_json

    if audio:
        if size is not None or grad:
            raise UpscopeError("--size and --grad do not apply to --audio")
        from upscope.render.progress import progress

        with progress(enabled=not json_out, verb="probing") as report_progress:
            sound = api_audio.probe_audio(
                DEFAULT_RATE if rate is None else rate, scale, methods, inputs, seeds,
                channels, seed, out=None if no_png else out, progress=report_progress,
            )  # fmt: skip
        if json_out:
            print_json(sound.to_dict())
        else:
            present.show(sound)
        return
    if rate is not None:
        raise UpscopeError("--rate applies to --audio only")
    report = api.probe(
        scale, methods, inputs, seeds, 32 if size is None else size, channels, seed, grad,
        out=None if no_png else out,
    )  # fmt: skip
    if json_out:
        print_json(report.to_dict())
    else:
        present.show(report)
