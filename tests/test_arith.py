"""The size arithmetic against torch, the oracle: every kind, 1D and 2D, refusals included."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from upscope import arith
from upscope.arith import Bounds, LayerSpec
from upscope.errors import UpscopeError

N_EXAMPLES = 300


def torch_shape(build, x: torch.Tensor) -> tuple[int, ...] | None:
    """The spatial output shape torch produces, or None where torch refuses."""
    try:
        with torch.no_grad():
            y = build()(x)
    except (RuntimeError, ValueError):
        return None
    return None if 0 in y.shape else tuple(y.shape[2:])


def ours(fn, *args, **kwargs) -> int | None:
    try:
        return fn(*args, **kwargs)
    except UpscopeError:
        return None


def ours_axes(spec: LayerSpec, size: tuple[int, ...]) -> tuple[int, ...] | None:
    try:
        return arith.layer_output(spec, size).output
    except UpscopeError:
        return None


# ------------------------------------------------------------------ transposed convolution

convt_1d = st.tuples(
    st.integers(1, 12),  # input
    st.integers(1, 7),  # k
    st.integers(1, 5),  # s
    st.integers(0, 6),  # p
    st.integers(0, 4),  # op
    st.integers(1, 3),  # d
)


@settings(max_examples=N_EXAMPLES)
@given(convt_1d)
def test_convt_1d_matches_torch(params: tuple[int, ...]) -> None:
    i, k, s, p, op, d = params
    expected = torch_shape(
        lambda: torch.nn.ConvTranspose1d(1, 1, k, s, p, op, dilation=d, bias=False),
        torch.zeros(1, 1, i),
    )
    got = ours(arith.convt_output, i, k, s, p, op, d)
    assert (got,) == expected if expected is not None else got is None


@settings(max_examples=N_EXAMPLES)
@given(convt_1d, convt_1d)
def test_convt_2d_per_axis_matches_torch(a: tuple[int, ...], b: tuple[int, ...]) -> None:
    (ih, kh, sh, ph, oh, dh), (iw, kw, sw, pw, ow, dw) = a, b
    expected = torch_shape(
        lambda: torch.nn.ConvTranspose2d(
            1, 1, (kh, kw), (sh, sw), (ph, pw), (oh, ow), dilation=(dh, dw), bias=False
        ),
        torch.zeros(1, 1, ih, iw),
    )
    spec = arith.convt_spec((kh, kw), (sh, sw), (ph, pw), (oh, ow), (dh, dw), {"k"})
    assert ours_axes(spec, (ih, iw)) == expected


def test_convt_formula_text() -> None:
    assert arith.convt_formula(14, 4, 2, 1) == "O = (14-1)*2 - 2*1 + 1*(4-1) + 0 + 1 = 28"


# ------------------------------------------------------------------ downsampling layers


@settings(max_examples=N_EXAMPLES)
@given(
    st.integers(1, 14), st.integers(1, 6), st.integers(1, 4), st.integers(0, 4), st.integers(1, 3)
)
def test_conv_matches_torch(i: int, k: int, s: int, p: int, d: int) -> None:
    for ndim, conv in ((1, torch.nn.Conv1d), (2, torch.nn.Conv2d)):
        shape = (1, 1) + (i,) * ndim
        expected = torch_shape(
            lambda conv=conv: conv(1, 1, k, s, p, dilation=d), torch.zeros(shape)
        )
        spec = arith.parse_layer(f"conv k={k} s={s} p={p} d={d}")
        assert ours_axes(spec, (i,) * ndim) == expected


@settings(max_examples=N_EXAMPLES)
@given(
    st.integers(1, 14),
    st.integers(1, 6),
    st.integers(1, 4),
    st.integers(0, 3),
    st.integers(1, 3),
    st.booleans(),
    st.sampled_from(["max", "avg"]),
)
def test_pool_matches_torch(i: int, k: int, s: int, p: int, d: int, ceil: bool, mode: str) -> None:
    if mode == "avg":
        d = 1
    for ndim in (1, 2):
        shape = (1, 1) + (i,) * ndim
        if mode == "max":
            cls = torch.nn.MaxPool1d if ndim == 1 else torch.nn.MaxPool2d
            expected = torch_shape(
                lambda cls=cls: cls(k, s, p, dilation=d, ceil_mode=ceil), torch.zeros(shape)
            )
        else:
            cls = torch.nn.AvgPool1d if ndim == 1 else torch.nn.AvgPool2d
            expected = torch_shape(lambda cls=cls: cls(k, s, p, ceil_mode=ceil), torch.zeros(shape))
        text = f"pool type={mode} k={k} s={s} p={p} ceil={int(ceil)}"
        if mode == "max":
            text += f" d={d}"
        assert ours_axes(arith.parse_layer(text), (i,) * ndim) == expected


@settings(max_examples=100)
@given(st.integers(1, 40), st.sampled_from([0.5, 1.5, 2.0, 2.5, 3.0, 1.1, 0.3, 4.0]))
def test_upsample_scale_matches_torch(i: int, scale: float) -> None:
    expected = torch_shape(
        lambda: torch.nn.Upsample(scale_factor=scale, mode="nearest"), torch.zeros(1, 1, i, i)
    )
    assert ours_axes(arith.parse_layer(f"upsample scale={scale}"), (i, i)) == expected


@settings(max_examples=100)
@given(st.integers(1, 12), st.integers(1, 12), st.integers(1, 4))
def test_pixel_shuffle_matches_torch(h: int, w: int, r: int) -> None:
    x = torch.zeros(1, r * r, h, w)
    assert ours_axes(arith.parse_layer(f"pixelshuffle r={r}"), (h, w)) == tuple(
        F.pixel_shuffle(x, r).shape[2:]
    )
    expected = torch_shape(lambda: torch.nn.PixelUnshuffle(r), torch.zeros(1, 1, h, w))
    assert ours_axes(arith.parse_layer(f"pixelunshuffle r={r}"), (h, w)) == expected


layer_text = st.one_of(
    st.builds(
        lambda k, s, p, op: f"convT k={k} s={s} p={p} op={op}",
        st.integers(1, 5),
        st.integers(1, 3),
        st.integers(0, 2),
        st.integers(0, 2),
    ),
    st.builds(
        lambda k, s, p: f"conv k={k} s={s} p={p}",
        st.integers(1, 5),
        st.integers(1, 3),
        st.integers(0, 2),
    ),
    st.builds(lambda k: f"pool k={k}", st.integers(1, 3)),
    st.builds(lambda r: f"upsample scale={r}", st.integers(1, 3)),
    st.builds(lambda r: f"pixelshuffle r={r}", st.integers(1, 3)),
    st.builds(lambda r: f"pixelunshuffle r={r}", st.integers(1, 2)),
)


def apply_torch(text: str, x: torch.Tensor) -> torch.Tensor:
    spec = arith.parse_layer(text)
    g = {k: v[0] for k, v in spec.params.items()}
    if spec.kind == "convT":
        w = torch.zeros(1, 1, g["k"], g["k"])
        return F.conv_transpose2d(x, w, stride=g["s"], padding=g["p"], output_padding=g["op"])
    if spec.kind == "conv":
        return F.conv2d(x, torch.zeros(1, 1, g["k"], g["k"]), stride=g["s"], padding=g["p"])
    if spec.kind == "pool":
        return F.max_pool2d(x, g["k"])
    if spec.kind == "upsample":
        return F.interpolate(x, scale_factor=float(spec.options["scale"]), mode="nearest")
    if spec.kind == "pixelshuffle":
        return F.pixel_shuffle(x.repeat(1, g["r"] ** 2, 1, 1), g["r"])
    return F.pixel_unshuffle(x, g["r"])[:, :1]


@settings(max_examples=200)
@given(st.integers(1, 10), st.integers(1, 10), st.lists(layer_text, min_size=1, max_size=4))
def test_stack_matches_torch(h: int, w: int, texts: list[str]) -> None:
    x = torch.zeros(1, 1, h, w)
    try:
        for text in texts:
            x = apply_torch(text, x)
        expected: tuple[int, ...] | None = tuple(x.shape[2:])
        if 0 in x.shape:  # functional torch returns empty tensors where modules refuse
            expected = None
    except (RuntimeError, ValueError):
        expected = None
    try:
        got: tuple[int, ...] | None = arith.stack_output(
            [arith.parse_layer(t) for t in texts], (h, w)
        )[-1].output
    except UpscopeError:
        got = None
    assert got == expected


# ------------------------------------------------------------------ overlap on one axis


@settings(max_examples=200)
@given(st.integers(1, 9), st.integers(1, 5), st.integers(1, 3))
def test_phase_coverage_matches_torch_interior(k: int, s: int, d: int) -> None:
    """c_r counts the taps landing on phase r: the interior of a long ones-through-ones convT."""
    n = 8 * (k * d + s)
    y = F.conv_transpose1d(
        torch.ones(1, 1, n, dtype=torch.float64),
        torch.ones(1, 1, k, dtype=torch.float64),
        stride=s,
        dilation=d,
    )[0, 0]
    reach = d * (k - 1)
    start = reach + (-reach) % s  # first interior position, phase 0
    interior = y[start : start + s].round().long().tolist()
    assert tuple(interior) == arith.phase_coverage(k, s, d)
    cov = arith.phase_coverage(k, s, d)
    verdict = "holes" if min(cov) == 0 else ("even" if min(cov) == max(cov) else "checkerboard")
    assert arith.overlap_verdict(k, s, d) == verdict
    if d == 1:
        assert (verdict == "even") == (k % s == 0)


# ------------------------------------------------------------------ the solver

bounds_st = st.builds(
    Bounds,
    st.integers(1, 6),
    st.integers(1, 4),
    st.integers(1, 2),
    st.one_of(st.none(), st.integers(0, 6)),
)


def brute_force(i: int, t: int, b: Bounds) -> set[tuple[int, int, int, int, int]]:
    """Every (k, s, p, op, d) in bounds that torch's formula and rules accept with O == T."""
    found = set()
    for k in range(1, b.max_k + 1):
        for s in range(1, b.max_s + 1):
            for d in range(1, b.max_d + 1):
                max_p = d * (k - 1) if b.max_p is None else b.max_p
                for p in range(max_p + 1):
                    for op in range(max(s, d)):
                        if (i - 1) * s - 2 * p + d * (k - 1) + op + 1 == t:
                            found.add((k, s, p, op, d))
    return found


