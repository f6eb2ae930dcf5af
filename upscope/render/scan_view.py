"""Presentation of ``upscope scan``: the JSON document, the rich table and the PNGs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from rich import box
from rich.markup import escape
from rich.table import Table

from upscope import present
from upscope.files import prepare_out_dir
from upscope.render.console import out_console, print_json
from upscope.render.plots import save_figure
from upscope.scanning.fix import HELPERS
from upscope.scanning.judge import Finding, ScanResult
from upscope.scanning.records import Dims, dims_text
from upscope.scanning.report import document, summary_line

__all__ = [
    "document",
    "draw",
    "print_json",
    "renderable",
    "save_pngs",
    "show",
    "summary_line",
    "wants_png",
]

_VERDICT_STYLE = {"even": "green", "checkerboard": "bold red", "holes": "bold magenta"}
_STATUS_STYLE = {"artifact": "bold red", "risk": "yellow", "ok": "green"}
_NAME_WIDTH = 24  # a longer module path is broken after a dot


# ---------------------------------------------------------------- table


def _params(finding: Finding) -> str:
    op, prm = finding.op, finding.op.params

    def short(values: tuple[Any, ...]) -> str:
        return str(values[0]) if len(set(values)) == 1 else "x".join(map(str, values))

    if op.kind == "convT":
        parts = [f"k={short(prm['kernel'])}", f"s={short(prm['stride'])}"]
        ends = prm.get("padding_end")
        if ends is not None:  # ONNX pads, start/end per axis
            pads = tuple(f"{b}/{e}" for b, e in zip(prm["padding"], ends, strict=True))
            parts.append(f"p={short(pads)}")
        for key, label, default in (
            *((("padding", "p", 0),) if ends is None else ()),
            ("output_padding", "op", 0),
            ("dilation", "d", 1),
        ):
            if any(v != default for v in prm[key]):
                parts.append(f"{label}={short(prm[key])}")
        if prm["groups"] != 1:
            parts.append(f"g={prm['groups']}")
        return " ".join(parts)
    if op.kind == "interpolate":
        if prm["scale_factor"] is not None:
            scale = "x" + short(tuple(f"{v:g}" for v in prm["scale_factor"]))
        elif prm["size"] is not None:
            scale = "size=" + short(prm["size"])
        else:
            scale = "x?"
        return f"{scale} {prm['mode']}"
    mode = prm.get("mode")
    return f"r={prm['upscale_factor']}" + (f" {mode}" if mode else "")


def _dims(shape: Dims) -> str:
    return dims_text(shape[1:])


def _cut(segment: str, width: int) -> list[str]:
    return [segment] if len(segment) <= width else re.split(r"(?<=_)", segment)


def _name_pieces(name: str, width: int) -> list[tuple[str, str]]:
    """(separator, piece) to lay out: the words of ``name`` (a parenthesised remark is one
    word), a word longer than ``width`` cut after its dots, slashes and colons, and a segment
    of it still longer than ``width`` after its underscores."""
    pieces: list[tuple[str, str]] = []
    for word in re.findall(r"\([^)]*\)|[^\s(]+", name):
        parts = [word]
        if len(word) > width:  # after dots, slashes, colons; a segment still too long at "_"
            parts = [p for seg in re.split(r"(?<=[./:])", word) for p in _cut(seg, width)]
        pieces += [(" " if i == 0 else "", part) for i, part in enumerate(parts) if part]
    return pieces


def _wrap_name(name: str, width: int = _NAME_WIDTH) -> str:
    """Break a long name between its words, or after a dot (slash, colon) of a word longer
    than ``width``: inside a path segment only when the segment alone is longer than ``width``
    (then after an underscore).

    >>> print(_wrap_name("decoder.blocks.3.upsample.conv", 16))
    decoder.blocks.
    3.upsample.conv
    >>> print(_wrap_name("main.1 (BatchNorm fused in)", 16))
    main.1
    (BatchNorm fused in)
    """
    lines, line = [], ""
    for sep, piece in _name_pieces(name, width):
        if line and len(line) + len(sep) + len(piece) > width:
            lines.append(line)
            line = piece
        else:
            line += (sep if line else "") + piece
    lines.append(line)
    return "\n".join(lines)


def _name_width(names: list[str]) -> int:
    """The op column's least width: its longest unbreakable piece, so rich never folds one."""
    return max((len(p) for n in names for _, p in _name_pieces(n, _NAME_WIDTH)), default=2)


