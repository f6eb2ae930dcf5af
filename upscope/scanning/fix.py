"""Fixes for a flagged upsampling op, as Python code text (torch-free: any front end's records).

:func:`suggest` returns, for an op whose status is ``artifact`` or ``risk``, the replacements
that keep every shape, ranked by what training can do to them (resize-conv cannot learn a grid;
a zero-order-hold or ICNR layer is balanced now but can):

- transposed conv (1D, 2D, 3D): (1) the **resize-conv** ``nn.Upsample(scale_factor=S,
  mode="nearest")`` + a conv whose padding keeps the output size (no constant-input
  checkerboard at any weights, Odena et al. 2016); a layer called with ``output_size=`` gets
  :class:`upscope.layers.ResizeConv`, which takes that argument; (2) where (1) moves the content
  by half an output pixel, the **shift-free resize-conv** (an even or odd kernel after an
  asymmetric zero pad); (3) a **ConvTranspose with K a multiple of S** (same stride, channels,
  groups; K, P, P_out from the size solver :func:`upscope.arith.solve_axis`, the least shift
  first) initialised by :func:`upscope.init.zoh_`.
- pixel shuffle: (1) the resize-conv in place of the conv (and the norm) feeding it and the
  shuffle; (2) :func:`upscope.init.icnr_` on that conv (and the norm between them).

Shift: a replacement whose kernel is symmetric about its centre puts an input pixel's content
``shift`` output pixels later (+) or earlier (-) than the original does (per axis; the formula is
in :func:`_centre`); a fix with a non-zero shift says so in its notes.

Each fix has two code variants (:mod:`.fix_code`): ``code`` imports upscope's initialisers,
``code_standalone`` carries their source; :mod:`upscope.scanning.verify` runs ``code`` on a
copy of the model.
"""

from __future__ import annotations

from typing import Any

from upscope import arith
from upscope.errors import UpscopeError
from upscope.overlap_map import stack_overlap
from upscope.scanning.fix_code import LEARNS, Fix, assign, module_expr
from upscope.scanning.judge import Finding
from upscope.scanning.records import UpOp

__all__ = ["Fix", "module_expr", "suggest"]


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


def _conv_args(
    c_in: int, c_out: int, kernel: tuple[int, ...], pad: tuple[int, ...], extra: dict[str, Any]
) -> list[str]:
    """A conv's constructor arguments: channels, kernel, padding, then groups, bias and
    padding_mode where they differ from nn.Conv's defaults."""
    args = [str(c_in), str(c_out), f"kernel_size={_tuple(kernel)}", f"padding={_tuple(pad)}"]
    if extra.get("groups", 1) != 1:
        args.append(f"groups={extra['groups']}")
    if not extra.get("bias", True):
        args.append("bias=False")
    mode = extra.get("padding_mode", "zeros")
    if mode != "zeros":
        args.append(f"padding_mode={mode!r}")
    return args


def _resize_conv(
    c_in: int,
    c_out: int,
    scales: tuple[int, ...],
    deltas: list[int],
    extra: dict[str, Any],
    sized: bool = False,
) -> tuple[str, str, tuple[int, ...]]:
    """``nn.Sequential(nn.Upsample, nn.ConvNd)`` source (``ResizeConv(nn.ConvNd, scale)`` when
    ``sized``: a layer called with ``output_size=``), its overlap verdict, and the conv's
    padding minus half its kernel (for the shift)."""
    n = len(scales)
    pairs = [_shape_keeping_conv(d) for d in deltas]
    kernel, pad = tuple(k for k, _ in pairs), tuple(p for _, p in pairs)
    args = _conv_args(c_in, c_out, kernel, pad, extra)
    if sized:
        conv = _call("", f"nn.Conv{n}d", args, 67).replace("\n", "\n    ")
        source = f"ResizeConv(\n    {conv},\n    scale={_scale(scales)},\n)"
    else:
        conv = _call("", f"nn.Conv{n}d", args, 67).replace("\n", "\n    ")
        source = (
            "nn.Sequential(\n"
            f'    nn.Upsample(scale_factor={_scale(scales)}, mode="nearest"),\n'
            f"    {conv},\n"
            ")"
        )
    return source, _resize_overlap(scales, kernel, pad), kernel