@settings(max_examples=150)
@given(st.integers(1, 12), st.integers(1, 40), bounds_st)
def test_solver_complete_and_verified_by_torch(i: int, t: int, b: Bounds) -> None:
    sols = arith.solve_axis(i, t, b)
    got = {(x.kernel, x.stride, x.padding, x.output_padding, x.dilation) for x in sols}
    assert len(got) == len(sols)
    assert got == brute_force(i, t, b)
    for k, s, p, op, d in got:
        layer = torch.nn.ConvTranspose1d(1, 1, k, s, p, op, dilation=d, bias=False)
        with torch.no_grad():
            assert layer(torch.zeros(1, 1, i)).shape[-1] == t
    # holes last; before them, at least half the output interior; then even overlap first
    tiers = [
        (
            arith.overlap_verdict(x.kernel, x.stride, x.dilation) == "holes",
            x.interior_share < arith.USEFUL_SHARE,
            not x.even_overlap,
        )
        for x in sols
    ]
    assert tiers == sorted(tiers)
    for x in sols:
        assert x.size == t and x.interior == arith.convt_interior(
            i, x.kernel, x.stride, x.padding, x.output_padding, x.dilation
        )


def test_solver_recommends_the_classic_doubling() -> None:
    best = arith.solve_axis(14, 28)[0]
    assert (best.kernel, best.stride, best.padding, best.output_padding, best.dilation) == (
        4,
        2,
        1,
        0,
        1,
    )


