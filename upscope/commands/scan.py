"""``upscope scan MODEL``: find and judge every upsampling operation in a user's own model."""

from __future__ import annotations

import sys
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
from upscope.scanning.args import GRID_THRESHOLD

SHORT = (
    "Find and judge every upsampling op in your own PyTorch model or ONNX file, 1D (audio: "
    "tones in Hz with --rate) too. "
    "Example: upscope scan upscope.samples.models:DCGANGenerator"
)
HELP = (
    "Find every upsampling op in your model (ConvTranspose, Upsample, PixelShuffle, and "
    "F.interpolate / F.conv_transpose2d / F.pixel_shuffle calls), in call order, and say which "
    "can make a checkerboard: geometry (overlap verdict), weights (polyphase imbalance of the "
    "actual kernels), response (measured in the forward pass), a status (artifact, risk, ok) "
    "and, for every flagged op, ranked fixes as Python code, verified on a copy of the model. "
    "MODEL's Python file is executed, as with any import. A MODEL ending in .onnx is an ONNX "
    "graph (any framework's export), read without torch: its ConvTranspose, Resize/Upsample "
    "and DepthToSpace nodes, judged the same way (needs pip install 'upscope\\[onnx]')."
)
EPILOG = examples_epilog(
    "upscope scan upscope.samples.models:DCGANGenerator --no-png",
    "upscope scan upscope.samples.models:UNet --json --no-png",
    "upscope scan upscope.samples.models:ResizeConvDecoder --no-png --fail-on risk",
    "upscope scan upscope.samples.models:HiFiGANGenerator --rate 22050 --no-png",
)


def register(app: typer.Typer) -> None:
    from upscope.commands._shell import guarded

    app.command("scan", help=HELP, short_help=SHORT, epilog=EPILOG, cls=UpscopeCommand)(
        guarded(scan)
    )


