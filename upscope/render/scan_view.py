"""Presentation of ``upscope scan``: the JSON document, the rich table and the PNGs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from rich import box
from rich.markup import escape
from rich.table import Table

from upscope.files import prepare_out_dir
from upscope.render.console import out_console, print_json
from upscope.render.plots import save_figure
from upscope.scanning.judge import Finding, ScanResult, worst
from upscope.scanning.records import Dims, dims_text

__all__ = ["document", "draw", "print_json", "save_pngs", "show", "summary_line", "wants_png"]

_VERDICT_STYLE = {"even": "green", "checkerboard": "bold red", "holes": "bold magenta"}


def _shape(shape: Dims) -> list[int | None]:
    """A shape as JSON: null for a dimension the front end could not determine (ONNX)."""
    return [None if v is None else int(v) for v in shape]


def _weights_doc(finding: Finding) -> dict[str, Any] | None:
    if finding.imbalance is None:
        return None
    op = finding.op
    source = op.name if op.kind == "convT" else (op.feeding_conv or ("", None))[0]
    return {
        "mean": finding.imbalance_mean,
        "worst": finding.imbalance_worst,
        "channels": int(finding.imbalance.shape[0]),
        "source": source,
        "bias": finding.with_bias,
    }


def layer_document(finding: Finding) -> dict[str, Any]:
    """One op as JSON; keys that do not apply to its type are null."""
    op = finding.op
    prm = op.params

    def axes(key: str) -> list[Any] | None:
        value = prm.get(key)
        return None if value is None else list(value)

    return {
        "name": op.name,
        "type": op.type,
        "input_shape": _shape(op.input_shape),
        "output_shape": _shape(op.output_shape),
        "kernel": axes("kernel"),
        "stride": axes("stride"),
        "padding": axes("padding"),
        "padding_end": axes("padding_end"),
        "output_padding": axes("output_padding"),
        "dilation": axes("dilation"),
        "groups": prm.get("groups"),
        "scale_factor": axes("scale_factor"),
        "size": axes("size"),
        "mode": prm.get("mode"),
        "upscale_factor": prm.get("upscale_factor"),
        "verdict": finding.verdict,
        "even_overlap": finding.verdict == "even",
        "interior_ratio": finding.interior_ratio,
        "weight_checkerboard": _weights_doc(finding),
        "flagged": finding.flagged,
        "reasons": list(finding.reasons),
        "compound": list(finding.chain) if op.kind == "convT" else None,
        "note": finding.note,
    }


def summary_line(result: ScanResult) -> str:
    """``"2 of 5 upsampling ops can make a checkerboard; worst: decoder.up2, imbalance 0.41"``."""
    total = len(result.findings)
    flagged = sum(f.flagged for f in result.findings)
    noun = "op" if total == 1 else "ops"
    text = f"{flagged} of {total} upsampling {noun} can make a checkerboard"
    bad = worst(result.findings)
    if bad is None:
        return text
    mean = bad.imbalance_mean
    if mean is not None and mean > result.threshold:
        return f"{text}; worst: {bad.op.name}, imbalance {mean:.2f}"
    return f"{text}; worst: {bad.op.name}, {bad.reasons[0]}"


def document(result: ScanResult, pngs: list[Path]) -> dict[str, Any]:
    """``{"model", "input_shapes", "layers", "summary", "png"}``."""
    bad = worst(result.findings)
    return {
        "model": result.model,
        "format": result.model_format,
        "input_shapes": [_shape(s) for s in result.input_shapes],
        "layers": [layer_document(f) for f in result.findings],
        "summary": {
            "ops": len(result.findings),
            "flagged": sum(f.flagged for f in result.findings),
            "worst": None
            if bad is None
            else {"name": bad.op.name, "imbalance": bad.imbalance_mean, "reasons": bad.reasons},
            "threshold": result.threshold,
            "line": summary_line(result),
        },
        "png": [str(p) for p in pngs],
    }


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


def _overlap_cell(finding: Finding) -> str:
    style = _VERDICT_STYLE.get(finding.verdict, "")
    text = f"[{style}]{finding.verdict}[/]"
    if finding.verdict == "checkerboard" and finding.interior_ratio is not None:
        text += f" x{finding.interior_ratio:g}"
    return text


def _weights_cell(finding: Finding, threshold: float) -> str:
    mean, top = finding.imbalance_mean, finding.imbalance_worst
    if mean is None or top is None:
        return "[dim]-[/dim]"
    style = "bold red" if mean > threshold else "green"
    return f"[{style}]{mean:.2f}[/] / {top:.2f}"


def _flag_cell(finding: Finding) -> str:
    if not finding.flagged:
        return "[green]no[/]"
    causes = [reason.split(" (")[0].split(":")[0] for reason in finding.reasons]
    causes = ["weights" if cause.startswith("weight") else cause for cause in causes]
    return "[bold red]YES[/]: " + ", ".join(causes)


def wants_png(finding: Finding) -> bool:
    """A PNG is drawn for every flagged op that has polyphase sums to show."""
    return finding.flagged and finding.phase_sums is not None


def show(result: ScanResult, pngs: list[Path]) -> None:
    """The table in call order, the notes, the summary line and the PNG paths."""
    console = out_console()
    shapes = ", ".join(
        "x".join("?" if v is None else str(v) for v in s) for s in result.input_shapes
    )
    onnx = result.model_format == "onnx"
    origin = ""
    if result.shapes_from_model:
        origin = " (from the graph)" if onnx else " (the model's example_input_array)"
    console.print(f"[bold]{escape(result.model)}[/bold]: input {escape(shapes)}{origin}")
    if not result.findings:
        console.print(
            "The graph has no upsampling node (ConvTranspose, Resize/Upsample enlarging, "
            "DepthToSpace)."
            if onnx
            else "No upsampling op was called in the forward pass."
        )
        console.print(summary_line(result))
        return
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("#", justify="right")
    table.add_column("name", overflow="fold")
    table.add_column("op")
    table.add_column("in -> out")
    table.add_column("overlap")
    table.add_column("weights\nmean/worst")
    table.add_column("checkerboard?")
    for n, finding in enumerate(result.findings, start=1):
        op = finding.op
        table.add_row(
            str(n),
            escape(op.name),
            f"{op.type}\n[dim]{_params(finding)}[/dim]",
            f"{_dims(op.input_shape)}\n-> {_dims(op.output_shape)}",
            _overlap_cell(finding),
            _weights_cell(finding, result.threshold),
            _flag_cell(finding),
        )
    console.print(table)
    notes: dict[str, list[str]] = {}
    for finding in result.findings:
        notes.setdefault(finding.note, []).append(finding.op.name)
    for note, names in notes.items():
        console.print(f"[dim]{escape(', '.join(names))}: {escape(note)}[/dim]")
    console.print(
        "[dim]overlap: the verdict of `upscope overlap` for the layer alone; checkerboard xR: R is "
        "the interior max/min of its overlap counts (taps landing on each output pixel). "
        "weights: (max - min) / mean |sum| of the polyphase sub-kernel sums of each output "
        "channel (pixel shuffle: weight sum + bias of the conv channels feeding it), mean and "
        "worst over channels. checkerboard? YES: uneven overlap, holes, or "
        f"weights mean > {result.threshold:g}[/dim]"
    )
    console.print(f"[bold]{summary_line(result)}[/bold]")
    for path in pngs:
        console.print(f"wrote {path}")


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