def test_solver_per_axis_combines_axes() -> None:
    combos = arith.solve((14, 7), (28, 21))
    assert combos
    for sols in combos:
        for i, t, sol in zip((14, 7), (28, 21), sols, strict=True):
            out = arith.convt_output(
                i, sol.kernel, sol.stride, sol.padding, sol.output_padding, sol.dilation
            )
            assert out == t
    n_h, n_w = len(arith.solve_axis(14, 28)), len(arith.solve_axis(7, 21))
    assert len(combos) == n_h * n_w


# ------------------------------------------------------------------ keras and jax


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("s", [1, 2, 3])
@pytest.mark.parametrize("d", [1, 2])
def test_keras_rules(k: int, s: int, d: int) -> None:
    i = 9
    k_eff = k + (k - 1) * (d - 1)
    assert arith.keras_output(i, k, s, "same", None, d) == i * s
    assert arith.keras_output(i, k, s, "valid", None, d) == i * s + max(k_eff - s, 0)
    full = i * s - (s + k_eff - 2)
    if full >= 1:
        assert arith.keras_output(i, k, s, "full", None, d) == full
    for op in range(s):
        for padding, pad in (("same", k_eff // 2), ("valid", 0), ("full", k_eff - 1)):
            expected = (i - 1) * s + k_eff - 2 * pad + op
            if expected >= 1:
                assert arith.keras_output(i, k, s, padding, op, d) == expected
    assert arith.jax_output(i, k, s, "same", d) == i * s
    assert arith.jax_output(i, k, s, "valid", d) == i * s + max(k_eff - s, 0)


def test_keras_same_even_kernel_differs_with_output_padding_zero() -> None:
    """REFERENCES.md: 'same' with an even kernel and output_padding=0 is not output_padding=None."""
    assert arith.keras_output(14, 4, 2, "same", None) == 28
    assert arith.keras_output(14, 4, 2, "same", 0) == 26


@settings(max_examples=100)
@given(
    st.integers(1, 12),
    st.integers(1, 6),
    st.integers(1, 4),
    st.integers(1, 2),
    st.sampled_from(["same", "valid"]),
)
def test_torch_equivalent_verified_by_torch(i: int, k: int, s: int, d: int, padding: str) -> None:
    out = arith.keras_output(i, k, s, padding, None, d)
    eq = arith.torch_equivalent(i, k, s, out, d)
    if eq is None:
        # then no (P, P_out) torch accepts gives this size: check by brute force
        for p in range(0, d * k + s):
            for op in range(max(s, d)):
                assert (i - 1) * s - 2 * p + d * (k - 1) + op + 1 != out
        return
    p, op = eq
    layer = torch.nn.ConvTranspose1d(1, 1, k, s, p, op, dilation=d, bias=False)
    with torch.no_grad():
        assert layer(torch.zeros(1, 1, i)).shape[-1] == out


# ------------------------------------------------------------------ parsing


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("convT k=4 q=1", "'q'"),
        ("convT s=2", "needs k="),
        ("blob k=3", "'blob'"),
        ("convT k=four", "k in"),
        ("upsample", "exactly one of scale= or size="),
        ("upsample scale=-2", "scale"),
        ("pool k=2 type=min", "max or avg"),
        ("upsample scale=2 mode=nearst", "unknown upsample mode 'nearst'"),
        ("convT k=4 k=3", "twice"),
        ("convT k4", "key=value"),
        ("", "empty"),
    ],
)
def test_bad_layer_specs(text: str, needle: str) -> None:
    with pytest.raises(UpscopeError, match=needle.replace("(", r"\(").replace("=", "=")):
        arith.parse_layer(text)


def test_parse_axes() -> None:
    assert arith.parse_axes("14x20", "--input") == (14, 20)
    assert arith.parse_axes(" 3 ", "--k") == (3,)
    with pytest.raises(UpscopeError, match="--input"):
        arith.parse_axes("abc", "--input")
    with pytest.raises(UpscopeError, match="disagree"):
        arith.broadcast({"--k": (3, 3), "--s": (2, 2, 2)})


def test_upsample_is_floor_of_product() -> None:
    assert arith.upsample_output(7, scale=1.5) == math.floor(7 * 1.5)


@settings(max_examples=300)
@given(st.integers(1, 200), st.integers(1, 9), st.integers(1, 9))
def test_phase_coverage_counts_every_tap(k: int, s: int, d: int) -> None:
    """The periodic shortcut equals the plain count of j*D mod S over every tap j < K."""
    plain = [0] * s
    for j in range(k):
        plain[(j * d) % s] += 1
    assert arith.phase_coverage(k, s, d) == tuple(plain)
