"""Walk a user's model, find every upsampling operation in call order, and judge it.

Three steps, each returning plain data:

1. :func:`load_model` imports ``file.py:Name`` or ``package.module:Name`` (this executes that
   Python file, as any import does), builds it, and :func:`load_weights` loads a state dict.
2. :func:`trace` runs one forward pass under ``torch.no_grad()`` with forward pre/post hooks on
   every module (a stack of which module is running) and a ``TorchFunctionMode`` that sees every
   call of ``F.conv_transpose{1,2,3}d``, ``F.interpolate`` (``F.upsample*`` call it) and
   ``F.pixel_shuffle``. A call made by an upsampling module inside its own forward
   (``nn.ConvTranspose2d`` -> ``F.conv_transpose2d``, ``nn.Upsample`` -> ``F.interpolate``,
   ``nn.PixelShuffle`` -> ``F.pixel_shuffle``) is that module's op, named by its module path
   (``decoder.up2``). Any other call is named by the module whose forward made it plus the
   function (``decoder.up1:interpolate``; just ``interpolate`` in the root model's forward). A
   name seen again (a module called twice) gets ``#2``, ``#3``.
3. :func:`judge` gives each op its overlap verdict, the polyphase weight imbalance of its kernel,
   the compound overlap map of the transposed convolutions that feed one another, and a flag.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import math
import os
import re
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from upscope import arith
from upscope.errors import UpscopeError
from upscope.metrics import polyphase_sums, weight_imbalance
from upscope.overlap import OverlapResult, convt_overlap, stack_overlap

#: An op whose mean per-channel weight imbalance exceeds this is flagged (see the README).
IMBALANCE_THRESHOLD = 0.1

Shape = tuple[int, ...]

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


# ---------------------------------------------------------------- loading


def parse_input_shape(text: str) -> Shape:
    """``"1x100x1x1"`` -> ``(1, 100, 1, 1)``; every dimension at least 1.

    >>> parse_input_shape("1x3x64x64")
    (1, 3, 64, 64)
    """
    if not re.fullmatch(r"\s*\d+(\s*[xX]\s*\d+)*\s*", text):
        raise UpscopeError(f"--input-shape must be sizes joined by x, e.g. 1x100x1x1, got {text!r}")
    shape = tuple(int(part) for part in re.split(r"[xX]", text.replace(" ", "")))
    if min(shape) < 1:
        raise UpscopeError(f"--input-shape sizes must be at least 1, got {text!r}")
    return shape


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0].strip() if text else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def _import_target(spec: str) -> tuple[Any, str]:
    if ":" not in spec:
        raise UpscopeError(
            f"MODEL must be path/to/file.py:Name or package.module:Name, got {spec!r}"
        )
    where, name = spec.rsplit(":", 1)
    if not where or not name:
        raise UpscopeError(
            f"MODEL must be path/to/file.py:Name or package.module:Name, got {spec!r}"
        )
    if where.endswith(".py") or "/" in where or "\\" in where:
        path = Path(where)
        if not path.is_file():
            raise UpscopeError(f"model file {where!r} not found")
        stem = re.sub(r"\W", "_", path.stem)
        digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:10]
        module_name = f"_upscope_model_{stem}_{digest}"
        mod_spec = importlib.util.spec_from_file_location(module_name, path)
        if mod_spec is None or mod_spec.loader is None:
            raise UpscopeError(f"cannot import {where!r} as a Python file")
        module = importlib.util.module_from_spec(mod_spec)
        sys.modules[module_name] = module
        folder = str(path.resolve().parent)
        sys.path.insert(0, folder)
        try:
            mod_spec.loader.exec_module(module)
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - the user's file: report it
            sys.modules.pop(module_name, None)
            raise UpscopeError(f"importing {where!r} failed: {_first_line(exc)}") from None
        finally:
            if folder in sys.path:
                sys.path.remove(folder)
    else:
        # like `python -m` and uvicorn: the current directory is searched first, so that
        # `samples.models:UNet` works from a checkout with the `upscope` console script too
        cwd = os.getcwd()
        sys.path.insert(0, cwd)
        try:
            module = importlib.import_module(where)
        except ModuleNotFoundError as exc:
            raise UpscopeError(f"cannot import module {where!r}: {_first_line(exc)}") from None
        except (Exception, SystemExit) as exc:  # noqa: BLE001
            raise UpscopeError(f"importing {where!r} failed: {_first_line(exc)}") from None
        finally:
            if sys.path and sys.path[0] == cwd:
                del sys.path[0]
            elif cwd in sys.path:
                sys.path.remove(cwd)
    obj: Any = module
    for part in name.split("."):
        if not hasattr(obj, part):
            raise UpscopeError(f"{where!r} has no attribute {name!r}")
        obj = getattr(obj, part)
    return obj, name


def load_model(spec: str, seed: int = 0) -> nn.Module:
    """Import MODEL and build it: an nn.Module subclass or a no-argument factory.

    torch (and Python's ``random``, numpy) are seeded with ``seed`` before the constructor runs,
    so default initialisations are reproducible.
    """
    obj, name = _import_target(spec)
    if isinstance(obj, nn.Module):
        return obj
    if not callable(obj):
        raise UpscopeError(
            f"{name!r} is {_article(type(obj).__name__)} {type(obj).__name__}, "
            "not an nn.Module subclass or a factory"
        )
    if isinstance(obj, type) and not issubclass(obj, nn.Module):
        raise UpscopeError(f"{name!r} is a class but not an nn.Module subclass")
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    import random

    random.seed(seed)
    try:
        model = obj()
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - the user's constructor
        raise UpscopeError(
            f"building {name}() failed (it must take no arguments): {_first_line(exc)}"
        ) from None
    if not isinstance(model, nn.Module):
        raise UpscopeError(
            f"{name}() returned a {type(model).__name__}, not an nn.Module; "
            "give an nn.Module subclass or a factory that returns one"
        )
    return model


def _few(keys: Sequence[str], n: int = 3) -> str:
    shown = ", ".join(repr(k) for k in list(keys)[:n])
    return shown + (f" and {len(keys) - n} more" if len(keys) > n else "")


def load_weights(model: nn.Module, path: Path) -> None:
    """Load a state dict saved with ``torch.save`` (``weights_only=True``: no code runs).

    A plain state dict, or a dict holding one under ``"state_dict"``; a ``module.`` prefix on
    every key (DataParallel) is removed. Keys must match the model exactly.
    """
    if not path.is_file():
        raise UpscopeError(f"--weights file {str(path)!r} not found")
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - a bad or unsafe file
        reason = _first_line(exc)
        if "Weights only load failed" in str(exc):
            reason = (
                "it holds Python objects besides tensors, which upscope does not execute; "
                "save model.state_dict() with torch.save and pass that file"
            )
        raise UpscopeError(
            f"--weights {str(path)!r} could not be loaded as a state dict "
            f"(torch.load with weights_only=True): {reason}"
        ) from None
    if isinstance(loaded, dict) and isinstance(loaded.get("state_dict"), dict):
        loaded = loaded["state_dict"]
    if not isinstance(loaded, dict) or not loaded:
        raise UpscopeError(
            f"--weights {str(path)!r} holds a {type(loaded).__name__}, not a state dict "
            "(a dict of parameter name -> tensor, as model.state_dict() gives)"
        )
    bad = [k for k, v in loaded.items() if not isinstance(k, str) or not torch.is_tensor(v)]
    if bad:
        raise UpscopeError(
            f"--weights {str(path)!r} is not a state dict: entries {_few([str(b) for b in bad])} "
            "are not name -> tensor"
        )
    own = model.state_dict()
    if all(k.startswith("module.") for k in loaded) and not any(
        k.startswith("module.") for k in own
    ):
        loaded = {k[len("module.") :]: v for k, v in loaded.items()}
    missing = [k for k in own if k not in loaded]
    unexpected = [k for k in loaded if k not in own]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing ({_few(missing)})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected ({_few(unexpected)})")
        raise UpscopeError(
            f"--weights {str(path)!r} does not match the model: keys " + "; ".join(parts)
        )
    try:
        model.load_state_dict(loaded, strict=True)
    except RuntimeError as exc:
        detail = " ".join(str(exc).split("\n\t")[1:2]) or _first_line(exc)
        raise UpscopeError(f"--weights {str(path)!r} does not fit the model: {detail}") from None


def default_input_shapes(model: nn.Module) -> list[Shape] | None:
    """Shapes of the model's ``example_input_array`` (the PyTorch Lightning convention), if any."""
    example = getattr(model, "example_input_array", None)
    if torch.is_tensor(example):
        return [tuple(example.shape)]
    if isinstance(example, tuple | list) and example and all(torch.is_tensor(t) for t in example):
        return [tuple(t.shape) for t in example]
    return None


# ---------------------------------------------------------------- tracing


@dataclass
class UpOp:
    """One upsampling operation as it was called in the forward pass."""

    name: str
    type: str
    kind: str  # "convT" | "interpolate" | "pixelshuffle"
    input_shape: Shape
    output_shape: Shape
    params: dict[str, Any] = field(default_factory=dict)
    weight: np.ndarray | None = None  # convT: (C_in, C_out / groups, *kernel)
    feeding_conv: tuple[str, np.ndarray] | None = None  # pixel shuffle: the conv right before
    feeding_bias: np.ndarray | None = None  # ... and that conv's bias (None: it has none)

    @property
    def ndim(self) -> int:
        return len(self.input_shape) - 2


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
            name = self._name(frame.path or type(frame.module).__name__)
            op_type = type(frame.module).__name__
        else:
            path = frame.path if frame is not None else ""
            name = self._name(f"{path}:{fname}" if path else fname)
            op_type = f"F.{fname}"
        self.ops.append(self._make(name, op_type, kind, bound, out))
        return out

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
        name = self._name(frame.path or type(module).__name__)
        self.ops.append(self._make(name, type(module).__name__, kind, bound, out))


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


# ---------------------------------------------------------------- judging


def _phase_sums(weight: np.ndarray, stride: Shape, dilation: Shape, groups: int) -> np.ndarray:
    """Polyphase sub-kernel sums (:func:`upscope.metrics.polyphase_sums`) per output channel,
    shape (C_out, *stride); with groups, each output channel sums over its own group's inputs."""
    chunks = np.split(weight, groups, axis=0)
    return np.concatenate([polyphase_sums(chunk, stride, dilation) for chunk in chunks], axis=0)


def _imbalance(sums: np.ndarray) -> np.ndarray:
    """(max - min) / mean |sum| over the phases of each output channel of ``sums`` (C, *S).

    :func:`upscope.metrics.weight_imbalance` of a kernel whose every polyphase sub-kernel is one
    tap holding that sum, which gives back exactly these sums.

    >>> _imbalance(np.array([[[1.0, 1.0], [1.0, 1.0]], [[1.0, 3.0], [1.0, 3.0]]])).tolist()
    [0.0, 1.0]
    """
    return weight_imbalance(sums[np.newaxis], sums.shape[1:])


@dataclass
class Finding:
    """The judgement of one op."""

    op: UpOp
    verdict: str
    interior_ratio: float | None
    note: str
    imbalance: np.ndarray | None = None  # per output channel
    phase_sums: np.ndarray | None = None  # (C_out, *stride) for convT, (C, r, r) pixel shuffle
    chain: list[str] = field(default_factory=list)  # transposed convs of the compound map
    chain_specs: list[arith.LayerSpec] = field(default_factory=list)
    chain_input: Shape = ()  # spatial input size of the first transposed conv of the chain
    reasons: list[str] = field(default_factory=list)
    with_bias: bool = False  # pixel shuffle: the feeding conv's bias is in phase_sums

    @property
    def imbalance_mean(self) -> float | None:
        if self.imbalance is None or np.all(np.isnan(self.imbalance)):
            return None
        return float(np.nanmean(self.imbalance))

    @property
    def imbalance_worst(self) -> float | None:
        if self.imbalance is None or np.all(np.isnan(self.imbalance)):
            return None
        return float(np.nanmax(self.imbalance))

    @property
    def flagged(self) -> bool:
        return bool(self.reasons)

    def compound(self) -> OverlapResult | None:
        """The overlap of the chain of transposed convs ending here (None: too large a map)."""
        if not self.chain_specs:
            return None
        try:
            return stack_overlap(self.chain_specs, self.chain_input)
        except UpscopeError:
            return None

    def compound_map(self) -> np.ndarray | None:
        """The compound overlap-count map, int64, one axis per spatial axis."""
        result = self.compound()
        return None if result is None else result.map


def _spec(op: UpOp) -> arith.LayerSpec:
    prm = op.params
    keys = {"k": "kernel", "s": "stride", "p": "padding", "op": "output_padding", "d": "dilation"}
    per_axis = {short for short, key in keys.items() if len(set(prm[key])) > 1}
    k, s, p, o, d = (tuple(prm[key]) for key in keys.values())
    return arith.convt_spec(k, s, p, o, d, per_axis)


def _overlap(op: UpOp) -> OverlapResult:
    """The overlap core's result for this layer alone on its observed input size.

    If that map would be too large, a 32-pixel input per axis gives the same interior pattern.
    """
    prm = op.params
    k, s, p, o, d = (
        tuple(prm[key]) for key in ("kernel", "stride", "padding", "output_padding", "dilation")
    )
    size = tuple(op.input_shape[2:])
    try:
        return convt_overlap(k, s, p, o, d, size, layers=1)
    except UpscopeError:
        return convt_overlap(k, s, p, o, d, tuple(min(n, 32) for n in size), layers=1)


def _judge_convT(op: UpOp, previous: Finding | None) -> Finding:
    prm = op.params
    result = _overlap(op)
    verdict, ratio = result.verdict, result.interior_ratio
    assert op.weight is not None, "a transposed conv op always records its weight"
    sums = _phase_sums(op.weight, prm["stride"], prm["dilation"], prm["groups"])
    finding = Finding(op, verdict, ratio, result.explanation, _imbalance(sums), sums)
    chained = (
        previous is not None
        and previous.op.kind == "convT"
        and previous.op.ndim == op.ndim
        and previous.op.output_shape[2:] == op.input_shape[2:]
    )
    if chained:
        assert previous is not None
        finding.chain = [*previous.chain, op.name]
        finding.chain_specs = [*previous.chain_specs, _spec(op)]
        finding.chain_input = previous.chain_input
    else:
        finding.chain, finding.chain_specs = [op.name], [_spec(op)]
        finding.chain_input = op.input_shape[2:]
    if verdict == "checkerboard":
        shown = "?" if ratio is None else f"{ratio:g}"
        finding.reasons.append(f"uneven overlap (interior max/min {shown})")
    elif verdict == "holes":
        finding.reasons.append("holes: some output phases get no kernel tap")
    return finding


def _judge_interpolate(op: UpOp) -> Finding:
    prm = op.params
    mode = prm["mode"]
    note = (
        f"{mode} resize: the weights of every output pixel sum to 1, so a constant input stays "
        "constant: no overlap checkerboard"
    )
    ratios = [o / i for o, i in zip(op.output_shape[2:], op.input_shape[2:], strict=True)]
    if mode in ("nearest", "nearest-exact") and any(not float(v).is_integer() for v in ratios):
        note += (
            "; non-integer scale: nearest repeats some rows/columns more often than others "
            "(uneven stretching, not a constant-input checkerboard)"
        )
    return Finding(op, "even", None, note)


def _judge_pixelshuffle(op: UpOp) -> Finding:
    r = op.params["upscale_factor"]
    note = (
        f"pixel shuffle (r={r}) has no overlap: every output pixel comes from one input channel. "
        f"It makes a checkerboard when the {r * r} channels feeding one output channel respond "
        "differently, i.e. the weight (and bias) imbalance of the conv before it (ICNR init makes "
        "them equal)"
    )
    finding = Finding(op, "even", None, note)
    if op.feeding_conv is None:
        finding.note += "; that conv was not found right before it, so it is not measured here"
        return finding
    path, weight = op.feeding_conv
    channels = weight.shape[0]
    if channels % (r * r):
        return finding
    # channel c * r^2 + a * r + b of the conv becomes phase (a, b) of output channel c; its
    # response to a constant input of 1 (away from the border) is its weight sum plus its bias
    response = weight.reshape(channels, -1).sum(axis=1)
    bias = op.feeding_bias
    if bias is not None and bias.shape == (channels,):
        response = response + bias
        measured = "weight sum + bias of each channel (its response to a constant input of 1)"
    else:
        bias = None
        measured = "weight sum of each channel (it has no bias)"
    sums = response.reshape(channels // (r * r), r, r)
    finding.phase_sums = sums
    finding.imbalance = _imbalance(sums)
    finding.with_bias = bias is not None
    finding.note += f"; measured on the conv {path or '(root)'} that feeds it: {measured}"
    return finding


def judge(ops: Sequence[UpOp], threshold: float = IMBALANCE_THRESHOLD) -> list[Finding]:
    """Judge every op in call order; a finding is flagged for uneven overlap, holes, or a
    mean weight imbalance above ``threshold``."""
    findings: list[Finding] = []
    for op in ops:
        previous = findings[-1] if findings else None
        if op.kind == "convT":
            finding = _judge_convT(op, previous)
        elif op.kind == "interpolate":
            finding = _judge_interpolate(op)
        else:
            finding = _judge_pixelshuffle(op)
        mean = finding.imbalance_mean
        if mean is not None and mean > threshold:
            finding.reasons.append(f"weight imbalance {mean:.2f} > {threshold:g}")
        findings.append(finding)
    return findings


def worst(findings: Sequence[Finding]) -> Finding | None:
    """The flagged op with the largest mean weight imbalance (overlap-only flags rank last)."""
    flagged = [f for f in findings if f.flagged]
    if not flagged:
        return None

    def key(f: Finding) -> tuple[float, float]:
        mean = f.imbalance_mean
        return (-math.inf if mean is None else mean, f.interior_ratio or math.inf)

    return max(flagged, key=key)


@dataclass
class ScanResult:
    model: str
    input_shapes: list[Shape]
    shapes_from_model: bool
    findings: list[Finding]
    threshold: float = IMBALANCE_THRESHOLD


def scan(
    spec: str,
    input_shapes: Sequence[Shape] | None = None,
    weights: Path | None = None,
    seed: int = 0,
) -> ScanResult:
    """Load, trace and judge MODEL; the whole of ``upscope scan`` minus the presentation."""
    model = load_model(spec, seed)
    if weights is not None:
        load_weights(model, weights)
    shapes = list(input_shapes or [])
    from_model = False
    if not shapes:
        default = default_input_shapes(model)
        if default is None:
            raise UpscopeError(
                "--input-shape is required (e.g. --input-shape 1x100x1x1): the model defines "
                "no example_input_array"
            )
        shapes, from_model = default, True
    ops = trace(model, make_inputs(model, shapes, seed))
    return ScanResult(spec, shapes, from_model, judge(ops))
