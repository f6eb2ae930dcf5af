"""Fixes for a flagged upsampling op, as Python code text (torch-free: any front end's records).

:func:`suggest` returns, for an op whose status is ``artifact`` or ``risk``, the replacements
that keep every shape, ranked:

- transposed conv (1D, 2D, 3D): the **resize-conv** ``nn.Upsample(scale_factor=S,
  mode="nearest")`` + a conv whose padding keeps the output size (no constant-input
  checkerboard at any weights, Odena et al. 2016), then a **ConvTranspose with K a multiple of
  S** (same stride, channels, groups; K, P, P_out from the size solver :func:`upscope.arith.
  solve_axis` so the output size is the same) initialised with a zero-order hold (its polyphase
  sums are equal: Sugawara et al.). For an op with holes (dilation), that dilation-free
  ConvTranspose comes first.
- pixel shuffle: **ICNR** initialisation of the conv feeding it (Aitken et al. 2017), then the
  resize-conv in place of that conv and the shuffle.

Each fix's ``code`` is valid Python that runs with ``model`` (the model object), ``nn`` and
``torch`` in scope; :mod:`upscope.scanning.verify` runs exactly that code on a copy of the model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from upscope import arith
from upscope.errors import UpscopeError
from upscope.overlap_map import stack_overlap
from upscope.result import Brief
from upscope.scanning.judge import Finding
from upscope.scanning.records import UpOp

__all__ = ["HELPERS", "Fix", "module_expr", "suggest"]

HELPERS = {
    "zoh_init_": '''def zoh_init_(layer: nn.Module) -> None:
    """Zero-order-hold init (Sugawara et al.): a random kernel convolved
    with a box of `stride` ones per axis, so every polyphase sub-kernel has
    the same sum (no checkerboard at init)."""
    import itertools
    import math

    stride, kernel = layer.stride, layer.kernel_size
    size = [k - s + 1 for k, s in zip(kernel, stride)]
    small = torch.empty(*layer.weight.shape[:2], *size)
    nn.init.kaiming_uniform_(small, a=math.sqrt(5))  # ConvTranspose's default
    with torch.no_grad():
        layer.weight.zero_()
        for shift in itertools.product(*(range(s) for s in stride)):
            window = [slice(o, o + n) for o, n in zip(shift, size)]
            layer.weight[(slice(None), slice(None), *window)] += (
                small / math.prod(stride)
            )
''',
    "icnr_": '''def icnr_(conv: nn.Module, scale: int) -> None:
    """ICNR init (Aitken et al. 2017): the scale**2 channels that become one
    output channel of PixelShuffle(scale) start equal, so the shuffle starts
    as conv + nearest upsampling."""
    import math

    repeat = scale**2
    small = torch.empty(conv.out_channels // repeat, *conv.weight.shape[1:])
    nn.init.kaiming_uniform_(small, a=math.sqrt(5))  # nn.Conv's default init
    with torch.no_grad():
        conv.weight.copy_(small.repeat_interleave(repeat, dim=0))
        if conv.bias is not None:
            conv.bias.copy_(conv.bias[::repeat].repeat_interleave(repeat))
''',
}


@dataclass(repr=False)
class Fix(Brief):
    """One suggested replacement; the verification fields are filled by a front end that can
    run the model (:mod:`upscope.scanning.verify`)."""

    title: str
    statements: str  # the lines that change the model (``model.up = ...``)
    overlap: str  # overlap verdict of the replacement
    target: str | None  # module path whose output is the op's output after the fix
    helpers: list[str] = field(default_factory=list)  # names in HELPERS it calls
    keep_out: list[str] = field(default_factory=list)  # paths whose own shape may change
    scales: tuple[int, ...] = ()  # phase period of the target's output
    touches: list[str] = field(default_factory=list)  # module paths the code replaces or edits
    verified: bool = False
    reason: str | None = None  # why it is not verified
    same_shapes: bool | None = None
    response: float | None = None
    params_delta: int | None = None

    _brief = ("title", "verified", "overlap", "response", "same_shapes", "params_delta")

    @property
    def code(self) -> str:
        """Self-contained Python: imports, helper functions, then the statements."""
        parts = ["import torch\nfrom torch import nn\n"]
        parts += [HELPERS[name] for name in self.helpers]
        parts.append(self.statements)
        return "\n\n".join(part.rstrip("\n") for part in parts) + "\n"

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "code": self.code,
            "verified": self.verified,
            "reason": self.reason,
            "same_shapes": self.same_shapes,
            "overlap": self.overlap,
            "response": self.response,
            "params_delta": self.params_delta,
        }


def module_expr(path: str, root: str = "model") -> str:
    """``"decoder.blocks.3.up"`` -> ``model.decoder.blocks[3].up``.

    >>> module_expr("main.3"), module_expr("a.b-c")
    ('model.main[3]', "getattr(model.a, 'b-c')")
    """
    expr = root
    for part in path.split(".") if path else []:
        if part.isdigit():
            expr += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_]\w*", part):
            expr += f".{part}"
        else:
            expr = f"getattr({expr}, {part!r})"
    return expr


def _call(lhs: str, func: str, args: list[str], width: int = 71) -> str:
    """``lhs = func(args)`` on one line if it fits in ``width``, else one argument line per
    group that fits, each indented by four spaces.

    >>> print(_call("m.up", "nn.Conv2d", ["1", "2"]))
    m.up = nn.Conv2d(1, 2)
    """
    head = f"{lhs} = {func}(" if lhs else f"{func}("
    one = head + ", ".join(args) + ")"
    if len(one) <= width:
        return one
    lines, line = [], ""
    for arg in args:
        piece = f"{arg},"
        if line and len(line) + 1 + len(piece) > width - 4:
            lines.append(line)
            line = piece
        else:
            line = f"{line} {piece}" if line else piece
    lines.append(line)
    return head + "\n" + "\n".join(f"    {text}" for text in lines) + "\n)"


def _module_path(op: UpOp) -> str:
    """The module path of a module op (a module called again is named ``path#2``)."""
    return op.name.split("#")[0]


def _tuple(values: tuple[int, ...] | list[int]) -> str:
    return "(" + ", ".join(str(int(v)) for v in values) + ("," if len(values) == 1 else "") + ")"


def _scale(values: tuple[int, ...]) -> str:
    return str(values[0]) if len(set(values)) == 1 else _tuple(values)


def _shape_keeping_conv(delta: int) -> tuple[int, int]:
    """Kernel and padding of a stride-1 conv that adds ``delta`` pixels: 2P - K + 1 = delta.

    >>> _shape_keeping_conv(0), _shape_keeping_conv(1), _shape_keeping_conv(-2)
    ((3, 1), (4, 2), (3, 0))
    """
    for k in (3, 4, 2, 5, *range(6, 8 + 2 * abs(delta))):
        twice_p = delta + k - 1
        if twice_p >= 0 and twice_p % 2 == 0:
            return k, twice_p // 2
    raise UpscopeError(f"no conv adds {delta} pixels")  # unreachable: k = 3 or 4 always fits


def _resize_overlap(scales: tuple[int, ...], kernel: tuple[int, ...], pad: tuple[int, ...]) -> str:
    """The overlap verdict of nearest x S then conv, from the overlap core, one axis at a time."""
    verdicts = []
    for s, k, p in zip(scales, kernel, pad, strict=True):
        specs = [
            arith.parse_layer(f"upsample scale={s} mode=nearest"),
            arith.parse_layer(f"conv k={k} p={p}"),
        ]
        verdicts.append(stack_overlap(specs, (16,)).verdict)
    return arith.combine_verdicts(verdicts)


def _resize_conv(
    c_in: int, c_out: int, groups: int, bias: bool, scales: tuple[int, ...], deltas: list[int]
) -> tuple[str, str]:
    """``nn.Sequential(nn.Upsample, nn.ConvNd)`` source, and the replacement's overlap verdict."""
    n = len(scales)
    pairs = [_shape_keeping_conv(d) for d in deltas]
    kernel, pad = tuple(k for k, _ in pairs), tuple(p for _, p in pairs)
    args = [str(c_in), str(c_out), f"kernel_size={_tuple(kernel)}", f"padding={_tuple(pad)}"]
    args += ([f"groups={groups}"] if groups != 1 else []) + ([] if bias else ["bias=False"])
    conv = _call("", f"nn.Conv{n}d", args, 67).replace("\n", "\n    ")
    source = (
        "nn.Sequential(\n"
        f'    nn.Upsample(scale_factor={_scale(scales)}, mode="nearest"),\n'
        f"    {conv},\n"
        ")"
    )
    return source, _resize_overlap(scales, kernel, pad)


def _deltas(op: UpOp) -> list[int]:
    """Per axis, output size minus S times the input size: D*(K-1) + P_out + 1 - S - P - P_end
    (P_end: ONNX's end padding, else P), the same for every input size."""
    prm = op.params
    ends = prm.get("padding_end") or prm["padding"]
    return [
        d * (k - 1) + o + 1 - s - p - e
        for k, s, p, e, o, d in zip(
            prm["kernel"],
            prm["stride"],
            prm["padding"],
            ends,
            prm["output_padding"],
            prm["dilation"],
            strict=True,
        )
    ]


def _even_convt(op: UpOp) -> list[arith.Solution] | None:
    """Per axis, the size solver's best ConvTranspose with the op's stride, no dilation and K a
    multiple of S that gives the op's output size (None: none found). The same stride makes a
    solution for one input size a solution for every input size."""
    chosen = []
    sizes = op.spatial_in or (16,) * op.ndim  # any size: the solution does not depend on it
    for i, delta, s, k in zip(
        sizes, _deltas(op), op.params["stride"], op.params["kernel"], strict=True
    ):
        bounds = arith.Bounds(max_k=max(8, 2 * k, 4 * s), max_s=s, max_d=1)
        found = [
            sol
            for sol in arith.solve_axis(i, i * s + delta, bounds)
            if sol.stride == s and sol.kernel % s == 0 and sol.output_padding < s
        ]
        if not found:
            return None
        chosen.append(found[0])
    return chosen


def _convt_fixes(finding: Finding) -> list[Fix]:
    op = finding.op
    prm = op.params
    assert op.weight is not None
    n, groups, stride = op.ndim, int(prm["groups"]), tuple(prm["stride"])
    c_in, c_out = op.weight.shape[0], op.weight.shape[1] * groups
    bias = bool(prm.get("bias", True))
    path = _module_path(op)
    target = path if op.module else None
    lhs = module_expr(path) if op.module else "upsample"
    fixes = []
    deltas = _deltas(op)
    source, verdict = _resize_conv(c_in, c_out, groups, bias, stride, deltas)
    fixes.append(
        Fix(
            "resize-conv (nearest + conv)",
            f"{lhs} = {source}",
            verdict,
            target,
            scales=stride,
            touches=[path],
        )
    )
    sols = _even_convt(op)
    if sols is not None:
        kernel = tuple(sol.kernel for sol in sols)
        pad = tuple(sol.padding for sol in sols)
        out_pad = tuple(sol.output_padding for sol in sols)
        same = (
            kernel == tuple(prm["kernel"])
            and pad == tuple(prm["padding"])
            and out_pad == tuple(prm["output_padding"])
            and all(d == 1 for d in prm["dilation"])
        )
        args = [str(c_in), str(c_out), f"kernel_size={_tuple(kernel)}"]
        args += [f"stride={_tuple(stride)}", f"padding={_tuple(pad)}"]
        args += [f"output_padding={_tuple(out_pad)}"]
        args += ([f"groups={groups}"] if groups != 1 else []) + ([] if bias else ["bias=False"])
        lines = []
        if not same or not op.module:
            lines.append(_call(lhs, f"nn.ConvTranspose{n}d", args))
        lines.append(f"zoh_init_({lhs})")
        verdict = arith.combine_verdicts(
            [arith.overlap_verdict(k, s) for k, s in zip(kernel, stride, strict=True)]
        )
        kernel_text = "x".join(map(str, kernel))
        title = (
            "dilation-free ConvTranspose"
            if finding.verdict == "holes"
            else "ConvTranspose, K a multiple of S"
        )
        title += f" (k={kernel_text}), zero-order-hold init"
        fix = Fix(
            title,
            "\n".join(lines),
            verdict,
            target,
            ["zoh_init_"],
            scales=stride,
            touches=[path],
        )
        fixes.insert(0 if finding.verdict == "holes" else len(fixes), fix)
    return fixes


def _shuffle_fixes(finding: Finding) -> list[Fix]:
    op = finding.op
    r = int(op.params["upscale_factor"])
    if op.feeding_conv is None:
        return []
    path, weight = op.feeding_conv
    fprm = op.feeding_params
    conv_is_module = bool(fprm.get("module")) and bool(path)
    conv = module_expr(path) if conv_is_module else "conv"
    fixes = [
        Fix(
            "ICNR init of the conv feeding it",
            f"icnr_({conv}, scale={r})",
            "even",
            _module_path(op) if op.module and conv_is_module else None,
            ["icnr_"],
            scales=(r, r),
            touches=[path],
        )
    ]
    pad = fprm.get("padding")
    plain = (
        weight.ndim == 4
        and not isinstance(pad, str)
        and all(v == 1 for v in fprm.get("stride", (1,)))
        and all(v == 1 for v in fprm.get("dilation", (1,)))
        and fprm.get("groups", 1) == 1
        and weight.shape[0] % (r * r) == 0
    )
    if plain and pad is not None:
        kernel = weight.shape[2:]
        deltas = [r * (2 * p - k + 1) for p, k in zip(pad, kernel, strict=True)]
        c_out = weight.shape[0] // (r * r)
        bias = op.feeding_bias is not None
        source, verdict = _resize_conv(weight.shape[1], c_out, 1, bias, (r, r), deltas)
        shuffle = module_expr(_module_path(op)) if op.module else "shuffle"
        swap = op.module and conv_is_module
        fixes.append(
            Fix(
                "resize-conv (nearest + conv) instead of conv + pixel shuffle",
                f"{conv} = {source}\n{shuffle} = nn.Identity()",
                verdict,
                path if swap else None,
                keep_out=[path],
                scales=(r, r),
                touches=[path, _module_path(op)],
            )
        )
    return fixes


def suggest(finding: Finding) -> list[Fix]:
    """The ranked fixes of a flagged op (none for an ``ok`` one); functional ops get the code
    with ``reason`` saying why it cannot be verified."""
    if finding.status == "ok":
        return []
    op = finding.op
    if op.kind == "convT":
        fixes = _convt_fixes(finding)
    elif op.kind == "pixelshuffle":
        fixes = _shuffle_fixes(finding)
    else:
        fixes = []
    for fix in fixes:
        if fix.target is None:
            fix.reason = (
                f"{op.name} is a functional call ({op.type}) in a forward, which cannot be "
                "swapped: create the module in __init__ and call it there instead"
                if op.type.startswith("F.")
                else f"{op.name} is not a module of a live PyTorch model (upscope swaps a fix "
                "only into an nn.Module attribute): apply the code where the model is built"
                if not op.module
                else "the conv feeding the pixel shuffle is not an nn.Conv module"
            )
    return fixes
