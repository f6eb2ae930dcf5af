"""Trace a model's forward pass for ``upscope scan``: every upsampling op, in call order.

:func:`trace` runs one forward pass under ``torch.no_grad()`` with forward pre/post hooks on every
module (a stack of which module is running) and a ``TorchFunctionMode`` that sees every call of
``F.conv_transpose{1,2,3}d``, ``F.interpolate`` (``F.upsample*`` call it) and ``F.pixel_shuffle``.
A call made by an upsampling module inside its own forward (``nn.ConvTranspose2d`` ->
``F.conv_transpose2d``, ``nn.Upsample`` -> ``F.interpolate``, ``nn.PixelShuffle`` ->
``F.pixel_shuffle``) is that module's op, named by its module path (``decoder.up2``). Any other
call is named by the module whose forward made it plus the function (``decoder.up1:interpolate``;
just ``interpolate`` in the root model's forward). A name seen again (a module called twice) gets
``#2``, ``#3``. An upsampling module whose functional call is not seen is read from its
attributes. A pixel shuffle records the conv whose output it takes, if that was the last conv.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from upscope.errors import UpscopeError
from upscope.scanning.args import Shape
from upscope.scanning.records import UpOp

_CONVT_MODULES = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
_FUNC_KIND: dict[Any, tuple[str, str]] = {
    F.conv_transpose1d: ("convT", "conv_transpose1d"),
    F.conv_transpose2d: ("convT", "conv_transpose2d"),
    F.conv_transpose3d: ("convT", "conv_transpose3d"),
    F.interpolate: ("interpolate", "interpolate"),
    F.pixel_shuffle: ("pixelshuffle", "pixel_shuffle"),
}
_CONV_FUNCS = (F.conv1d, F.conv2d, F.conv3d)
_ARG_NAMES = {
    "convT": (
        *("input", "weight", "bias", "stride", "padding"),
        *("output_padding", "groups", "dilation"),
    ),
    "interpolate": ("input", "size", "scale_factor", "mode", "align_corners"),
    "pixelshuffle": ("input", "upscale_factor"),
}


@dataclass
class _Frame:
    path: str
    module: nn.Module
    claimed: bool = False


def _axes(value: Any, n: int) -> tuple[Any, ...]:
    if isinstance(value, list | tuple):
        values = tuple(value)
        return values * n if len(values) == 1 and n > 1 else values
    return (value,) * n


def _bind(kind: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    bound = dict(zip(_ARG_NAMES[kind], args, strict=False))
    bound.update(kwargs)
    return bound


def _owner(module: nn.Module, kind: str) -> bool:
    if kind == "convT":
        return isinstance(module, _CONVT_MODULES)
    if kind == "interpolate":
        return isinstance(module, nn.Upsample)
    return isinstance(module, nn.PixelShuffle)


class _Recorder(TorchFunctionMode):
    """Sees every torch function call during the forward pass; keeps the upsampling ones."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[_Frame] = []
        self.ops: list[UpOp] = []
        self.names: Counter[str] = Counter()
        self.last_conv: tuple[torch.Tensor, str, torch.Tensor, Any] | None = None

    def _name(self, base: str) -> str:
        self.names[base] += 1
        n = self.names[base]
        return base if n == 1 else f"{base}#{n}"

    def __torch_function__(
        self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: Any = None
    ) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        try:
            found = _FUNC_KIND.get(func)
            is_conv = func in _CONV_FUNCS
        except TypeError:  # an unhashable callable: not one of ours
            return out
        if is_conv and torch.is_tensor(out):
            weight = args[1] if len(args) > 1 else kwargs.get("weight")
            bias = args[2] if len(args) > 2 else kwargs.get("bias")
            path = self.stack[-1].path if self.stack else ""
            self.last_conv = (out, path, weight, bias)
        if found is None or not torch.is_tensor(out):
            return out
        kind, fname = found
        bound = _bind(kind, args, kwargs)
        frame = self.stack[-1] if self.stack else None
        if frame is not None and not frame.claimed and _owner(frame.module, kind):
            frame.claimed = True
            base, op_type = frame.path or type(frame.module).__name__, type(frame.module).__name__
        else:
            path = frame.path if frame is not None else ""
            base, op_type = (f"{path}:{fname}" if path else fname), f"F.{fname}"
        self._record(base, op_type, kind, bound, out)
        return out

    def _record(
        self, base: str, op_type: str, kind: str, bound: dict[str, Any], out: torch.Tensor
    ) -> None:
        """Keep an op under a unique name; an interpolation that enlarges no spatial axis (an
        encoder's ``scale_factor=0.5``, a resize to the same size) is a resize down, not an
        upsampling, and is left out."""
        if kind == "interpolate":
            spatial = zip(bound["input"].shape[2:], out.shape[2:], strict=True)
            if not any(o > i for i, o in spatial):
                return
        self.ops.append(self._make(self._name(base), op_type, kind, bound, out))

    def _make(
        self, name: str, op_type: str, kind: str, bound: dict[str, Any], out: torch.Tensor
    ) -> UpOp:
        x = bound["input"]
        op = UpOp(name, op_type, kind, tuple(x.shape), tuple(out.shape))
        n = x.dim() - 2
        if kind == "convT":
            weight = bound["weight"]
            if weight.dim() - 2 != n:
                raise UpscopeError(
                    f"{name} ran on an input of shape {'x'.join(map(str, x.shape))} without a "
                    "batch dimension; scan needs one: give --input-shape as N x C x spatial "
                    f"(e.g. 1x{'x'.join(map(str, x.shape))})"
                )
            op.params = {
                "kernel": tuple(weight.shape[2:]),
                "stride": _axes(bound.get("stride", 1), n),
                "padding": _axes(bound.get("padding", 0), n),
                "output_padding": _axes(bound.get("output_padding", 0), n),
                "dilation": _axes(bound.get("dilation", 1), n),
                "groups": int(bound.get("groups", 1)),
            }
            op.weight = weight.detach().to("cpu", torch.float64).numpy()
        elif kind == "interpolate":
            size, scale = bound.get("size"), bound.get("scale_factor")
            op.params = {
                "size": None if size is None else tuple(int(v) for v in _axes(size, n)),
                "scale_factor": None if scale is None else tuple(float(v) for v in _axes(scale, n)),
                "mode": bound.get("mode", "nearest"),
                "align_corners": bound.get("align_corners"),
            }
        else:
            op.params = {"upscale_factor": int(bound["upscale_factor"])}
            if self.last_conv is not None and self.last_conv[0] is x:
                _, path, weight, bias = self.last_conv
                op.feeding_conv = (path, weight.detach().to("cpu", torch.float64).numpy())
                if torch.is_tensor(bias):
                    op.feeding_bias = bias.detach().to("cpu", torch.float64).numpy()
        return op

    def fallback(self, frame: _Frame, args: tuple[Any, ...], out: Any) -> None:
        """An upsampling module whose functional call was not seen: read its attributes."""
        module = frame.module
        if not args or not torch.is_tensor(args[0]) or not torch.is_tensor(out):
            return
        if isinstance(module, _CONVT_MODULES):
            m = module
            bound = {
                "input": args[0],
                "weight": m.weight,
                "stride": m.stride,
                "padding": m.padding,
                "output_padding": m.output_padding,
                "dilation": m.dilation,
                "groups": m.groups,
            }
            kind = "convT"
        elif isinstance(module, nn.Upsample):
            bound = {"input": args[0], "size": module.size, "scale_factor": module.scale_factor}
            bound.update(mode=module.mode, align_corners=module.align_corners)
            kind = "interpolate"
        elif isinstance(module, nn.PixelShuffle):
            bound = {"input": args[0], "upscale_factor": module.upscale_factor}
            kind = "pixelshuffle"
        else:
            return
        self._record(frame.path or type(module).__name__, type(module).__name__, kind, bound, out)


