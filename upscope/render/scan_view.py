"""Presentation of ``upscope scan``: the JSON document, the rich table and the PNGs."""

from __future__ import annotations

import re
from functools import partial
from pathlib import Path
from typing import Any

from rich import box
from rich.table import Table

from upscope import present
from upscope.files import prepare_out_dir
from upscope.render.console import out_console, print_json
from upscope.render.plots import save_all
from upscope.scanning.judge import Finding, ScanResult
from upscope.scanning.records import Dims, dims_text
from upscope.scanning.report import document, summary_line
from upscope.text import escape_markup, printable
from upscope.text import markup as escape

#: our own sentences (notes, reasons, the summary) are shown whole; only names are capped
_PROSE = 4000

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
_FILE_NAME = 60  # characters of a layer name in a PNG's file name
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


def _name_cell(name: str) -> str:
    """A layer name for the table: shown safely (:mod:`upscope.text`), broken after dots."""
    return escape_markup(_wrap_name(printable(name)))


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
    return f"[{style}]{mean:.2f}[/]\nmax {top:.2f}"


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


def _grid_cell(finding: Finding, threshold: float) -> str:
    """The op's share of the measured output grid, in 8-bit grey levels (RMS)."""
    value = finding.output_grid
    if value is None:
        return "[dim]-[/dim]"
    style = "bold red" if value > threshold else "green"
    return f"[{style}]{value:.2f}[/]"


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
    table.add_column("resp", no_wrap=True)
    table.add_column("status\ngrid (gl)", no_wrap=True)
    for n, finding in enumerate(result.findings, start=1):
        op = finding.op
        table.add_row(
            str(n),
            f"{_name_cell(op.name)}\n[dim]{op.type} {_params(finding)}[/dim]\n"
            f"{_dims(op.input_shape)} -> {_dims(op.output_shape)}",
            _geometry_cell(finding),
            _weights_cell(finding, result.threshold),
            _response_cell(finding, result.response_threshold),
            f"{_status_cell(finding)}\n{_grid_cell(finding, result.grid_threshold)}",
        )
    return table


def _fix_status(fix: Any) -> str:
    if not fix.verified:
        return f"[yellow]not verified[/]: {escape(fix.reason or '', _PROSE)}"
    shapes = "[green]same shapes[/]" if fix.same_shapes else "[bold red]shapes change[/]"
    response = "-" if fix.response is None else f"{fix.response:.2f}"
    grid = "" if fix.output_grid is None else f", grid {fix.output_grid:.2f} grey levels"
    return (
        f"verified: {shapes}, overlap {fix.overlap}, response {response}{grid}, "
        f"params {fix.params_delta:+,}"
    )


class _Code:
    """Code printed as code: flush left, no trailing spaces, never wrapped by rich (a terminal
    may soft-wrap a long line; a selection then still copies it as one line)."""

    def __init__(self, text: str) -> None:
        self.text = text.rstrip("\n")

    def __rich_console__(self, console: Any, options: Any) -> Any:
        from rich.segment import Segment

        yield Segment.line()
        for line in self.text.splitlines():
            yield Segment(line.rstrip())
            yield Segment.line()
        yield Segment.line()


class _Indented:
    """Text wrapped to the width less ``indent``, each line indented, without the trailing
    spaces that rich's Padding adds (a selection of the fixes copies clean lines)."""

    def __init__(self, markup: str, indent: int = 5) -> None:
        self.markup, self.indent = markup, indent

    def __rich_console__(self, console: Any, options: Any) -> Any:
        from rich.segment import Segment
        from rich.text import Text

        text = Text.from_markup(self.markup)
        inner = options.update(width=max(20, options.max_width - self.indent))
        for line in console.render_lines(text, inner, pad=False):
            segments = list(line)
            while segments and not segments[-1].text.strip():
                segments.pop()
            if segments:  # a wrapped line keeps the space it broke at: drop it
                last = segments[-1]
                segments[-1] = Segment(last.text.rstrip(), last.style, last.control)
            yield Segment(" " * self.indent)
            yield from segments
            yield Segment.line()


def _fixes(result: ScanResult) -> list[Any]:
    """Each flagged op's fixes, ranked: title, verification, notes, then the code (the import
    variant) as a block with a blank line before and after, so that it pastes as it is."""
    parts: list[Any] = []
    for n, finding in enumerate(result.findings, start=1):
        if not finding.fixes:
            continue
        parts.append(f"[bold]#{n} {escape(finding.op.name)}[/bold] ({finding.status}): fixes")
        for rank, fix in enumerate(finding.fixes, start=1):
            parts.append(f"  {rank}. {escape(fix.title)}")
            parts.append(_Indented(_fix_status(fix)))
            if fix.note:
                parts.append(_Indented(f"[dim]{escape(fix.note, _PROSE)}[/dim]"))
            parts.append(_Code(fix.code))
    return parts


def _comment(text: str) -> str:
    """One comment line: control characters of a user's names are not code.

    >>> _comment("up\\nimport os")
    '# up?import os'
    """
    import textwrap

    clean = re.sub(r"[\x00-\x1f\x7f]", "?", text)
    return "\n".join(textwrap.wrap(clean, 77, initial_indent="# ", subsequent_indent="# "))