def scan(
    model: Annotated[
        str,
        typer.Argument(
            help="path/to/file.py:Name or package.module:Name; Name is an nn.Module subclass, "
            "an nn.Module instance, or a factory taking no arguments. Or path/to/model.onnx.",
            metavar="MODEL",
            show_default=False,
        ),
    ],
    input_shape: Annotated[
        list[str] | None,
        typer.Option(
            "--input-shape",
            metavar="SHAPE",
            help="Shape of the dummy input, e.g. 1x100x1x1; repeat for a model with several "
            "inputs. Required unless the model sets example_input_array. For an ONNX file: "
            "fixes the symbolic dimensions of its inputs, in order (optional).",
        ),
    ] = None,
    weights: Annotated[
        Path | None,
        typer.Option(
            "--weights",
            metavar="FILE",
            help="A state dict saved with torch.save (loaded with weights_only=True).",
        ),
    ] = None,
    inputs: Annotated[
        str,
        typer.Option(
            "--inputs",
            metavar="NAMES",
            help="Model inputs the response is measured on: constant (always), noise (seeded "
            "standard normal too), comma-separated.",
        ),
    ] = "constant",
    fail_on: Annotated[
        str | None,
        typer.Option(
            "--fail-on",
            metavar="STATUS",
            help="Exit with code 3 when an op's status is STATUS or worse: artifact, or risk "
            "(artifact counts for risk too). For CI.",
        ),
    ] = None,
    threshold: Annotated[
        float,
        typer.Option(
            "--threshold",
            metavar="GREY",
            help="An op whose share of the output grid (RMS, 8-bit grey levels of --range) is "
            "above this is an artifact.",
        ),
    ] = GRID_THRESHOLD,
    value_range: Annotated[
        str | None,
        typer.Option(
            "--range",
            metavar="LO,HI",
            help="The output's values LO..HI, for grey levels: 255 grey levels span LO..HI. "
            "Default: the first of 0,1 / -1,1 / 0,255 that holds every output value seen, "
            "else their min..max.",
        ),
    ] = None,
    fix_code: Annotated[
        bool,
        typer.Option(
            "--fix-code",
            help="Print only the code of the top fix of each flagged op, as one Python file "
            "for `model` your model object (redirect it into a file); no table.",
        ),
    ] = False,
    rate: Annotated[
        int | None,
        typer.Option(
            "--rate",
            metavar="HZ",
            help="Sample rate of the model's output in Hz (a 1D model, e.g. a vocoder): each 1D "
            "op also gets its tones in Hz and their measured level (docs/audio.md).",
            show_default=False,
        ),
    ] = None,
    json_out: JsonFlag = False,
    out: Annotated[Path, out_option("Folder for the PNGs of flagged ops.")] = OUT_DEFAULT,
    no_png: NoPngFlag = False,
    seed: Annotated[
        int, seed_option("Seed (0 or more) of torch before the model is built, and of the input.")
    ] = 0,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            metavar="SECONDS",
            help="Stop a forward pass of the model that takes longer than SECONDS (one error "
            "line, exit 2). Default: no limit.",
        ),
    ] = None,
    max_memory: MaxMemoryOpt = None,
) -> None:
    del max_memory  # applied by upscope.commands._shell.guarded
    from upscope.errors import UpscopeError
    from upscope.files import check_regular_file, protect_inputs
    from upscope.scanning.args import (
        check_fail_on,
        check_input_memory,
        check_inputs,
        check_threshold,
        is_onnx_file,
        parse_input_shape,
        parse_range,
        split_model_spec,
    )
    from upscope.scanning.static_input import refuse_without_shape

    if fix_code and json_out:
        raise UpscopeError("--fix-code and --json print different things: choose one")
    shapes = [parse_input_shape(text) for text in input_shape or []]
    check_threshold(threshold, "--threshold")
    chosen_range = parse_range(value_range)
    if rate is not None:
        from upscope.audio_config import check_rate

        check_rate(rate)
    if fail_on is not None:
        check_fail_on(fail_on, "--fail-on")
    kinds = check_inputs([name.strip() for name in inputs.split(",") if name.strip()], "--inputs: ")
    if is_onnx_file(model):  # read without torch, and without a forward pass to budget
        from upscope.scanning.onnx_graph import resolve

        protect_inputs(MODEL=resolve(model))
    else:
        # a mistyped MODEL or --input-shape is answered before torch loads
        where, _, is_file = split_model_spec(model)
        if not shapes:  # refused here, before the imports below, when the file tells
            refuse_without_shape(model)
        check_input_memory(shapes)
        if weights is not None:
            from upscope.scanning.checkpoint import check_checkpoint_memory

            check_regular_file(weights, "--weights file")
            check_checkpoint_memory(weights)  # what its records declare, before torch reads them
        protect_inputs(MODEL=where if is_file else None, **{"--weights file": weights})

    from upscope import present
    from upscope.render import scan_view
    from upscope.scanning import contain
    from upscope.scanning import run as core

    with contain.timeout(timeout, hard=True):  # the watchdog too: a process, not a notebook
        result = core.scan(
            model,
            shapes or None,
            weights=weights,
            inputs=kinds,
            seed=seed,
            timeout=timeout,
            rate=rate,
            threshold=threshold,
            value_range=chosen_range,
        )
    stray = contain.stray_threads()
    if stray:  # the command line does not wait for them (upscope.cli)
        from upscope.text import printable

        names = ", ".join(printable(name, 60) for name in stray[:3])
        more = f" and {len(stray) - 3} more" if len(stray) > 3 else ""
        sys.stderr.write(
            f"upscope: note: the model left {len(stray)} thread(s) running ({names}{more}); "
            "upscope does not wait for them\n"
        )
    if not no_png and (
        any(scan_view.wants_png(f) for f in result.findings) or result.audio is not None
    ):
        result.save_png(out)
    if fix_code:
        typer.echo(scan_view.fix_script(result), nl=False)
    elif json_out:
        scan_view.print_json(result.to_dict())
    else:
        present.show(result)
    if fail_on is not None and (result.failing(fail_on) or result.output_non_finite):
        raise typer.Exit(3)
