"""Initialisers that make an upsampling layer start without a checkerboard, in place.

- :func:`zoh_` (zero-order hold, Sugawara, Shiota & Kiya 2019): a transposed conv's kernel
  becomes a random kernel convolved with a box of S ones per axis, so the S polyphase
  sub-kernel sums of every output channel are equal and a constant input gives a constant
  output away from the border.
- :func:`icnr_` (Aitken et al. 2017): the conv before ``PixelShuffle(S)`` gets each output
  channel repeated S^2 times consecutively (``repeat_interleave`` on dim 0), so conv + shuffle
  starts as conv + nearest upsampling.

Both write **through parametrizations**: a layer under
``torch.nn.utils.parametrizations.weight_norm`` (HiFi-GAN's layers) or ``spectral_norm``, or the
older hook-based ``torch.nn.utils.weight_norm`` / ``spectral_norm``, gets its original
parameters written so that the weight its forward uses is the intended one (spectral norm: the
intended one divided by its spectral norm, a positive scalar, so the balance holds). A
parametrization that cannot give the intended weight back is refused with an
:class:`~upscope.errors.UpscopeError` naming it, never silently ignored.

Balanced now does not mean balanced after training: every output phase still has its own
parameters, so training can learn a grid again (``upscope scan`` calls such a layer ``risk``).

Importing this module loads neither torch nor matplotlib; torch is imported when a function is
called. :mod:`upscope.scanning.fix` copies these functions' source into the self-contained
variant of its fix code, so they use only torch, ``math`` and ``itertools``.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

from upscope.errors import UpscopeError

__all__ = ["icnr_", "zoh_"]


def zoh_(conv_transpose: Any, generator: Any = None) -> Any:
    """Zero-order-hold init of an ``nn.ConvTranspose1d/2d/3d``, in place; returns the layer.

    The kernel becomes a random kernel of size K - S + 1 per axis (drawn as ConvTranspose's
    default init draws, from ``generator`` or torch's global RNG) fully convolved with a box
    of S ones per axis, divided by the box's size: every polyphase sub-kernel (taps
    ``n*S + i``) of every (input, output) channel pair then has the same sum. Needs K >= S and
    a dilation coprime to S on every axis (otherwise some phase gets no tap: holes).

    >>> import torch
    >>> from torch import nn
    >>> up = nn.utils.parametrizations.weight_norm(nn.ConvTranspose1d(2, 3, 16, 8, 4))
    >>> _ = zoh_(up)
    >>> sums = up.weight.reshape(2, 3, 2, 8).sum(dim=(0, 2))  # per output channel and phase
    >>> bool(torch.allclose(sums, sums[:, :1].expand(3, 8), atol=1e-6))
    True
    """
    import torch
    from torch import nn

    layer = conv_transpose
    kinds = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
    if not isinstance(layer, kinds):
        raise UpscopeError(f"zoh_ takes an nn.ConvTranspose1d/2d/3d, got {type(layer).__name__}")
    stride, kernel, dilation = layer.stride, layer.kernel_size, layer.dilation
    for k, s, d in zip(kernel, stride, dilation, strict=True):
        if k < s or math.gcd(d, s) != 1:
            raise UpscopeError(
                f"zoh_ needs a kernel at least as large as the stride and a dilation coprime "
                f"to it on every axis (got kernel {tuple(kernel)}, stride {tuple(stride)}, "
                f"dilation {tuple(dilation)}): otherwise some output phase gets no tap"
            )
    current = layer.weight
    size = [k - s + 1 for k, s in zip(kernel, stride, strict=True)]
    small = torch.empty(*current.shape[:2], *size, dtype=current.dtype, device=current.device)
    seeded = {} if generator is None else {"generator": generator}  # torch >= 2.2 takes it
    nn.init.kaiming_uniform_(small, a=math.sqrt(5), **seeded)  # the layer's default init
    weight = torch.zeros_like(current)
    for shift in itertools.product(*(range(s) for s in stride)):
        window = [slice(o, o + n) for o, n in zip(shift, size, strict=True)]
        weight[(slice(None), slice(None), *window)] += small / math.prod(stride)
    _write(layer, "weight", weight)
    return layer


def icnr_(conv: Any, scale: int, norm: Any = None, generator: Any = None) -> Any:
    """ICNR init of the conv feeding ``PixelShuffle(scale)``, in place; returns the conv.

    Draws a conv with ``out_channels / scale**2`` output channels (nn.Conv's default init, the
    same fan-in) and repeats each of its output channels ``scale**2`` times consecutively
    (``repeat_interleave`` on dim 0, the grouping PixelShuffle reads; ``repeat`` would group
    them wrongly); the bias, if any, likewise (its first entry of each group). With ``norm``,
    the per-channel norm between the conv and the shuffle (BatchNorm, GroupNorm, ...) gets the
    same repetition of its affine parameters and running statistics, so the chain conv -> norm
    -> shuffle starts as conv -> norm -> nearest upsampling.

    >>> import torch
    >>> from torch import nn
    >>> conv = nn.utils.parametrizations.weight_norm(nn.Conv2d(3, 2 * 4, 3, padding=1))
    >>> _ = icnr_(conv, scale=2)
    >>> y = nn.PixelShuffle(2)(conv(torch.ones(1, 3, 6, 6)))[0, :, 2:10, 2:10]  # the interior
    >>> phases = y.reshape(2, 4, 2, 4, 2)  # (channel, row, a, column, b)
    >>> bool(torch.allclose(phases, phases[:, :, :1, :, :1].expand_as(phases), atol=1e-6))
    True
    """
    import torch
    from torch import nn

    if not isinstance(conv, nn.Conv1d | nn.Conv2d | nn.Conv3d):
        raise UpscopeError(f"icnr_ takes an nn.Conv1d/2d/3d, got {type(conv).__name__}")
    if isinstance(scale, bool) or not isinstance(scale, int) or scale < 1:
        raise UpscopeError(f"icnr_: scale must be an int of at least 1, got {scale!r}")
    repeat = scale**2
    out, groups = conv.out_channels, conv.groups
    if out % repeat or (out // groups) % repeat:
        raise UpscopeError(
            f"icnr_: {out} output channels in {groups} group(s) cannot be split into runs of "
            f"scale**2 = {repeat} channels within one group"
        )
    current = conv.weight
    small = torch.empty(
        out // repeat, *current.shape[1:], dtype=current.dtype, device=current.device
    )
    seeded = {} if generator is None else {"generator": generator}  # torch >= 2.2 takes it
    nn.init.kaiming_uniform_(small, a=math.sqrt(5), **seeded)  # nn.Conv's default init
    _write(conv, "weight", small.repeat_interleave(repeat, dim=0))
    if conv.bias is not None:
        _write(conv, "bias", conv.bias.detach()[::repeat].repeat_interleave(repeat))
    if norm is not None:
        for name in ("weight", "bias", "running_mean", "running_var"):
            value = getattr(norm, name, None)
            if torch.is_tensor(value) and value.dim() == 1 and value.numel() == out:
                _write(norm, name, value.detach()[::repeat].repeat_interleave(repeat))
    return conv


def _write(module: Any, name: str, value: Any) -> None:
    """Make ``module.<name>`` as its forward computes it equal to ``value`` (spectral norm: a
    positive multiple of it) by writing the tensors it is computed from; refuse otherwise."""
    import torch
    from torch.nn.utils import parametrize

    hooks = [
        hook
        for hook in module._forward_pre_hooks.values()
        if getattr(hook, "name", None) == name and hasattr(hook, "compute_weight")
    ]
    with torch.no_grad():
        if parametrize.is_parametrized(module, name):
            chain = module.parametrizations[name]
            what = " -> ".join(type(p).__name__ for p in chain)
            try:
                setattr(module, name, value)
            except (NotImplementedError, RuntimeError, ValueError) as exc:
                raise UpscopeError(
                    f"{type(module).__name__}.{name} is parametrized ({what}) without a way to "
                    f"write it ({type(exc).__name__}): initialise the layer before parametrizing"
                ) from None
            if any(hasattr(p, "_power_method") for p in chain):
                training = chain.training
                chain.train()  # spectral norm: power iterations on the new weight
                for _ in range(30):
                    getattr(module, name)
                chain.train(training)
        elif hooks:
            hook = hooks[0]
            what = type(hook).__name__
            if hasattr(module, name + "_g") and hasattr(module, name + "_v"):  # weight_norm
                getattr(module, name + "_g").copy_(torch.norm_except_dim(value, 2, hook.dim))
                getattr(module, name + "_v").copy_(value)
                setattr(module, name, hook.compute_weight(module))
            elif hasattr(module, name + "_orig") and hasattr(module, name + "_u"):  # spectral
                getattr(module, name + "_orig").copy_(value)
                for _ in range(30):
                    hook.compute_weight(module, do_power_iteration=True)
                setattr(module, name, hook.compute_weight(module, do_power_iteration=False))
            else:
                raise UpscopeError(
                    f"{type(module).__name__}.{name} is computed by a {what} hook that cannot be "
                    "written through: initialise the layer before adding it"
                )
        else:
            what = "plain"
            getattr(module, name).copy_(value)
        got = getattr(module, name).detach()
    size = float((value * value).sum())
    scale = float((got * value).sum()) / size if size > 0 else 1.0
    error = float((got - scale * value).norm()) if scale > 0 else math.inf
    if error > 1e-4 * float(got.norm()) + 1e-12:
        raise UpscopeError(
            f"{type(module).__name__}.{name} ({what}) does not give back the value written: "
            "cannot initialise through it; initialise the layer before parametrizing it"
        )