def fix_script(result: ScanResult) -> str:
    """``scan --fix-code``: the top fix of every flagged op as one Python file (imports once,
    a comment naming each op), for ``model`` your model object.

    The self-contained variant of each fix is its ``code_standalone`` in ``--json``.
    """
    tops = [(n, f, f.fixes[0]) for n, f in enumerate(result.findings, start=1) if f.fixes]
    if not tops:
        return "# upscope scan: no flagged op, nothing to fix\n"
    imports: list[str] = []
    body: list[str] = []
    for n, finding, fix in tops:
        head, _, statements = fix.code.partition("\n\n")
        imports += [line for line in head.splitlines() if line not in imports]
        body.append(_comment(f"#{n} {finding.op.name} ({finding.status}): {fix.title}"))
        if fix.note:
            body.append(_comment(fix.note))
        if not fix.verified and fix.reason:
            body.append(_comment(f"not verified: {fix.reason}"))
        body.append(statements.rstrip("\n") + "\n")
    lines = [_comment(f"upscope scan {result.model}: the top fix of each flagged op")]
    lines.append("# `model` is your model object; run this after building it")
    text = "\n".join([*lines, *imports, "", *body])
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


def _not_finite_lines(result: ScanResult) -> list[str]:
    """One line per op whose weights or output hold NaN or inf, and one for the model's output."""
    lines = [
        f"[bold red]not finite[/]: {escape(f.op.name)}: its {escape(f.non_finite, _PROSE)}"
        for f in result.findings
        if f.non_finite is not None
    ]
    if result.output_non_finite:
        held = " and ".join(result.output_non_finite)
        lines.append(f"[bold red]not finite[/]: the model's output holds {held}")
    return lines


def renderable(result: ScanResult, wrote: bool = True) -> Any:
    """Everything the CLI prints for a person: header, table, notes, legend, fixes, summary;
    then the ``wrote PATH`` lines unless ``wrote`` is False (scan --rate prints them last)."""
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
        parts += _not_finite_lines(result)
        parts.append(summary_line(result))
        return Group(*parts)
    parts.append(_table(result))
    parts += _not_finite_lines(result)
    notes: dict[str, list[str]] = {}
    for finding in result.findings:
        notes.setdefault(finding.note, []).append(finding.op.name)
    for note, names in notes.items():
        parts.append(f"[dim]{escape(', '.join(names))}: {escape(note, _PROSE)}[/dim]")
    if onnx:
        rule = f"artifact = weights mean > {result.threshold:g} (no grid is measured: nothing runs)"
    else:
        rule = f"artifact = the op's grid > {result.grid_threshold:g} grey levels"
    parts.append(
        "[dim]geometry: the verdict of `upscope overlap` for the layer alone; checkerboard xR: "
        "R is the interior max/min of its overlap counts. weights: the spread of the polyphase "
        "sub-kernel sums of each output channel per input channel, relative to the kernel's own "
        "scale (pixel shuffle: the conv channels feeding it, with their bias), mean and max over "
        "channels. resp: the response, the phase-energy score of the op's output for its input "
        "reduced to per-channel constants (noise: on seeded noise). grid: the op's share, by "
        "period, of the model's output grid on constant inputs, RMS in 8-bit grey levels (gl) "
        f"of the output's range, under the status. status: {rule}; risk = can learn a grid "
        "(strided transposed conv, pixel shuffle, uneven geometry, holes), not above it now; "
        "ok = cannot make one.[/dim]"
    )
    parts += _fixes(result)
    parts.append(f"[bold]{escape(summary_line(result), _PROSE)}[/bold]")
    parts += [f"wrote {escape(path, None)}" for path in result.pngs] if wrote else []
    return Group(*parts)


def show(result: ScanResult) -> None:
    """Print :func:`renderable` on stdout."""
    out_console().print(renderable(result))


# ---------------------------------------------------------------- PNGs


def _safe(name: str) -> str:
    """A layer name in a file name: lowercase, runs of other characters one hyphen
    (``decoder.Up_1`` -> ``decoder.up-1``), as every upscope PNG is named."""
    return re.sub(r"[^a-z0-9.]+", "-", name.lower())[:_FILE_NAME].strip("-.") or "op"


def draw(finding: Finding, threshold: float) -> Any:
    """The figure of one flagged op (:func:`upscope.render.scan_figure.draw`)."""
    from upscope.render.scan_figure import draw as draw_figure

    return draw_figure(finding, threshold, f"{finding.op.type} {_params(finding)}")


def save_pngs(result: ScanResult, out: Path) -> list[Path]:
    """One PNG per flagged op with polyphase sums; returns the paths written."""
    prepare_out_dir(out)
    jobs = [
        (
            partial(draw, finding, result.threshold),
            out / f"scan-{n:02d}-{_safe(finding.op.name)}.png",
        )
        for n, finding in enumerate(result.findings, start=1)
        if wants_png(finding)
    ]
    return save_all(jobs)


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

    wrote = [f"wrote {path}" for path in result.pngs]  # after both tables
    return Group(renderable(result, wrote=False), scan_tones_table(result.audio), *wrote)


@present.handed.register(ScanResult)
def _handed(result: ScanResult) -> ScanResult:
    """The result without the ops' weights: the figures read the polyphase sums and the
    imbalance the judge took from them. A DCGAN scan pickles to 36 kB instead of 28.6 MB."""
    import dataclasses

    findings = [dataclasses.replace(f, op=dataclasses.replace(f.op, weight=None))
                for f in result.findings]  # fmt: skip
    return dataclasses.replace(result, findings=findings)


@present.figures.register(ScanResult)
def _figures(result: ScanResult, out: Path) -> list[Path]:
    result.pngs = save_pngs(result, out)
    if result.audio is not None:  # scan --rate: the output spectrum with the tones marked
        from upscope.render.audio_view import save_scan_tones

        result.pngs.append(save_scan_tones(result.audio, out))
    return result.pngs