def _shift_free_resize_conv(
    c_in: int,
    c_out: int,
    scales: tuple[int, ...],
    deltas: list[int],
    centres: list[float],
    extra: dict[str, Any],
) -> tuple[str, str] | None:
    """Nearest x S, a zero pad (left, right) per axis, a conv with padding 0 whose centre lands
    where the original's does: (S - 1) / 2 + left - (K' - 1) / 2 = centre, left + right =
    delta + K' - 1. The smallest K' from 2 up per axis; None if none up to 16."""
    n = len(scales)
    kernel, pads = [], []
    for s, delta, centre in zip(scales, deltas, centres, strict=True):
        for k in range(2, 17):
            left2 = 2 * centre + (k - 1) - (s - 1)  # twice the left pad
            if left2 < 0 or left2 % 2:
                continue
            left = int(left2 // 2)
            right = delta + k - 1 - left
            if right >= 0:
                kernel.append(k)
                pads.append((left, right))
                break
        else:
            return None
    flat = [v for pair in reversed(pads) for v in pair]  # last axis first, as F.pad
    args = _conv_args(c_in, c_out, tuple(kernel), (0,) * n, {**extra, "padding_mode": "zeros"})
    conv = _call("", f"nn.Conv{n}d", args, 67).replace("\n", "\n    ")
    source = (
        "nn.Sequential(\n"
        f'    nn.Upsample(scale_factor={_scale(scales)}, mode="nearest"),\n'
        f"    nn.ConstantPad{n}d({_tuple(flat)}, 0.0),\n"
        f"    {conv},\n"
        ")"
    )
    return source, _resize_overlap(scales, tuple(kernel), (0,) * n)


def _centre(op: UpOp) -> list[float]:
    """Per axis, where an input pixel's content lands in a transposed conv's output, relative
    to ``i * S`` for input pixel i, for a kernel symmetric about its centre:
    D * (K - 1) / 2 - P (P: the padding at the start)."""
    prm = op.params
    return [
        d * (k - 1) / 2 - p
        for k, p, d in zip(prm["kernel"], prm["padding"], prm["dilation"], strict=True)
    ]


def _shift_note(shift: tuple[float, ...]) -> list[str]:
    """The note of a fix that moves the content (none for no shift).

    >>> _shift_note((0.5, 0.5))[0].split(" against ")[0], _shift_note((0.0,))
    ('moves the content by +0.5 output pixel on every axis', [])
    """
    if all(v == 0 for v in shift):
        return []
    if len(set(shift)) == 1:
        where = f"{shift[0]:+g} output pixel on every axis"
    else:
        where = "(" + ", ".join(f"{v:+g}" for v in shift) + ") output pixels per axis"
    return [
        f"moves the content by {where} against the original (+: down / right), for a "
        "symmetric kernel"
    ]


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
    """Per axis, the size solver's ConvTranspose with the op's stride, no dilation and K a
    multiple of S that gives the op's output size, the one that moves the content least (then
    the solver's order); None: none found. The same stride makes a solution for one input size
    a solution for every input size."""
    chosen = []
    sizes = op.spatial_in or (16,) * op.ndim  # any size: the solution does not depend on it
    for i, delta, s, k, centre in zip(
        sizes, _deltas(op), op.params["stride"], op.params["kernel"], _centre(op), strict=True
    ):
        bounds = arith.Bounds(max_k=max(8, 2 * k, 4 * s), max_s=s, max_d=1)
        found = [
            sol
            for sol in arith.solve_axis(i, i * s + delta, bounds)
            if sol.stride == s and sol.kernel % s == 0 and sol.output_padding < s
        ]
        if not found:
            return None
        chosen.append(min(found, key=lambda sol: abs((sol.kernel - 1) / 2 - sol.padding - centre)))
    return chosen


def _swap(op: UpOp, path: str, source: str) -> str:
    return assign(path, source, op.access.get(path))


def _expr(op: UpOp, path: str) -> str:
    return module_expr(path, op.access.get(path))


def _convt_fixes(finding: Finding) -> list[Fix]:
    op = finding.op
    prm = op.params
    assert op.weight is not None
    n, groups, stride = op.ndim, int(prm["groups"]), tuple(prm["stride"])
    c_in, c_out = op.weight.shape[0], op.weight.shape[1] * groups
    extra = {"groups": groups, "bias": bool(prm.get("bias", True))}
    path = _module_path(op)
    target = path if op.module else None
    sized = bool(prm.get("output_size_call")) and op.module

    def put(source: str) -> str:
        return _swap(op, path, source) if op.module else f"upsample = {source}"

    lhs = _expr(op, path) if op.module else "upsample"
    deltas, centres = _deltas(op), _centre(op)
    # nearest puts input i's content at i*S + (S-1)/2, a conv with padding P' moves it by
    # P' - (K'-1)/2 = delta/2
    shift = tuple(
        float((s - 1) / 2 + d / 2 - c) for s, d, c in zip(stride, deltas, centres, strict=True)
    )
    source, verdict, _ = _resize_conv(c_in, c_out, stride, deltas, extra, sized)
    title = "resize-conv (nearest + conv)"
    fix = Fix(title, put(source), verdict, target, scales=stride, touches=[path])
    fix.uses = ["ResizeConv"] if sized else []
    fix.shift, fix.notes = shift, _shift_note(shift)
    if sized:
        fix.notes.append("ResizeConv takes the output_size= your forward passes")
    fixes = [fix]
    wraps = prm.get("weight_wrappers")
    lost = (
        f"the original's weight goes through {', '.join(wraps)}; the new conv's does not: wrap "
        "it the same way to keep that"
        if wraps
        else None
    )
    free = None if sized else _shift_free_resize_conv(c_in, c_out, stride, deltas, centres, extra)
    if any(shift) and free is not None:
        fix.notes.append("fix 2 is its shift-free variant")
        title = "resize-conv, shift-free (nearest + zero pad + conv)"
        fixes.append(
            Fix(
                title,
                put(free[0]),
                free[1],
                target,
                scales=stride,
                touches=[path],
                shift=(0.0,) * n,
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
            and prm.get("padding_end") in (None, prm["padding"])
        )
        args = [str(c_in), str(c_out), f"kernel_size={_tuple(kernel)}"]
        args += [f"stride={_tuple(stride)}", f"padding={_tuple(pad)}"]
        args += [f"output_padding={_tuple(out_pad)}"]
        args += [f"groups={groups}"] if groups != 1 else []
        args += [] if extra["bias"] else ["bias=False"]
        lines = []
        if not same or not op.module:
            lines.append(put(_call("", f"nn.ConvTranspose{n}d", args)))
        lines.append(f"zoh_({lhs})")
        verdict = arith.combine_verdicts(
            [arith.overlap_verdict(k, s) for k, s in zip(kernel, stride, strict=True)]
        )
        kernel_text = "x".join(map(str, kernel))
        title = "dilation-free ConvTranspose" if finding.verdict == "holes" else "ConvTranspose"
        title += f", K a multiple of S (k={kernel_text}), zero-order-hold init"
        moved = tuple(
            float((sol.kernel - 1) / 2 - sol.padding - c)
            for sol, c in zip(sols, centres, strict=True)
        )
        fix = Fix(title, "\n".join(lines), verdict, target, ["zoh_"], scales=stride)
        fix.touches, fix.shift = [path], moved
        fix.notes = [*_shift_note(moved), LEARNS]
        if not same:
            fix.notes += [lost.replace("conv's", "ConvTranspose's")] if lost else []
        fixes.append(fix)
    for fix in fixes:
        if lost and "resize-conv" in fix.title:
            fix.notes.append(lost)
    return fixes


def _norm_source(norm: dict[str, Any], channels: int) -> str | None:
    """The norm between a conv and a shuffle, rebuilt for ``channels`` (the resize-conv's), or
    None for a norm that cannot be (a GroupNorm whose groups do not divide them, others)."""
    kind = norm.get("type", "")
    if kind.startswith("BatchNorm"):
        args = [str(channels), f"eps={norm.get('eps', 1e-5)!r}"]
        args.append(f"momentum={norm.get('momentum', 0.1)!r}")
        args += [] if norm.get("affine", True) else ["affine=False"]
        args += [] if norm.get("track_running_stats", True) else ["track_running_stats=False"]
        return f"nn.{kind}({', '.join(args)})"
    if kind == "GroupNorm" and channels % int(norm.get("num_groups", 0) or channels + 1) == 0:
        args = [str(norm["num_groups"]), str(channels), f"eps={norm.get('eps', 1e-5)!r}"]
        args += [] if norm.get("affine", True) else ["affine=False"]
        return f"nn.GroupNorm({', '.join(args)})"
    return None


def _shuffle_fixes(finding: Finding) -> list[Fix]:
    op = finding.op
    r = int(op.params["upscale_factor"])
    if op.feeding_conv is None:
        return []
    path, weight = op.feeding_conv
    fprm = op.feeding_params
    conv_is_module = bool(fprm.get("module")) and bool(path)
    conv = _expr(op, path) if conv_is_module else "conv"
    norm = fprm.get("norm")
    norm_path = norm["path"] if norm and norm.get("module") and norm.get("path") else None
    shuffle_path = _module_path(op)
    swappable = op.module and conv_is_module and (norm is None or norm_path is not None)
    fixes = []
    pad = fprm.get("padding")
    groups = int(fprm.get("groups", 1))
    channels = weight.shape[0]
    plain = (
        weight.ndim == 4
        and pad is not None
        and not isinstance(pad, str)
        and all(v == 1 for v in fprm.get("stride", (1,)))
        and all(v == 1 for v in fprm.get("dilation", (1,)))
        and channels % (r * r) == 0
        and (channels // groups) % (r * r) == 0
    )
    c_out = channels // (r * r)
    norm_source = None if norm is None else _norm_source(norm, c_out)
    if plain and pad is not None and (norm is None or norm_source is not None):
        kernel = weight.shape[2:]
        deltas = [r * (2 * p - k + 1) for p, k in zip(pad, kernel, strict=True)]
        extra = {
            "groups": groups,
            "bias": bool(fprm.get("bias", op.feeding_bias is not None)),
            "padding_mode": fprm.get("padding_mode", "zeros"),
        }
        source, verdict, _ = _resize_conv(weight.shape[1] * groups, c_out, (r, r), deltas, extra)
        shuffle = _expr(op, shuffle_path) if op.module else "shuffle"
        lines = [_swap(op, path, source) if conv_is_module else f"conv = {source}"]
        touches, keep_out = [path, shuffle_path], [path, *fprm.get("via_paths", [])]
        if norm is not None and norm_source is not None:
            lines.append(
                _swap(op, norm_path, norm_source) if norm_path else f"norm = {norm_source}"
            )
            touches.append(norm_path or "")
            keep_out.append(norm_path or "")
        lines.append(
            _swap(op, shuffle_path, "nn.Identity()") if op.module else f"{shuffle} = nn.Identity()"
        )
        title = "resize-conv (nearest + conv) instead of conv + pixel shuffle"
        if norm is not None:
            title = (
                f"resize-conv (nearest + conv + {norm['type']}) instead of conv + norm + shuffle"
            )
        fixes.append(
            Fix(
                title,
                "\n".join(lines),
                verdict,
                path if swappable else None,
                keep_out=keep_out,
                scales=(r, r),
                touches=[t for t in touches if t],
                shift=(0.0, 0.0),
            )
        )
    call = f"icnr_({conv}, scale={r}"
    if norm is not None:
        call += f", norm={_expr(op, norm_path) if norm_path else 'norm'}"
    title = "ICNR init of the conv feeding it" + (f" and of its {norm['type']}" if norm else "")
    icnr = Fix(
        title,
        call + ")",
        "even",
        shuffle_path if swappable else None,
        ["icnr_"],
        scales=(r, r),
        touches=[p for p in (path, norm_path) if p],
        shift=(0.0, 0.0),
        notes=[LEARNS],
    )
    fixes.append(icnr)
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
    norm = op.feeding_params.get("norm") if op.kind == "pixelshuffle" else None
    for fix in fixes:
        if fix.target is None:
            fix.reason = (
                f"{op.name} is a functional call ({op.type}) in a forward, which cannot be "
                "swapped: create the module in __init__ and call it there instead"
                if op.type.startswith("F.")
                else f"{op.name} is not a module of a live PyTorch model (upscope swaps a fix "
                "only into an nn.Module attribute): apply the code where the model is built"
                if not op.module
                else "the norm between the conv and the pixel shuffle is a functional call"
                if norm is not None and not norm.get("module")
                else "the conv feeding the pixel shuffle is not an nn.Conv module"
            )
    return fixes
