"""The ``--json`` documents of every command, in one place (standard library only).

Each function takes a result of the public API (:mod:`upscope.api`) and returns the document
the CLI prints with ``--json`` for the same call; the results' ``to_dict()`` call them and the
CLI prints ``to_dict()``, so the two cannot drift apart. The keys are documented in ``docs/``.
Values are plain JSON types (:func:`plain`): tuples become lists, NaN and infinities null.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from upscope.arith import Axes, LayerResult, LayerSpec, Solution, is_square, share

if TYPE_CHECKING:
    from upscope.compare_result import Comparison, MethodResult
    from upscope.overlap_map import OverlapResult
    from upscope.probe_result import Measurement, ProbeReport
    from upscope.sizes import FrameworkSize, LayerStack, Solutions

__all__ = [
    "compare",
    "framework_size",
    "layer_text",
    "overlap",
    "plain",
    "probe",
    "size_stack",
    "solve",
]


def plain(value: Any) -> Any:
    """``value`` with JSON types only: NaN and infinities become None, tuples lists.

    >>> plain({"a": (1, float("nan")), 2: [float("inf"), 0.5]})
    {'a': [1, None], '2': [None, 0.5]}
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


# ---------------------------------------------------------------- size

_LONG = {
    "k": "kernel",
    "s": "stride",
    "p": "padding",
    "op": "output_padding",
    "d": "dilation",
    "r": "r",
    "size": "size",
}


def _axes_value(values: Axes, per_axis: bool) -> int | list[int]:
    return list(values) if per_axis or len(set(values)) > 1 else values[0]


def layer(result: LayerResult) -> dict[str, Any]:
    """One layer as JSON: kind, input, output, its parameters, the overlap verdict."""
    spec = result.spec
    doc: dict[str, Any] = {"kind": spec.kind, "input": list(result.input)}
    doc["output"] = list(result.output)
    ndim = len(result.input)
    defaults = {"s": 1, "p": 0, "op": 0, "d": 1}
    if spec.kind == "pool":
        defaults["s"] = spec.get("k", 0, 1)
    keys = list(spec.params)
    if spec.kind == "convT":
        keys = ["k", "s", "p", "op", "d"]
    elif spec.kind == "conv":
        keys = ["k", "s", "p", "d"]
    for key in keys:
        values = tuple(spec.get(key, a, defaults.get(key, 0)) for a in range(ndim))
        doc[_LONG[key]] = _axes_value(values, key in spec.per_axis)
    for key, value in spec.options.items():
        if key == "scale":
            doc[key] = float(value)
        elif key == "ceil":
            doc["ceil_mode"] = value == "1"
        else:
            doc[key] = value
    if spec.kind in ("convT", "conv"):
        doc["even_overlap"] = None if result.verdict is None else result.verdict == "even"
    doc["verdict"] = result.verdict
    doc["note"] = result.note or None
    if result.formulas:
        doc["formula"] = list(result.formulas)
    return doc


def size_stack(result: LayerStack) -> dict[str, Any]:
    """``{"output": [...], "layers": [...]}`` for one layer or a stack."""
    return plain({"output": list(result.output), "layers": [layer(r) for r in result.layers]})


def _solution(sols: tuple[Solution, ...], per_axis: bool) -> dict[str, Any]:
    def field(name: str) -> int | list[int]:
        values = tuple(getattr(s, name) for s in sols)
        return list(values) if per_axis else values[0]

    names = ("kernel", "stride", "padding", "output_padding", "dilation")
    doc: dict[str, Any] = {name: field(name) for name in names}
    doc["even_overlap"] = all(s.even_overlap for s in sols)
    doc["interior"] = field("interior")
    doc["interior_share"] = round(share(sols), 4)
    return doc


def solve(result: Solutions) -> dict[str, Any]:
    """``{"input", "target", "solutions": [...], "recommended", "square"}``; best first.

    ``square`` counts the configurations with the same parameters on every axis when every
    axis asks the same (they come first), else None.
    """
    inputs, targets, per_axis = result.input, result.target, result.per_axis
    docs = [_solution(sols, per_axis) for sols in result.solutions]
    same = per_axis and len(set(zip(inputs, targets, strict=True))) == 1
    return plain(
        {
            "input": list(inputs) if per_axis else inputs[0],
            "target": list(targets) if per_axis else targets[0],
            "solutions": docs,
            "recommended": docs[0] if docs else None,
            "square": sum(is_square(s) for s in result.solutions) if same else None,
        }
    )


def framework_size(result: FrameworkSize) -> dict[str, Any]:
    """A Keras or JAX layer's output size and the PyTorch padding of the same size."""
    return plain(
        {
            "framework": result.framework,
            "padding": result.padding,
            "per_axis": result.per_axis,
            "input": list(result.input),
            "kernel": list(result.kernel),
            "stride": list(result.stride),
            "dilation": list(result.dilation),
            "output_padding": None
            if result.output_padding is None
            else list(result.output_padding),
            "output": list(result.output),
            "torch_equivalent": [
                None if e is None else {"padding": e[0], "output_padding": e[1]}
                for e in result.torch_equivalent
            ],
        }
    )


