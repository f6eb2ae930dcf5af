"""The zoo: exact sizes, transposed-conv parameters, overlap of an all-ones kernel, ICNR, seeds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from upscope import arith, metrics, upsamplers, zoo
from upscope.errors import UpscopeError


@settings(max_examples=60)
@given(
    name=st.sampled_from(upsamplers.NAMES),
    scale=st.integers(2, 4),
    h=st.integers(5, 16),
    w=st.integers(5, 16),
    channels=st.integers(1, 3),
)
def test_every_method_scales_exactly(name: str, scale: int, h: int, w: int, channels: int) -> None:
    torch.manual_seed(0)
    layer = upsamplers.create(name, channels, scale)
    with torch.no_grad():
        y = layer(torch.randn(2, channels, h, w))
    assert tuple(y.shape) == (2, channels, scale * h, scale * w)


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("name", ["convT-even", "convT-uneven"])
def test_convt_params_come_from_the_solver_and_scale_exactly(name: str, scale: int) -> None:
    k, s, p, op = upsamplers.convt_params(name, scale)
    assert s == scale
    assert (k % s == 0) == (name == "convT-even")
    assert arith.overlap_verdict(k, s) == ("even" if name == "convT-even" else "checkerboard")
    sols = arith.solve_axis(10, 10 * scale)
    assert arith.Solution(k, s, p, op, 1) in sols
    for i in (1, 7, 13):
        assert arith.convt_output(i, k, s, p, op) == i * scale
        layer = nn.ConvTranspose2d(1, 1, k, stride=s, padding=p, output_padding=op)
        assert layer(torch.zeros(1, 1, i, i)).shape[-1] == i * scale


def test_scale_two_parameters_are_the_design_choices() -> None:
    assert upsamplers.convt_params("convT-uneven", 2) == (3, 2, 1, 1)
    assert upsamplers.convt_params("convT-even", 2) == (4, 2, 1, 0)


def _overlap_map(n: int, k: int, s: int, p: int, op: int) -> np.ndarray:
    """Brute force: how many (input i, tap j) pairs land on output o = i*S - P + j, per axis."""
    out = (n - 1) * s - 2 * p + k + op
    counts = np.zeros(out, dtype=np.int64)
    for i in range(n):
        for j in range(k):
            o = i * s - p + j
            if 0 <= o < out:
                counts[o] += 1
    return np.outer(counts, counts)


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("name", ["convT-even", "convT-uneven"])
def test_all_ones_kernel_reproduces_the_overlap_map(name: str, scale: int) -> None:
    layer = upsamplers.create(name, 1, scale)
    assert isinstance(layer, nn.ConvTranspose2d)
    with torch.no_grad():
        layer.weight.fill_(1.0)
        layer.bias.zero_()
        y = layer(torch.ones(1, 1, 12, 12))[0, 0].numpy()
    k, s, p, op = upsamplers.convt_params(name, scale)
    expected = _overlap_map(12, k, s, p, op)
    np.testing.assert_array_equal(y, expected)
    # and its imbalance: interior phases get c_a * c_b taps, energies (c_a c_b)^2
    cov = np.array(arith.phase_coverage(k, s), dtype=float)
    energies = np.outer(cov, cov) ** 2
    want = (energies.max() - energies.min()) / energies.mean()
    assert metrics.phase_imbalance(y, scale) == pytest.approx(want, rel=1e-12)
    assert (want > 0) == (name == "convT-uneven")


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_icnr_is_conv_then_nearest_and_nearest_then_dilated_conv(scale: int) -> None:
    c = 3
    torch.manual_seed(5)
    layer = upsamplers.create("pixelshuffle-icnr", c, scale)
    conv = layer[0]
    weight = conv.weight.detach()
    bias = conv.bias.detach()
    r2 = scale * scale
    # the S^2 sub-kernels of every output channel are identical copies (repeat_interleave)
    grouped = weight.view(c, r2, *weight.shape[1:])
    assert torch.equal(grouped, grouped[:, :1].expand_as(grouped))
    assert torch.equal(bias.view(c, r2), bias.view(c, r2)[:, :1].expand(c, r2))
    small_w, small_b = weight[::r2], bias[::r2]
    x = torch.randn(2, c, 6, 7)
    with torch.no_grad():
        y = layer(x)
        conv_then_nearest = F.interpolate(
            F.conv2d(x, small_w, small_b, padding=1), scale_factor=scale, mode="nearest"
        )
        nearest_then_conv = F.conv2d(
            F.interpolate(x, scale_factor=scale, mode="nearest"),
            small_w,
            small_b,
            padding=scale,
            dilation=scale,
        )
    torch.testing.assert_close(y, conv_then_nearest, rtol=0, atol=1e-6)
    torch.testing.assert_close(y, nearest_then_conv, rtol=0, atol=1e-6)


def test_plain_pixelshuffle_is_not_icnr() -> None:
    torch.manual_seed(5)
    conv = upsamplers.create("pixelshuffle", 2, 2)[0]
    grouped = conv.weight.detach().view(2, 4, *conv.weight.shape[1:])
    assert not torch.equal(grouped[:, 0], grouped[:, 1])


@pytest.mark.parametrize("name", upsamplers.NAMES)
def test_same_seed_same_layer(name: str) -> None:
    x = torch.randn(1, 2, 6, 6)

    def run(seed: int) -> torch.Tensor:
        torch.manual_seed(seed)
        with torch.no_grad():
            return upsamplers.create(name, 2, 3)(x)

    assert torch.equal(run(1), run(1))
    assert torch.equal(run(1), run(2)) == (not upsamplers.is_learned(name))


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("convT-odd", 2, 2), "convT-odd"),
        (("nearest", 2, 0), "scale"),
        (("nearest", 2, 5), "5"),
        (("nearest", 2, True), "True"),
        (("nearest", 0, 2), "channels"),
    ],
)
def test_bad_arguments_name_the_value(args: tuple, needle: str) -> None:
    with pytest.raises(UpscopeError, match=needle) as info:
        upsamplers.create(*args)
    if args[0] == "convT-odd":
        assert all(name in str(info.value) for name in upsamplers.NAMES)


def test_registry_helpers() -> None:
    assert len(upsamplers.NAMES) == 9
    assert [n for n in upsamplers.NAMES if not upsamplers.is_learned(n)] == [
        "nearest",
        "bilinear",
        "bicubic",
    ]
    assert upsamplers.parse_names("all") == upsamplers.NAMES
    assert upsamplers.parse_names("nearest, convT-even,nearest") == ("nearest", "convT-even")
    with pytest.raises(UpscopeError, match="bogus"):
        upsamplers.parse_names("nearest,bogus")
    with pytest.raises(UpscopeError, match="not a transposed"):
        upsamplers.convt_params("nearest", 2)


def test_torch_free_names_are_the_registry_keys_in_order() -> None:
    """upscope.zoo (checked by the CLI before torch loads) and the factories agree, in order."""
    assert tuple(upsamplers._REGISTRY) == zoo.NAMES
    assert upsamplers.NAMES is zoo.NAMES
    for name in zoo.NAMES:  # the torch-free table says which methods have weights: true?
        has_weights = any(p.numel() for p in upsamplers.create(name, 2, 2).parameters())
        assert zoo.is_learned(name) == has_weights, name


def test_zoo_module_imports_nothing_heavy() -> None:
    code = (
        "import sys, upscope.zoo, upscope.probe_config\n"
        "print(sorted(m for m in ('torch', 'numpy', 'matplotlib', 'PIL') if m in sys.modules))"
    )
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert proc.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("text", "needle"),
    [("", "is empty"), (" , ", "is empty"), ("a,,b", "empty item"), ("nearest,", "empty item"),
     ("bogus", "'bogus'"), ("all,nearest", "'all' cannot be combined")],
)  # fmt: skip
def test_parse_names_refuses_with_one_line(text: str, needle: str) -> None:
    with pytest.raises(UpscopeError, match="--methods") as info:
        zoo.parse_names(text)
    assert needle in str(info.value) and "\n" not in str(info.value)
