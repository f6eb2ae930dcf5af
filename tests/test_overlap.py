"""upscope.overlap_map against torch: exact maps, interiors, verdicts; and no torch on its path."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import example, given, settings
from hypothesis import strategies as st

from upscope import arith
from upscope.arith import LayerSpec
from upscope.errors import UpscopeError
from upscope.overlap_map import convt_overlap, stack_overlap


@pytest.fixture(autouse=True, scope="module")
def _no_grad():
    """torch is only an oracle here: no autograd, and the global mode is restored afterwards."""
    with torch.no_grad():
        yield


# ---------------------------------------------------------------- the oracle


def _axes(spec: LayerSpec, key: str, ndim: int, default: int) -> tuple[int, ...]:
    return tuple(spec.get(key, a, default) for a in range(ndim))


def torch_map_float(specs: list[LayerSpec], input_size: tuple[int, ...]) -> np.ndarray:
    """Every layer applied by torch to an all-ones float64 image, with all-ones kernels."""
    nd = len(input_size)
    x = torch.ones((1, 1, *input_size), dtype=torch.float64)
    for spec in specs:
        k = _axes(spec, "k", nd, 1)
        if spec.kind == "convT":
            fn = F.conv_transpose1d if nd == 1 else F.conv_transpose2d
            x = fn(
                x,
                torch.ones((1, 1, *k), dtype=torch.float64),
                stride=_axes(spec, "s", nd, 1),
                padding=_axes(spec, "p", nd, 0),
                output_padding=_axes(spec, "op", nd, 0),
                dilation=_axes(spec, "d", nd, 1),
            )
        elif spec.kind == "conv":
            fn = F.conv1d if nd == 1 else F.conv2d
            x = fn(
                x,
                torch.ones((1, 1, *k), dtype=torch.float64),
                stride=_axes(spec, "s", nd, 1),
                padding=_axes(spec, "p", nd, 0),
                dilation=_axes(spec, "d", nd, 1),
            )
        elif spec.kind == "pool":
            s = tuple(spec.get("s", a, k[a]) for a in range(nd))
            p = _axes(spec, "p", nd, 0)
            ceil = spec.options.get("ceil") == "1"
            if spec.options["type"] == "max":
                fn = F.max_pool1d if nd == 1 else F.max_pool2d
                x = fn(x, k, s, p, _axes(spec, "d", nd, 1), ceil_mode=ceil)
            else:  # the window sum: avg_pool2d with divisor 1 (a 1D input as one row)
                y = x if nd == 2 else x[:, :, None, :]
                kk, ss, pp = (k, s, p) if nd == 2 else ((1, *k), (1, *s), (0, *p))
                y = F.avg_pool2d(y, kk, ss, pp, ceil_mode=ceil, divisor_override=1)
                x = y if nd == 2 else y[:, :, 0, :]
        elif spec.kind == "upsample":
            mode = spec.options.get("mode", "nearest")
            if "scale" in spec.options:
                up = torch.nn.Upsample(scale_factor=float(spec.options["scale"]), mode=mode)
            else:
                up = torch.nn.Upsample(size=_axes(spec, "size", nd, 1), mode=mode)
            x = up(x)
        elif spec.kind == "pixelshuffle":
            r = spec.get("r", 0, 1)
            y = x if nd == 2 else x[:, :, None, :]
            y = F.pixel_shuffle(y.repeat(1, r * r, 1, 1), r)  # the same map in every channel
            x = y if nd == 2 else y[:, :, 0, :]
        else:  # pragma: no cover - the strategies only draw the kinds above
            raise AssertionError(spec.kind)
    return x[0, 0].numpy()


def torch_map(specs: list[LayerSpec], input_size: tuple[int, ...]) -> np.ndarray:
    out = torch_map_float(specs, input_size)
    assert np.isfinite(out).all() and np.array_equal(out, np.round(out)), "integer counts"
    return out.astype(np.int64)


def assert_same(ours: np.ndarray, theirs: np.ndarray) -> None:
    assert ours.dtype == np.int64
    assert ours.shape == theirs.shape
    assert np.array_equal(ours, theirs)


def brute_verdict(block: np.ndarray) -> str:
    if block.size == 0:
        raise AssertionError("no interior to judge")
    if block.min() == 0:
        return "holes"
    return "checkerboard" if block.min() != block.max() else "even"


def layers_verdict(specs: list[LayerSpec], ndim: int) -> str:
    """Each transposed convolution's own verdict (phase coverage per axis), the worst one."""
    return arith.combine_verdicts(
        [
            arith.overlap_verdict(spec.get("k", a, 1), spec.get("s", a, 1), spec.get("d", a, 1))
            for spec in specs
            if spec.kind == "convT"
            for a in range(ndim)
        ]
    )