def _geometry_cell(finding: Finding) -> str:
    style = _VERDICT_STYLE.get(finding.verdict, "")
    text = f"[{style}]{finding.verdict}[/]"
    if finding.verdict == "checkerboard" and finding.interior_ratio is not None:
        text += f"\nx{finding.interior_ratio:g}"
    return text


def _weights_cell(finding: Finding, threshold: float) -> str:
    mean, top = finding.imbalance_mean, finding.imbalance_worst
    if mean is None or top is None:
        return "[dim]-[/dim]"
    style = "bold red" if mean > threshold else "green"
    return f"[{style}]{mean:.2f}[/]\nworst {top:.2f}"


def _response_cell(finding: Finding, threshold: float) -> str:
    lines = []
    for name, value in finding.response.items():
        if value is None:
            shown = "-"
        else:
            style = "bold red" if value > threshold else "green"
            shown = f"[{style}]{value:.2f}[/]"
        lines.append(shown if name == "constant" else f"{name} {shown}")
    return "\n".join(lines) or "[dim]-[/dim]"


def _status_cell(finding: Finding) -> str:
    return f"[{_STATUS_STYLE[finding.status]}]{finding.status}[/]"


def wants_png(finding: Finding) -> bool:
    """A PNG is drawn for every flagged op that has polyphase sums to show."""
    return finding.flagged and finding.phase_sums is not None


