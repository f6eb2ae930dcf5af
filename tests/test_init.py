"""``upscope.init``: ``zoh_`` and ``icnr_`` in place, on plain layers and through weight norm and
spectral norm (torch.nn.utils.parametrizations and the older hook-based functions).

torch is the oracle: after ``zoh_`` the layer itself (bias removed) maps a constant input to a
per-channel constant away from the border, and the polyphase sums computed here by slicing the
kernel are equal; after ``icnr_`` the conv + PixelShuffle output on a constant input has the
same value in every phase.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.nn.utils import parametrizations, parametrize

from upscope.errors import UpscopeError
from upscope.init import icnr_, zoh_

# the hook-based torch.nn.utils.weight_norm is deprecated, and still what HiFi-GAN's code uses
pytestmark = pytest.mark.filterwarnings("ignore:.*weight_norm.* is deprecated:FutureWarning")

WRAPS: dict[str, Callable[[nn.Module], nn.Module]] = {
    "plain": lambda m: m,
    "weight_norm": lambda m: parametrizations.weight_norm(m),
    "spectral_norm": lambda m: parametrizations.spectral_norm(m),
    "old_weight_norm": lambda m: torch.nn.utils.weight_norm(m),
    "old_spectral_norm": lambda m: torch.nn.utils.spectral_norm(m),
}


def phase_sums(weight: torch.Tensor, stride: tuple[int, ...]) -> torch.Tensor:
    """(C_out, *stride): per output channel, the sum of the taps n*S + i over inputs, per axis."""
    sums = weight.sum(dim=0)
    for axis, s in enumerate(stride, start=1):
        k = sums.shape[axis]
        pad = (-k) % s
        widths = [0, 0] * (sums.dim() - 1 - axis) + [0, pad]
        sums = F.pad(sums, widths).unflatten(axis, (-1, s)).sum(dim=axis)
    return sums


def interior_is_constant(y: torch.Tensor, margin: int) -> bool:
    inner = y[(slice(None), slice(None), *(slice(margin, -margin),) * (y.dim() - 2))]
    flat = inner.flatten(2)
    return bool(torch.allclose(flat, flat[:, :, :1].expand_as(flat), rtol=1e-4, atol=1e-5))


@pytest.mark.parametrize("wrap", list(WRAPS))
@pytest.mark.parametrize(
    ("make", "shape"),
    [
        (lambda: nn.ConvTranspose1d(3, 4, 16, 8, 4), (1, 3, 12)),  # HiFi-GAN's first layer
        (lambda: nn.ConvTranspose2d(3, 5, 3, 2, 1, 1), (1, 3, 9, 9)),
        (lambda: nn.ConvTranspose2d(4, 6, (4, 5), (2, 3), 1, groups=2), (1, 4, 8, 8)),
        (lambda: nn.ConvTranspose3d(2, 2, 4, 2, 1), (1, 2, 5, 5, 5)),
    ],
    ids=["1d-k16-s8", "2d-k3-s2", "2d-groups-per-axis", "3d"],
)
def test_zoh_balances_every_output_channel(wrap: str, make, shape) -> None:
    torch.manual_seed(0)
    layer = WRAPS[wrap](make())
    layer.eval()
    assert zoh_(layer) is layer
    weight = layer.weight.detach()
    groups = layer.groups
    chunks = weight.chunk(groups, dim=0)  # each group's inputs feed its own outputs
    for chunk in chunks:
        sums = phase_sums(chunk, layer.stride)
        flat = sums.flatten(1)
        assert torch.allclose(flat, flat[:, :1].expand_as(flat), rtol=1e-4, atol=1e-6)
        assert flat.abs().max() > 1e-3  # not balanced by being zero
    with torch.no_grad():
        layer.bias.zero_()  # the layer itself is the oracle, its bias aside
        out = layer(torch.ones(shape))
    assert interior_is_constant(out, max(layer.kernel_size))


@pytest.mark.parametrize("wrap", list(WRAPS))
@pytest.mark.parametrize(("scale", "groups"), [(2, 1), (3, 1), (2, 2)])
def test_icnr_makes_conv_and_shuffle_phase_free(wrap: str, scale: int, groups: int) -> None:
    torch.manual_seed(1)
    conv = WRAPS[wrap](nn.Conv2d(4, 3 * 2 * scale**2, 3, padding=1, groups=groups))
    conv.eval()
    assert icnr_(conv, scale) is conv
    with torch.no_grad():
        y = nn.PixelShuffle(scale)(conv(torch.ones(1, 4, 7, 7)))[0]
    inner = y[:, scale:-scale, scale:-scale]  # away from the zero padding
    phases = inner.unflatten(1, (-1, scale)).unflatten(3, (-1, scale))  # (c, h, a, w, b)
    first = phases[:, :, :1, :, :1].expand_as(phases)
    assert torch.allclose(phases, first, rtol=1e-4, atol=1e-6)
    assert phases.std() > 1e-4  # the channels differ: a real conv, not zeros


def test_icnr_repeats_with_repeat_interleave_and_keeps_the_norm_balanced() -> None:
    torch.manual_seed(2)
    conv, norm = nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8)
    with torch.no_grad():
        norm.running_mean.uniform_(-1, 1)
        norm.running_var.uniform_(0.5, 2)
        norm.weight.uniform_(0.5, 2)
    icnr_(conv, 2, norm=norm)
    w = conv.weight.detach()
    assert torch.equal(w, w[::4].repeat_interleave(4, dim=0))  # not w[:2].repeat(4, 1, 1, 1)
    for name in ("weight", "bias", "running_mean", "running_var"):
        v = getattr(norm, name).detach()
        assert torch.equal(v, v[::4].repeat_interleave(4))
    net = nn.Sequential(conv, norm, nn.PixelShuffle(2)).eval()
    with torch.no_grad():
        y = net(torch.ones(1, 3, 6, 6))[0, :, 2:10, 2:10]
    assert torch.allclose(y[:, 0::2], y[:, 1::2], atol=1e-6)
    assert torch.allclose(y[:, :, 0::2], y[:, :, 1::2], atol=1e-6)


@settings(max_examples=15)
@given(k=st.integers(1, 7), s=st.integers(1, 4), d=st.integers(1, 3), seed=st.integers(0, 99))
def test_zoh_balances_or_refuses_for_any_geometry(k: int, s: int, d: int, seed: int) -> None:
    layer = nn.ConvTranspose1d(2, 3, k, s, dilation=d, bias=False)
    gen = torch.Generator().manual_seed(seed)
    if k < s or torch.gcd(torch.tensor(d), torch.tensor(s)).item() != 1:
        with pytest.raises(UpscopeError, match="no tap"):
            zoh_(layer, generator=gen)
        return
    zoh_(layer, generator=gen)
    with torch.no_grad():
        out = layer(torch.ones(1, 2, 24))
    margin = d * (k - 1) + s
    assert interior_is_constant(out, margin)


class Doubling(nn.Module):
    """A parametrization with no right_inverse: its weight cannot be written through it."""

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return 2 * w


class Squaring(nn.Module):
    """A parametrization whose right_inverse does not invert it."""

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return w * w

    def right_inverse(self, w: torch.Tensor) -> torch.Tensor:
        return w


@pytest.mark.parametrize("kind", [Doubling, Squaring])
def test_a_parametrization_that_cannot_be_written_through_is_refused(kind) -> None:
    layer = nn.ConvTranspose2d(2, 2, 4, 2, 1)
    parametrize.register_parametrization(layer, "weight", kind())
    with pytest.raises(UpscopeError, match="parametrize|does not give back"):
        zoh_(layer)


def test_bad_arguments() -> None:
    with pytest.raises(UpscopeError, match="ConvTranspose"):
        zoh_(nn.Conv2d(2, 2, 3))
    with pytest.raises(UpscopeError, match="scale"):
        icnr_(nn.Conv2d(2, 8, 3), 0)
    with pytest.raises(UpscopeError, match="runs of scale"):
        icnr_(nn.Conv2d(2, 6, 3), 2)
    with pytest.raises(UpscopeError, match="within one group"):
        icnr_(nn.Conv2d(4, 8, 3, groups=4), 2)  # 2 channels per group: a run of 4 splits


def test_importing_it_loads_neither_torch_nor_matplotlib() -> None:
    code = "import sys, upscope.init; print('torch' in sys.modules, 'matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