def brute_period(block: np.ndarray, axis: int) -> int:
    n = block.shape[axis]
    for p in range(1, n // 2 + 1):
        a = np.take(block, range(p, n), axis=axis)
        b = np.take(block, range(0, n - p), axis=axis)
        if np.array_equal(a, b):
            return p
    return n


# ---------------------------------------------------------------- strategies


@st.composite
def convt_cases(draw: st.DrawFn) -> tuple[list[LayerSpec], tuple[int, ...]]:
    """A stack of L identical transposed convolutions, possibly per axis in 2D."""
    dims = draw(st.sampled_from([1, 2]))
    per_axis = dims == 2 and draw(st.booleans())
    n_axes = 2 if per_axis else 1
    k = tuple(draw(st.integers(1, 6)) for _ in range(n_axes))
    s = tuple(draw(st.integers(1, 4)) for _ in range(n_axes))
    d = tuple(draw(st.integers(1, 3)) for _ in range(n_axes))
    p = tuple(draw(st.integers(0, 4)) for _ in range(n_axes))
    op = tuple(draw(st.integers(0, 3)) for _ in range(n_axes))
    size = tuple(draw(st.integers(1, 9)) for _ in range(dims))
    layers = draw(st.integers(1, 3))
    spec = arith.convt_spec(k, s, p, op, d, {"k", "s", "p", "op", "d"} if per_axis else set())
    return [spec] * layers, size


_LAYER_TEXTS = st.one_of(
    st.builds(
        "convT k={} s={} p={} op={} d={}".format,
        st.integers(1, 5),
        st.integers(1, 3),
        st.integers(0, 2),
        st.integers(0, 1),
        st.integers(1, 2),
    ),
    st.builds(
        "conv k={} s={} p={} d={}".format,
        st.integers(1, 5),
        st.integers(1, 3),
        st.integers(0, 2),
        st.integers(1, 2),
    ),
    st.builds(
        "maxpool k={} s={} p={} d={} ceil={}".format,
        st.integers(1, 4),
        st.integers(1, 3),
        st.integers(0, 2),
        st.integers(1, 2),
        st.integers(0, 1),
    ),
    st.builds(
        "avgpool k={} s={} p={} ceil={}".format,
        st.integers(1, 4),
        st.integers(1, 3),
        st.integers(0, 2),
        st.integers(0, 1),
    ),
    st.builds(
        "upsample scale={} mode={}".format,
        st.sampled_from(["2", "3", "1.5", "2.5", "0.75", "1.3", "2.01", "1.0001", "0.9999"]),
        st.sampled_from(["nearest", "nearest-exact"]),
    ),
    st.builds("upsample size={} mode=nearest".format, st.integers(1, 20)),
    st.builds("pixelshuffle r={}".format, st.integers(1, 3)),
)


@st.composite
def mixed_cases(draw: st.DrawFn) -> tuple[list[LayerSpec], tuple[int, ...]]:
    texts = draw(st.lists(_LAYER_TEXTS, min_size=1, max_size=3))
    dims = draw(st.sampled_from([1, 2]))
    size = (draw(st.integers(1, 10)),) * dims
    return [arith.parse_layer(t) for t in texts], size


# ---------------------------------------------------------------- maps equal torch's


@settings(max_examples=350)
@given(convt_cases())
def test_convt_stacks_equal_torch(case: tuple[list[LayerSpec], tuple[int, ...]]) -> None:
    specs, size = case
    try:
        ours = stack_overlap(specs, size)
    except UpscopeError:
        with pytest.raises(RuntimeError):  # we refuse exactly what torch refuses
            torch_map(specs, size)
        return
    theirs = torch_map(specs, size)
    assert_same(ours.map, theirs)
    assert (ours.min, ours.max) == (int(theirs.min()), int(theirs.max()))
    assert ours.output_size == theirs.shape


@settings(max_examples=250)
@given(mixed_cases())
@example(  # found by a random run: the -inf of the pool's window is dropped by the last stride
    (
        [
            arith.parse_layer("conv k=1 s=1 p=0 d=1"),
            arith.parse_layer("maxpool k=2 s=1 p=1 d=2 ceil=0"),
            arith.parse_layer("conv k=1 s=2 p=1 d=1"),
        ],
        (1,),
    )
)
def test_mixed_stacks_equal_torch(case: tuple[list[LayerSpec], tuple[int, ...]]) -> None:
    specs, size = case
    try:
        ours = stack_overlap(specs, size)
    except UpscopeError as exc:
        if "only padding" in str(exc):
            # A max-pool window of padding alone: -inf in torch at that layer, which a later
            # stride may drop again, so look at every prefix of the stack.
            prefixes = (specs[: n + 1] for n in range(len(specs)))
            assert any(np.isneginf(torch_map_float(pre, size)).any() for pre in prefixes)
        return  # otherwise sizes that arith refuses (checked against torch by arith's tests)
    assert_same(ours.map, torch_map(specs, size))


def test_convt_overlap_is_stack_overlap_of_repeated_layer() -> None:
    k, s, p, op, d = (3, 4), (2, 2), (1, 0), (1, 0), (1, 1)
    ours = convt_overlap(k, s, p, op, d, (6, 5), layers=2)
    spec = arith.convt_spec(k, s, p, op, d, {"k", "p", "op"})
    assert_same(ours.map, torch_map([spec, spec], (6, 5)))
    assert convt_overlap((4,), (2,), (1,), (0,), (1,), (7,)).map.ndim == 1


# ---------------------------------------------------------------- interior and verdict


def _check_figures(specs: list[LayerSpec], size: tuple[int, ...]) -> None:
    try:
        ours = stack_overlap(specs, size)
    except UpscopeError:
        return
    theirs = torch_map(specs, size)
    block = theirs[tuple(slice(a, b) for a, b in ours.interior)]
    if ours.has_interior:
        assert ours.interior_min == block.min() and ours.interior_max == block.max()
        ratio = None if block.min() == 0 else block.max() / block.min()
        assert ours.interior_ratio == ratio
    else:
        assert (ours.interior_min, ours.interior_max, ours.interior_ratio) == (None,) * 3
    if ours.verdict_rule == "layers":  # each layer alone: the phase-coverage formula
        assert ours.verdict == layers_verdict(specs, len(size))
        return
    # the verdict comes from the interior of the map of verdict_input
    at = ours if ours.verdict_input == size else stack_overlap(specs, ours.verdict_input)
    assert at.has_interior and at.verdict_input == ours.verdict_input
    ref = torch_map(specs, ours.verdict_input)[tuple(slice(a, b) for a, b in at.interior)]
    assert at.verdict == ours.verdict == brute_verdict(ref)
    for axis in range(len(size)):
        n, period = ref.shape[axis], ours.period[axis]
        # two periods seen: the smallest shift that repeats is the period (Fine and Wilf)
        if n >= 2 * period:
            assert period == brute_period(ref, axis)
        else:  # fewer: the block at least repeats with it
            a = np.take(ref, range(min(period, n), n), axis=axis)
            assert np.array_equal(a, np.take(ref, range(0, n - min(period, n)), axis=axis))


@settings(max_examples=200)
@given(convt_cases())
def test_convt_verdict_and_interior_by_brute_force(case) -> None:
    _check_figures(*case)


@settings(max_examples=100)
@given(mixed_cases())
def test_mixed_verdict_and_interior_by_brute_force(case) -> None:
    _check_figures(*case)


def _shift_after(specs: list[LayerSpec], margin: int) -> int | None:
    """Where input pixel ``margin`` lands after the stack, for layers that scale by integers."""
    shift = margin
    for spec in specs:
        if spec.kind == "convT":
            shift *= spec.get("s", 0, 1)
        elif spec.kind == "pixelshuffle":
            shift *= spec.get("r", 0, 1)
        elif spec.kind in ("conv", "pool"):
            s = spec.get("s", 0, spec.get("k", 0, 1) if spec.kind == "pool" else 1)
            if shift % s:
                return None
            shift //= s
        elif spec.kind == "upsample" and spec.options.get("scale") in ("2", "3"):
            shift *= int(spec.options["scale"])
        else:
            return None
    return shift


@settings(max_examples=150)
@given(st.one_of(convt_cases(), mixed_cases()))
def test_interior_is_free_of_border_effects(case) -> None:
    """An interior pixel keeps its count when the input grows on both sides (brute force)."""
    specs, size = case
    specs = [s for s in specs if not (s.kind == "upsample" and "size" in s.params)]
    if not specs:
        return
    n = size[0]
    if specs[0].ndim == 2:
        return
    margin = 12
    shift = _shift_after(specs, margin)
    if shift is None:
        return
    try:
        ours = stack_overlap(specs, (n,))
        big = torch_map(specs, (n + 2 * margin,))
    except (UpscopeError, RuntimeError):
        return
    ((start, stop),) = ours.interior
    small = torch_map(specs, (n,))
    assert np.array_equal(small[start:stop], big[start + shift : stop + shift])


def test_known_pictures() -> None:
    """The issue's examples: k=4 s=2 even (4 in 2D), k=3 s=2 gives 1, 2, 4, K=3 S=2 D=2 holes."""
    even = convt_overlap((4,), (2,), (1,), (0,), (1,), (8, 8))
    phase = arith.phase_coverage(4, 2)
    assert even.verdict == "even" and even.period == (1, 1)
    assert set(np.unique(even.interior_values()).tolist()) == {phase[0] ** 2}
    assert even.min < even.interior_min  # the border falls off, and that is not a checkerboard

    uneven = convt_overlap((3,), (2,), (0,), (0,), (1,), (8, 8))
    cov = arith.phase_coverage(3, 2)
    assert uneven.verdict == "checkerboard" and uneven.period == (2, 2)
    assert set(np.unique(uneven.interior_values()).tolist()) == {a * b for a in cov for b in cov}
    assert uneven.interior_ratio == max(cov) ** 2 / min(cov) ** 2
    assert "1, 2 or 4" in uneven.explanation

    holes = convt_overlap((3,), (2,), (0,), (0,), (2,), (8, 8))
    assert holes.verdict == "holes" and holes.interior_min == 0
    assert holes.interior_ratio is None


def test_tiny_input_takes_its_verdict_from_a_larger_one() -> None:
    one = convt_overlap((3,), (2,), (1,), (1,), (1,), (1, 1))
    assert one.verdict == "checkerboard"
    assert one.verdict_input != (1, 1) and "too small" in one.explanation
    dcgan = convt_overlap((4,), (1,), (0,), (0,), (1,), (1, 1))
    assert dcgan.verdict == "even" and not dcgan.has_interior and dcgan.interior_ratio is None


@pytest.mark.parametrize(
    "text",
    ["pixelunshuffle r=2", "upsample scale=2 mode=bilinear", "upsample scale=2 mode=bicubic"],
)
def test_kinds_without_integer_counts_are_refused(text: str) -> None:
    with pytest.raises(UpscopeError, match="overlap|integer"):
        stack_overlap([arith.parse_layer(text)], (8, 8))


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(UpscopeError, match="output padding"):
        convt_overlap((3,), (2,), (0,), (2,), (1,), (8,))
    with pytest.raises(UpscopeError, match="axes"):
        convt_overlap((3, 3, 3), (2,), (0,), (0,), (1,), (8, 8))
    with pytest.raises(UpscopeError, match="pixels"):
        convt_overlap((4,), (2,), (1,), (0,), (1,), (8192, 8192))
    with pytest.raises(UpscopeError, match="layers"):
        convt_overlap((4,), (2,), (1,), (0,), (1,), (8,), layers=0)


def test_large_map_is_exact_and_int64() -> None:
    """4096x4096: the outer product of the 1D profiles, which torch confirms on one axis."""
    result = convt_overlap((3,), (2,), (1,), (1,), (1,), (2048, 2048))
    assert result.map.shape == (4096, 4096) and result.map.dtype == np.int64
    spec = arith.convt_spec((3,), (2,), (1,), (1,), (1,), set())
    line = torch_map([spec], (2048,))
    assert np.array_equal(result.map[1000], line[1000] * line)
    assert result.verdict == "checkerboard" and math.isclose(result.interior_ratio or 0, 4.0)


def test_numbers_path_loads_no_torch_or_matplotlib() -> None:
    code = (
        "import sys, json\n"
        "import upscope.overlap_map\n"
        "from upscope.cli import main\n"
        "try:\n"
        "    main(['overlap', '--k', '3', '--s', '2', '--no-png', '--json'])\n"
        "except SystemExit as exc:\n"
        "    code = exc.code\n"
        "heavy = [m for m in ('torch', 'matplotlib', 'PIL') if m in sys.modules]\n"
        "sys.stderr.write(json.dumps({'code': code, 'heavy': heavy}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    report = json.loads(done.stderr.strip().splitlines()[-1])
    assert report == {"code": 0, "heavy": []}
    assert json.loads(done.stdout)["verdict"] == "checkerboard"


def test_max_pool_window_of_padding_alone_is_refused() -> None:
    specs = [arith.parse_layer("conv k=3 d=2"), arith.parse_layer("maxpool k=2 s=1 p=1 d=2")]
    assert np.isneginf(torch_map_float(specs, (5,))).any()  # torch: -inf, not a count
    with pytest.raises(UpscopeError, match="only padding"):
        stack_overlap(specs, (5,))


@pytest.mark.parametrize("dims", [1, 2])
@pytest.mark.parametrize("scale", ["2.01", "1.0001", "2", "1"])
def test_nearest_upsample_follows_torchs_1d_and_2d_kernels(dims: int, scale: str) -> None:
    """torch's 2D nearest kernel reads o>>1 whenever out == 2*in; its 1D kernel uses 1/scale."""
    for n in range(3, 10):
        specs = [arith.parse_layer("convT k=3 s=2"), arith.parse_layer(f"upsample scale={scale}")]
        assert_same(stack_overlap(specs, (n,) * dims).map, torch_map(specs, (n,) * dims))