# ---------------------------------------------------------------- overlap


def _x(values: Sequence[int]) -> str:
    return "x".join(map(str, values))


def layer_text(spec: LayerSpec) -> str:
    """A layer as the user writes it; a transposed conv names all five parameters.

    >>> from upscope.arith import parse_layer
    >>> layer_text(parse_layer("convT k=3 s=2")), layer_text(parse_layer("upsample scale=2"))
    ('convT k=3 s=2 p=0 op=0 d=1', 'upsample scale=2')
    """
    if spec.kind == "convT":
        keys, defaults = ("k", "s", "p", "op", "d"), {"s": 1, "p": 0, "op": 0, "d": 1}
        parts = []
        for key in keys:
            values = spec.params.get(key, (defaults.get(key, 1),))
            parts.append(f"{key}={_x(list(values))}")
        return "convT " + " ".join(parts)
    return f"{spec.kind} {spec.describe()}".strip()


def overlap(result: OverlapResult) -> dict[str, Any]:
    """The overlap map, its figures and verdict; ``png``: the file :meth:`save_png` wrote."""
    one_d = result.map.ndim == 1
    starts = [a for a, _ in result.interior]
    stops = [b for _, b in result.interior]
    return plain(
        {
            "map": result.map.tolist(),
            "min": result.min,
            "max": result.max,
            "interior": {
                "min": result.interior_min,
                "max": result.interior_max,
                "ratio": result.interior_ratio,
                "start": starts[0] if one_d else starts,
                "stop": stops[0] if one_d else stops,
            },
            "period": list(result.period),
            "verdict": result.verdict,
            "verdict_rule": result.verdict_rule,
            "explanation": result.explanation,
            "input": list(result.input_size),
            "output": list(result.output_size),
            "verdict_input": list(result.verdict_input),
            "layers": [layer_text(spec) for spec in result.specs],
            "png": str(result.pngs[0]) if result.pngs else None,
        }
    )


# ---------------------------------------------------------------- probe


def _measurement(m: Measurement) -> dict[str, Any]:
    row: dict[str, Any] = {"method": m.method}
    if m.kernel is not None:
        row.update(kernel=m.kernel, stride=m.stride, padding=m.padding)
    row.update(
        input=m.input,
        checkerboard=m.checkerboard,
        checkerboard_std=m.checkerboard_std,
        spectral_peak_db=m.spectral_peak_db,
        spectral_peak_db_std=m.spectral_peak_db_std,
        uniform_checkerboard=m.uniform_checkerboard,
        weight_imbalance=m.weight_imbalance,
        verdict=m.verdict,
        note=m.note,
    )
    return row


def probe(report: ProbeReport) -> dict[str, Any]:
    """``{"scale", "size", "channels", "seeds", "seed", "results", "grad", "png"}``."""
    cfg = report.config
    return plain(
        {
            "scale": cfg.scale,
            "size": cfg.size,
            "channels": cfg.channels,
            "seeds": cfg.seeds,
            "seed": cfg.seed,
            "results": [_measurement(m) for m in report.results],
            "grad": None if report.grad is None else [_measurement(m) for m in report.grad],
            "png": [str(p) for p in report.pngs],
        }
    )


# ---------------------------------------------------------------- compare

#: what a bundled sample shows, printed under the table and given as the JSON "note"
SAMPLE_NOTES = {
    "bundled:zoneplate": (
        "zone plate: rings whose frequency rises from 0 at the centre to the Nyquist limit at "
        "the edges. Box-downsampling by S folds every frequency above the input's Nyquist limit "
        "(1/(2S) cycles/px) back as aliasing (moire rings) that no upsampler can undo, so every "
        "method scores low and alike (about 10 dB PSNR at S=2): compare the checker and peak "
        "columns and the figures, not PSNR."
    ),
}


def _method(r: MethodResult) -> dict[str, Any]:
    return {
        "method": r.method,
        "learned": r.learned,
        "params": r.params,
        "psnr": r.psnr,
        "ssim": r.ssim,
        "checkerboard": r.checkerboard,
        "checkerboard_error": r.checkerboard_error,
        "spectral_peak_db": r.spectral_peak_db,
        "seconds": r.seconds,
        "final_loss": r.final_loss,
    }


def compare(result: Comparison) -> dict[str, Any]:
    """The image, the settings and every method's scores (keys in docs/compare.md)."""
    s = result.settings
    channels, height, width = result.original.shape
    return plain(
        {
            "image": result.image,
            "size": [height, width],
            "original_size": list(result.original_size),
            "channels": channels,
            "mode": result.mode,
            "scale": s.scale,
            "alpha": result.alpha,
            "fit": s.fit,
            "device": s.device,
            "threads": result.threads,
            "seed": s.seed,
            "results": [_method(r) for r in result.results],
            "note": SAMPLE_NOTES.get(result.image),
            "png": [str(p) for p in result.pngs],
        }
    )