def trace(model: nn.Module, inputs: Sequence[torch.Tensor]) -> list[UpOp]:
    """Run ``model(*inputs)`` once (eval, no_grad) and return its upsampling ops in call order."""
    recorder = _Recorder()
    handles = []
    for path, module in model.named_modules():

        def pre(mod: nn.Module, _args: Any, path: str = path) -> None:
            recorder.stack.append(_Frame(path, mod))

        def post(mod: nn.Module, args: Any, out: Any) -> None:
            while recorder.stack:
                frame = recorder.stack.pop()
                if frame.module is mod:
                    if not frame.claimed:
                        recorder.fallback(frame, args, out)
                    break

        handles.append(module.register_forward_pre_hook(pre))
        handles.append(module.register_forward_hook(post, always_call=True))
    model.eval()
    try:
        with torch.no_grad(), recorder:
            model(*inputs)
    except UpscopeError:
        raise
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - the user's forward: one line
        shapes = ", ".join("x".join(map(str, t.shape)) for t in inputs)
        message = " ".join(str(exc).split())
        if len(message) > 400:
            message = message[:400] + " ..."
        raise UpscopeError(
            f"the forward pass with input shape {shapes} failed: {type(exc).__name__}: {message}"
        ) from None
    finally:
        for handle in handles:
            handle.remove()
        recorder.last_conv = None
    return recorder.ops


def make_inputs(model: nn.Module, shapes: Sequence[Shape], seed: int) -> list[torch.Tensor]:
    """Seeded standard-normal inputs in the dtype of the model's first floating parameter."""
    dtype = next(
        (p.dtype for p in model.parameters() if p.is_floating_point()), torch.get_default_dtype()
    )
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(shape, generator=gen, dtype=dtype) for shape in shapes]
