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
attributes. A pixel shuffle records the conv whose output it takes, directly or through
elementwise activations (``nn.ReLU(inplace=True)`` included), if that was the last conv.

With ``response=KEY``, every op is also applied once more to its input reduced to per-channel
constants (the spatial mean of each channel of the first batch item), and the phase-energy score
of that output (:func:`upscope.scanning.score.response_score`) is kept in ``op.response[KEY]``.
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
from upscope.scanning import contain
from upscope.scanning.args import Shape
from upscope.scanning.records import UpOp
from upscope.scanning.score import op_scales, response_score

_CONVT_MODULES = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
_FUNC_KIND: dict[Any, tuple[str, str]] = {
    F.conv_transpose1d: ("convT", "conv_transpose1d"),
    F.conv_transpose2d: ("convT", "conv_transpose2d"),
    F.conv_transpose3d: ("convT", "conv_transpose3d"),
    F.interpolate: ("interpolate", "interpolate"),
    F.pixel_shuffle: ("pixelshuffle", "pixel_shuffle"),
}
_CONV_FUNCS = (F.conv1d, F.conv2d, F.conv3d)
_CONV_MODULES = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
# per-channel norms a conv's output may pass through on its way to a pixel shuffle
_NORM_FUNCS = {F.batch_norm: "batch_norm", F.group_norm: "group_norm"}
_NORM_FUNCS[F.instance_norm] = "instance_norm"
_NORM_MODULES = (
    nn.modules.batchnorm._BatchNorm,
    nn.GroupNorm,
    nn.modules.instancenorm._InstanceNorm,
)
# elementwise functions a conv's output may pass through on its way to a pixel shuffle
_ELEMENTWISE = frozenset(
    {"relu", "relu_", "relu6", "leaky_relu", "leaky_relu_", "elu", "elu_", "selu", "selu_"}
    | {"celu", "celu_", "gelu", "silu", "mish", "hardtanh", "hardtanh_", "hardswish"}
    | {"hardsigmoid", "sigmoid", "sigmoid_", "tanh", "tanh_", "softplus", "prelu"}
)
_ARG_NAMES = {
    "convT": (
        *("input", "weight", "bias", "stride", "padding"),
        *("output_padding", "groups", "dilation"),
    ),
    "interpolate": ("input", "size", "scale_factor", "mode", "align_corners"),
    "pixelshuffle": ("input", "upscale_factor"),
}


@dataclass
class _Feeder:
    """The last conv's output, followed through elementwise functions."""

    tensor: torch.Tensor
    path: str
    weight: torch.Tensor
    bias: Any
    params: dict[str, Any]


def constant_like(x: torch.Tensor) -> torch.Tensor:
    """``x``'s first batch item, every channel replaced by its spatial mean (shape 1, C, ...)."""
    first = x[:1]
    dims = tuple(range(2, first.dim()))
    return first.mean(dim=dims, keepdim=True).expand_as(first).contiguous()


def score_output(out: torch.Tensor, scales: tuple[int, ...] | None) -> float | None:
    """The response score of an op's output (first batch item), None without a scale."""
    if scales is None or out.dim() - 2 != len(scales):
        return None
    return response_score(out[0].detach().to("cpu", torch.float64).numpy(), scales)