def _table(result: ScanResult) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("#", justify="right")
    names = [finding.op.name for finding in result.findings]
    table.add_column("op", overflow="fold", min_width=_name_width(names))
    table.add_column("geometry", no_wrap=True)
    table.add_column("weights", no_wrap=True)
    table.add_column("response", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for n, finding in enumerate(result.findings, start=1):
        op = finding.op
        table.add_row(
            str(n),
            f"{escape(_wrap_name(op.name))}\n[dim]{op.type} {_params(finding)}[/dim]\n"
            f"{_dims(op.input_shape)} -> {_dims(op.output_shape)}",
            _geometry_cell(finding),
            _weights_cell(finding, result.threshold),
            _response_cell(finding, result.response_threshold),
            _status_cell(finding),
        )
    return table


def _fix_status(fix: Any) -> str:
    if not fix.verified:
        return f"[yellow]not verified[/]: {escape(fix.reason or '')}"
    shapes = "[green]same shapes[/]" if fix.same_shapes else "[bold red]shapes change[/]"
    response = "-" if fix.response is None else f"{fix.response:.2f}"
    return (
        f"verified: {shapes}, overlap {fix.overlap}, response {response}, "
        f"params {fix.params_delta:+,}"
    )


def _fixes(result: ScanResult) -> list[Any]:
    """Each flagged op's fixes, ranked, then the helper functions they call (once)."""
    from rich.padding import Padding
    from rich.text import Text

    parts: list[Any] = []
    helpers: list[str] = []
    for n, finding in enumerate(result.findings, start=1):
        if not finding.fixes:
            continue
        parts.append(f"[bold]#{n} {escape(finding.op.name)}[/bold] ({finding.status}): fixes")
        for rank, fix in enumerate(finding.fixes, start=1):
            parts.append(f"  {rank}. {escape(fix.title)}")
            parts.append(Padding(_fix_status(fix), (0, 0, 0, 5)))
            parts.append(Padding(Text(fix.statements), (0, 0, 0, 5)))
            helpers += [name for name in fix.helpers if name not in helpers]
    if helpers:
        names = ", ".join(helpers)
        parts.append(f"[dim]helper functions the fixes call ({names}):[/dim]")
        for name in helpers:
            parts.append(Padding(Text(HELPERS[name].rstrip()), (0, 0, 0, 2)))
    return parts


def renderable(result: ScanResult) -> Any:
    """Everything the CLI prints for a person: header, table, notes, legend, fixes, summary."""
    from rich.console import Group

    shapes = ", ".join(dims_text(s) for s in result.input_shapes)
    onnx = result.model_format == "onnx"
    origin = ""
    if result.shapes_from_model:
        origin = " (from the graph)" if onnx else " (the model's example_input_array)"
    parts: list[Any] = [f"[bold]{escape(result.model)}[/bold]: input {escape(shapes)}{origin}"]
    if onnx and result.findings:
        parts.append(
            "[dim]An ONNX graph is read, not run: no response is measured and no fix is "
            "verified.[/dim]"
        )
    if not result.findings:
        parts.append(
            "The graph has no upsampling node (ConvTranspose, Resize/Upsample enlarging, "
            "DepthToSpace)."
            if onnx
            else "No upsampling op was called in the forward pass."
        )
        parts.append(summary_line(result))
        return Group(*parts)
    parts.append(_table(result))
    notes: dict[str, list[str]] = {}
    for finding in result.findings:
        notes.setdefault(finding.note, []).append(finding.op.name)
    for note, names in notes.items():
        parts.append(f"[dim]{escape(', '.join(names))}: {escape(note)}[/dim]")
    parts.append(
        "[dim]geometry: the verdict of `upscope overlap` for the layer alone; checkerboard xR: "
        "R is the interior max/min of its overlap counts. weights: (max - min) / mean |sum| of "
        "the polyphase sub-kernel sums of each output channel (pixel shuffle: weight sum + bias "
        "of the conv channels feeding it), mean and worst over channels. response: the phase-"
        "energy score of the op's output for its input reduced to per-channel constants, in the "
        f"forward pass on a constant input (noise: on seeded noise). status: artifact = weights "
        f"mean > {result.threshold:g} or response > {result.response_threshold:g}; risk = "
        "geometry uneven or holes, but balanced now; ok.[/dim]"
    )
    parts += _fixes(result)
    parts.append(f"[bold]{escape(summary_line(result))}[/bold]")
    parts += [f"wrote {path}" for path in result.pngs]
    return Group(*parts)


def show(result: ScanResult) -> None:
    """Print :func:`renderable` on stdout."""
    out_console().print(renderable(result))


# ---------------------------------------------------------------- PNGs


def _safe(name: str) -> str:
    """A layer name in a file name: lowercase, runs of other characters one hyphen
    (``decoder.Up_1`` -> ``decoder.up-1``), as every upscope PNG is named."""
    return re.sub(r"[^a-z0-9.]+", "-", name.lower()).strip("-.") or "op"


def draw(finding: Finding, threshold: float) -> Any:
    """The figure of one flagged op (:func:`upscope.render.scan_figure.draw`)."""
    from upscope.render.scan_figure import draw as draw_figure

    return draw_figure(finding, threshold, f"{finding.op.type} {_params(finding)}")


def save_pngs(result: ScanResult, out: Path) -> list[Path]:
    """One PNG per flagged op with polyphase sums; returns the paths written."""
    prepare_out_dir(out)
    paths = []
    for n, finding in enumerate(result.findings, start=1):
        if not wants_png(finding):
            continue
        fig = draw(finding, result.threshold)
        path = out / f"scan-{n:02d}-{_safe(finding.op.name)}.png"
        paths.append(save_figure(fig, path))
    return paths


# ---------------------------------------------------------------- the registry (upscope.present)


@present.document.register(ScanResult)
def _document(result: ScanResult) -> dict[str, Any]:
    doc = document(result)
    if result.audio is not None:  # scan --rate: the Hz keys (upscope.audio_documents)
        from upscope.audio_documents import scan_tones

        scan_tones(doc, result.audio)
    return doc


@present.view.register(ScanResult)
def _view(result: ScanResult) -> Any:
    if result.audio is None:
        return renderable(result)
    from rich.console import Group

    from upscope.render.audio_view import scan_tones_table  # scan --rate: the Hz table

    return Group(renderable(result), scan_tones_table(result.audio))


@present.figures.register(ScanResult)
def _figures(result: ScanResult, out: Path) -> list[Path]:
    result.pngs = save_pngs(result, out)
    if result.audio is not None:  # scan --rate: the output spectrum with the tones marked
        from upscope.render.audio_view import save_scan_tones

        result.pngs.append(save_scan_tones(result.audio, out))
    return result.pngs