@dataclass
class _Frame:
    path: str
    module: nn.Module
    claimed: bool = False
    sized: bool = False  # called with more than its input (``up(x, output_size=...)``)


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

    def __init__(self, response: str | None = None) -> None:
        super().__init__()
        self.stack: list[_Frame] = []
        self.ops: list[UpOp] = []
        self.names: Counter[str] = Counter()
        self.feeder: _Feeder | None = None
        self.paths: dict[int, str] = {}  # id(op) -> the path of an upsampling module's op
        self.response = response

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
            self._conv(args, kwargs, out)
        elif self.feeder is not None and torch.is_tensor(out):
            self._follow(func, args, kwargs, out)
        if found is None or not torch.is_tensor(out):
            return out
        kind, fname = found
        bound = _bind(kind, args, kwargs)
        frame = self.stack[-1] if self.stack else None
        module = frame is not None and not frame.claimed and _owner(frame.module, kind)
        if frame is not None and module:
            frame.claimed = True
            base, op_type = frame.path or type(frame.module).__name__, type(frame.module).__name__
        else:
            path = frame.path if frame is not None else ""
            base, op_type = (f"{path}:{fname}" if path else fname), f"F.{fname}"
        op = self._record(base, op_type, kind, bound, out, module)
        if op is not None and module and frame is not None:
            self.paths[id(op)] = frame.path
        if op is not None and module and frame is not None and frame.sized and kind == "convT":
            op.params["output_size_call"] = True
        if op is not None and self.response is not None:
            x = bound["input"]
            call = (constant_like(x), *args[1:]) if args and args[0] is x else args
            extra = {**kwargs, "input": constant_like(x)} if "input" in kwargs else kwargs
            op.response[self.response] = score_output(func(*call, **extra), op_scales(op))
        return out

    def _conv(self, args: tuple[Any, ...], kwargs: dict[str, Any], out: torch.Tensor) -> None:
        names = ("input", "weight", "bias", "stride", "padding", "dilation", "groups")
        bound = dict(zip(names, args, strict=False))
        bound.update(kwargs)
        frame = self.stack[-1] if self.stack else None
        n = out.dim() - 2
        module = frame.module if frame is not None else None
        if isinstance(module, _CONV_MODULES) and bound["weight"] is module.weight:
            # a Conv module: its own attributes, whatever its forward passed (padding_mode
            # pads before the call and passes padding 0)
            bound.update(
                stride=module.stride,
                padding=module.padding,
                dilation=module.dilation,
                groups=module.groups,
            )
        padding = bound.get("padding", 0)
        params: dict[str, Any] = {
            "stride": _axes(bound.get("stride", 1), n),
            "padding": padding if isinstance(padding, str) else _axes(padding, n),
            "dilation": _axes(bound.get("dilation", 1), n),
            "groups": int(bound.get("groups", 1)),
            "padding_mode": getattr(module, "padding_mode", "zeros"),
            "bias": torch.is_tensor(bound.get("bias")),
            "module": isinstance(module, _CONV_MODULES),
            "via": [],
        }
        path = frame.path if frame is not None else ""
        self.feeder = _Feeder(out, path, bound["weight"], bound.get("bias"), params)

    def _follow(
        self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: torch.Tensor
    ) -> None:
        """Follow the last conv's output through an elementwise function (in place or not) or
        a per-channel norm (a BatchNorm in eval mode is folded into the conv's weight and bias,
        so the judge sees what the shuffle gets)."""
        feeder = self.feeder
        assert feeder is not None
        x = args[0] if args else kwargs.get("input")
        if x is not feeder.tensor or out.shape != x.shape:
            return
        name = getattr(func, "__name__", "")
        norm = _NORM_FUNCS.get(func) if callable(func) else None
        frame = self.stack[-1] if self.stack else None
        if frame is not None and frame.path and (name in _ELEMENTWISE or norm is not None):
            # a module on the way (nn.ReLU, the norm): its shape changes with a resize-conv
            feeder.params.setdefault("via_paths", []).append(frame.path)
        if name in _ELEMENTWISE:
            feeder.tensor = out
            feeder.params["via"].append(name.rstrip("_"))
        elif norm is not None and "norm" not in feeder.params:
            module = frame.module if frame is not None else None
            record: dict[str, Any] = {
                "function": norm,
                "type": type(module).__name__ if isinstance(module, _NORM_MODULES) else norm,
                "module": isinstance(module, _NORM_MODULES),
                "path": frame.path if frame is not None else "",
            }
            for key in ("eps", "momentum", "affine", "track_running_stats", "num_groups"):
                if hasattr(module, key):
                    record[key] = getattr(module, key)
            feeder.params["norm"] = record
            feeder.params["via"].append(norm)
            feeder.tensor = out
            if norm == "batch_norm":
                self._fold(args, kwargs)

    def _fold(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """An eval-mode batch norm is per channel a * x + b: fold it into the feeder."""
        feeder = self.feeder
        assert feeder is not None
        names = ("input", "running_mean", "running_var", "weight", "bias", "training")
        bound = dict(zip((*names, "momentum", "eps"), args, strict=False))
        bound.update(kwargs)
        mean, var = bound.get("running_mean"), bound.get("running_var")
        if bound.get("training") or not (torch.is_tensor(mean) and torch.is_tensor(var)):
            return
        scale = 1.0 / torch.sqrt(var + float(bound.get("eps", 1e-5)))
        if torch.is_tensor(bound.get("weight")):
            scale = scale * bound["weight"]
        shift = -mean * scale
        if torch.is_tensor(bound.get("bias")):
            shift = shift + bound["bias"]
        weight = feeder.weight
        feeder.weight = weight * scale.reshape(-1, *([1] * (weight.dim() - 1)))
        bias = feeder.bias if torch.is_tensor(feeder.bias) else torch.zeros_like(shift)
        feeder.bias = bias * scale + shift

    def _record(
        self,
        base: str,
        op_type: str,
        kind: str,
        bound: dict[str, Any],
        out: torch.Tensor,
        module: bool,
    ) -> UpOp | None:
        """Keep an op under a unique name; an interpolation that enlarges no spatial axis (an
        encoder's ``scale_factor=0.5``, a resize to the same size) is a resize down, not an
        upsampling, and is left out."""
        if kind == "interpolate":
            spatial = zip(bound["input"].shape[2:], out.shape[2:], strict=True)
            if not any(o > i for i, o in spatial):
                return None
        op = self._make(self._name(base), op_type, kind, bound, out)
        op.module = module
        op.output_non_finite = not_finite(out)
        self.ops.append(op)
        return op

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
                "bias": torch.is_tensor(bound.get("bias")),
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
            feeder = self.feeder
            if feeder is not None and feeder.tensor is x:
                weight = feeder.weight.detach().to("cpu", torch.float64).numpy()
                op.feeding_conv = (feeder.path, weight)
                op.feeding_params = dict(feeder.params)
                if torch.is_tensor(feeder.bias):
                    op.feeding_bias = feeder.bias.detach().to("cpu", torch.float64).numpy()
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
        name = frame.path or type(module).__name__
        op = self._record(name, type(module).__name__, kind, bound, out, True)
        if op is not None:
            self.paths[id(op)] = frame.path


def not_finite(value: Any) -> list[str]:
    """``["NaN", "inf"]``: what the tensors in ``value`` (a tensor, or a tuple, list or dict of
    them) hold that is not a finite number; meta tensors hold no values."""
    if isinstance(value, list | tuple):
        found = [word for item in value for word in not_finite(item)]
    elif isinstance(value, dict):
        found = [word for item in value.values() for word in not_finite(item)]
    elif torch.is_tensor(value) and value.is_floating_point() and value.device.type != "meta":
        found = []
        if bool(torch.isnan(value).any()):
            found.append("NaN")
        if bool(torch.isinf(value).any()):
            found.append("inf")
    else:
        return []
    return sorted(set(found), key=found.index)


def trace(
    model: nn.Module,
    inputs: Sequence[torch.Tensor],
    response: str | None = None,
    outputs: list[Any] | None = None,
) -> list[UpOp]:
    """Run ``model(*inputs)`` once (eval, no_grad) and return its upsampling ops in call order;
    with ``response``, each op's response score is kept under that key; ``outputs``, if given,
    receives the model's output."""
    recorder = _Recorder(response)
    handles = []
    for path, module in model.named_modules():

        def pre(mod: nn.Module, args: Any, kwargs: Any, path: str = path) -> None:
            recorder.stack.append(_Frame(path, mod, sized=len(args) > 1 or bool(kwargs)))

        def post(mod: nn.Module, args: Any, out: Any) -> None:
            while recorder.stack:
                frame = recorder.stack.pop()
                if frame.module is mod:
                    if not frame.claimed:
                        recorder.fallback(frame, args, out)
                    break

        handles.append(module.register_forward_pre_hook(pre, with_kwargs=True))
        handles.append(module.register_forward_hook(post, always_call=True))
    model.eval()
    try:
        with torch.no_grad(), recorder, contain.time_limit():
            out = model(*inputs)
        if outputs is not None:
            outputs.append(out)
    except UpscopeError:
        raise
    except BaseException as exc:  # noqa: BLE001 - the user's forward: one line
        if contain.passes(exc):
            raise
        shapes = ", ".join("x".join(map(str, t.shape)) for t in inputs)
        raise contain.model_failure(exc, f"the forward pass with input shape {shapes}") from None
    finally:
        for handle in handles:
            handle.remove()
        recorder.feeder = None
    for op in recorder.ops:
        paths = [op.name.split("#")[0]] if op.module else []
        if op.feeding_conv is not None:
            paths.append(op.feeding_conv[0])
        norm = op.feeding_params.get("norm")
        if norm is not None:
            paths.append(norm["path"])
        op.access = {path: access(model, path) for path in paths if path}
        where = recorder.paths.get(id(op))  # "" for the model itself (a bare module)
        if where is not None:
            wraps = weight_wrappers(model.get_submodule(where) if where else model)
            if wraps:
                op.params["weight_wrappers"] = wraps
    return recorder.ops


def weight_wrappers(module: nn.Module) -> list[str]:
    """What computes ``module.weight``: its parametrizations (``_WeightNorm``, ...) or
    hook-based weight norm / spectral norm; empty for a plain weight."""
    from torch.nn.utils import parametrize

    if parametrize.is_parametrized(module, "weight"):
        chain: Any = module.parametrizations
        return [type(p).__name__ for p in chain["weight"]]
    hooks = module._forward_pre_hooks.values()
    return [type(h).__name__ for h in hooks if getattr(h, "name", None) == "weight"]


def access(model: nn.Module, path: str) -> tuple[str, ...]:
    """How each part of a module path is reached: ``"key"`` in a ModuleDict, ``"index"`` in a
    Sequential or ModuleList (digits), ``"attr"`` otherwise."""
    kinds = []
    parent: nn.Module | None = model
    for name in path.split("."):
        if isinstance(parent, nn.ModuleDict):
            kinds.append("key")
        elif isinstance(parent, nn.Sequential | nn.ModuleList) and name.isdigit():
            kinds.append("index")
        else:
            kinds.append("attr")
        parent = getattr(parent, "_modules", {}).get(name)
    return tuple(kinds)


def make_inputs(
    model: nn.Module, shapes: Sequence[Shape], seed: int, kind: str = "noise"
) -> list[torch.Tensor]:
    """Inputs in the dtype of the model's first floating parameter: ``"constant"`` (all ones) or
    ``"noise"`` (seeded standard normal)."""
    dtype = next(
        (p.dtype for p in model.parameters() if p.is_floating_point()), torch.get_default_dtype()
    )
    if kind == "constant":
        return [torch.ones(shape, dtype=dtype) for shape in shapes]
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(shape, generator=gen, dtype=dtype) for shape in shapes]
