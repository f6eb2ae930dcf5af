"""The resource budget (upscope.limits), the integer ranges of the arithmetic, and the memory
estimates checked against what is really allocated."""

from __future__ import annotations

import builtins
import json
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from upscope import arith, limits
from upscope.arith import parse_layer
from upscope.errors import UpscopeError
from upscope.overlap_map import estimate, stack_overlap

ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------- the budget


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2G", 2 << 30),
        ("2g", 2 << 30),
        ("512M", 512 << 20),
        ("1.5GiB", 3 << 29),
        ("800k", 800 << 10),
        ("1T", 1 << 40),
        ("123456", 123456),
        ("64MB", 64 << 20),
        (4096, 4096),
    ],
)
def test_parse_size(text: str | int, expected: int) -> None:
    assert limits.parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "lots", "2X", "-1G", "0", "0.1", "1e9", "G"])
def test_parse_size_refuses(text: str) -> None:
    with pytest.raises(UpscopeError, match="--max-memory must be"):
        limits.parse_size(text)


def _mem_available() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no MemAvailable")


@pytest.mark.skipif(not Path("/proc/meminfo").exists(), reason="needs /proc/meminfo")
def test_default_budget_is_half_the_available_memory() -> None:
    before = _mem_available()
    budget = limits.budget()
    after = _mem_available()
    # the available memory moves while other processes run: allow 20% either way
    assert 0.8 * min(before, after) * limits.SHARE <= budget
    assert budget <= 1.2 * max(before, after) * limits.SHARE


def test_budget_falls_back_to_sysconf_then_to_a_constant(monkeypatch: pytest.MonkeyPatch) -> None:
    real_open = builtins.open

    def no_meminfo(path: object, *args: object, **kwargs: object) -> object:
        if str(path) == "/proc/meminfo":
            raise OSError("no /proc")
        return real_open(path, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(builtins, "open", no_meminfo)
    monkeypatch.setattr(
        limits.os, "sysconf", lambda name: {"SC_AVPHYS_PAGES": 1000}.get(name, 4096)
    )
    assert limits.available_memory() == 1000 * 4096
    assert limits.default_budget() == 1000 * 4096 // 2

    def no_sysconf(name: str) -> int:
        raise ValueError(name)

    monkeypatch.setattr(limits.os, "sysconf", no_sysconf)
    assert limits.available_memory() is None
    assert limits.default_budget() == limits.FALLBACK


def test_max_memory_sets_and_restores_the_budget() -> None:
    with limits.max_memory("1G") as inner:
        assert inner == limits.budget() == 1 << 30
        with limits.max_memory(12345):
            assert limits.budget() == 12345
        with limits.max_memory(None):
            assert limits.budget() == 1 << 30
        assert limits.budget() == 1 << 30
    with limits.max_memory("1G"):
        pass
    assert limits._override.get() is None


def test_check_memory_names_estimate_limit_and_how_to_raise_it() -> None:
    with limits.max_memory("1M"):
        limits.check_memory(1 << 20, "exactly the limit")  # allowed
        with pytest.raises(UpscopeError) as info:
            limits.check_memory(3 << 30, "the thing")
    line = str(info.value)
    assert "the thing needs about 3.0 GiB" in line
    assert "limit of 1.0 MiB (set by --max-memory)" in line
    assert "--max-memory" in line and "max_memory=" in line and "\n" not in line


def test_check_int_shortens_huge_numbers() -> None:
    with pytest.raises(UpscopeError, match=r"at most 10, got a 31-digit number"):
        limits.check_int("x", 10**30, 0, 10)
    with pytest.raises(UpscopeError, match=r"x must be at least 1, got 0"):
        limits.check_int("x", 0, 1, 10)


# ---------------------------------------------------------------- ranges of the arithmetic


def test_strides_and_dilations_are_bounded_up_front() -> None:
    big = limits.MAX_STEP + 1
    for call in (
        lambda: arith.convt_output(14, 3, big),
        lambda: arith.convt_output(14, 3, 2, d=big),
        lambda: arith.conv_output(14, 3, big),
        lambda: arith.pool_output(14, 3, big),
        lambda: arith.keras_output(14, 3, big, "same"),
        lambda: arith.jax_output(14, 3, big, "same"),
        lambda: arith.phase_coverage(3, big),
        lambda: arith.layer_output(parse_layer(f"pixelshuffle r={big}"), (4,)),
    ):
        with pytest.raises(UpscopeError, match=f"at most {limits.MAX_STEP}"):
            call()
    assert len(arith.phase_coverage(3, limits.MAX_STEP)) == limits.MAX_STEP  # the largest: O(S)


def test_sizes_are_bounded_and_huge_digit_strings_refused_before_int() -> None:
    with pytest.raises(UpscopeError, match=f"at most {limits.MAX_INT}"):
        arith.convt_output(2**31, 3, 2)
    with pytest.raises(UpscopeError, match="5000-digit"):
        arith.parse_axes("9" * 5000, "--input")  # int() of it would raise ValueError
    assert arith.parse_axes(str(limits.MAX_INT), "--k") == (limits.MAX_INT,)


def test_solver_bounds_are_capped() -> None:
    with pytest.raises(UpscopeError, match="tries per axis"):
        arith.solve_axis(14, 28, arith.Bounds(max_k=10**6, max_s=10, max_d=10))


# ---------------------------------------------------------------- overlap: by the output size


@pytest.mark.parametrize(
    ("spec", "n"),
    [
        ("convT k=2001 s=1 p=1000", 8),
        ("convT k=2001 s=3 p=1000 d=2", 9),
        ("convT k=1500 s=2 p=749 op=1", 5),
        ("conv k=999 s=2 p=600 d=1", 40),
        ("maxpool k=1001 s=1 p=500", 8),
        ("maxpool k=401 s=3 p=200 d=2", 700),
        ("avgpool k=801 s=1 p=400", 8),
    ],
)
def test_large_kernels_and_paddings_equal_torch(spec: str, n: int) -> None:
    layer = parse_layer(spec)
    result = stack_overlap([layer], (n,))
    g = layer.get
    k, s, p, d = g("k", 0, 1), g("s", 0, g("k", 0, 1)), g("p", 0, 0), g("d", 0, 1)
    x = torch.ones(1, 1, n, dtype=torch.float64)
    if layer.kind == "convT":
        w = torch.ones(1, 1, k, dtype=torch.float64)
        y = F.conv_transpose1d(x, w, stride=s, padding=p, output_padding=g("op", 0, 0), dilation=d)
    elif layer.kind == "conv":
        y = F.conv1d(x, torch.ones(1, 1, k, dtype=torch.float64), stride=s, padding=p, dilation=d)
    elif layer.options["type"] == "max":
        y = F.max_pool1d(x, k, s, p, d)
    else:
        y = F.avg_pool1d(x, k, s, p, count_include_pad=True) * k
    assert result.map.tolist() == y.flatten().round().long().tolist()


def test_huge_kernel_costs_nothing_by_itself() -> None:
    layer = parse_layer("convT k=1000000001 p=500000000")
    results = arith.stack_output([layer], (8,))
    need, ops = estimate(results)
    assert need < 1 << 20 and ops < 10_000
    assert stack_overlap([layer], (8,)).map.tolist() == [8] * 8  # i + j = o + p: 8 ways each


CASES = [
    (["convT k=3 s=2 p=1"], (200_000,)),
    (["convT k=4 s=2 p=1"], (600, 600)),
    (["convT k=9 s=3 p=4 d=2"], (100_000,)),
    (["conv k=3 s=1 p=1"], (400_000,)),
    (["maxpool k=9 s=1 p=4"], (400_000,)),
    (["avgpool k=33 s=1 p=16"], (400_000,)),
    (["upsample scale=2"], (200_000,)),
    (["pixelshuffle r=4"], (200_000,)),
    (["convT k=3 s=2"] * 3, (200, 200)),
    (["convT k=3 s=4096"], (64,)),
]


@pytest.mark.parametrize(("texts", "size"), CASES)
def test_overlap_estimate_covers_what_numpy_allocates(
    texts: list[str], size: tuple[int, ...]
) -> None:
    specs = [parse_layer(t) for t in texts]
    need, _ = estimate(arith.stack_output(specs, size))
    tracemalloc.start()
    try:
        stack_overlap(specs, size)
        _, peak = tracemalloc.get_traced_memory()  # numpy reports its buffers to tracemalloc
    finally:
        tracemalloc.stop()
    assert peak <= need <= 8 * peak, (peak, need)


def test_overlap_refuses_past_the_budget_before_allocating() -> None:
    specs = [parse_layer("convT k=3 s=2")]
    tracemalloc.start()
    try:
        with limits.max_memory("8M"), pytest.raises(UpscopeError, match="MiB of memory"):
            stack_overlap(specs, (1000, 1000))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


# ---------------------------------------------------------------- probe and compare: peak RSS

# VmHWM (peak resident set of this process image) rather than ru_maxrss, which a child forked
# from a large pytest process inherits until its exec.
_MEASURE = """
import json, sys
import numpy as np, torch
from upscope import limits
def peak_rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
kind, args = sys.argv[1], json.loads(sys.argv[2])
if kind == "probe":
    from upscope.probe_config import ProbeConfig
    from upscope.probing import run_probe
    config = ProbeConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in args.items()})
    estimate = limits.probe_bytes(config.scale, len(config.methods), len(config.inputs),
                                  config.seeds, config.size, config.channels, config.grad)
    base = peak_rss()
    run_probe(config)
else:
    from upscope.comparison import Settings, compare
    from upscope import images
    original = images.crop_to_multiple(images.load_image(args.pop("image")).pixels, 2)
    settings = Settings(scale=2, methods=tuple(args["methods"]), fit=1, seed=0, device="cpu",
                        width=args["width"])
    c, h, w = original.shape
    estimate = limits.compare_bytes(c, h, w, len(settings.methods), settings.width)
    base = peak_rss()
    compare(original, settings)
peak = peak_rss()
print(json.dumps({"estimate": estimate, "used": peak - base}))
"""


def _measure(kind: str, args: dict[str, object]) -> tuple[int, int]:
    proc = subprocess.run(
        [sys.executable, "-c", _MEASURE, kind, json.dumps(args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    doc = json.loads(proc.stdout)
    return doc["estimate"], doc["used"]


needs_proc = pytest.mark.skipif(
    not Path("/proc/self/status").exists(), reason="reads VmHWM from /proc/self/status"
)


@needs_proc
def test_probe_estimate_covers_its_peak_rss() -> None:
    args = {"methods": ["pixelshuffle"], "seeds": 2, "size": 128, "channels": 32}
    need, used = _measure("probe", args)
    assert used > 32 << 20  # the arrays dominate what is measured
    assert used <= need <= 4 * used, (used, need)


@needs_proc
def test_compare_estimate_covers_its_peak_rss(tmp_path: Path) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (768, 768, 3), dtype=np.uint8)).save(tmp_path / "i.png")
    args = {"image": str(tmp_path / "i.png"), "methods": ["nearest", "pixelshuffle"], "width": 16}
    need, used = _measure("compare", args)
    assert used > 32 << 20
    assert used <= need <= 4 * used, (used, need)


@pytest.mark.parametrize("n", [1, 2, 6, 7, 12])
@pytest.mark.parametrize("d", [1, 2, 3, 4, 12])
@pytest.mark.parametrize("k", [1, 3, 5, 13, 40])
def test_cyclic_windows_equal_the_direct_sums(n: int, d: int, k: int) -> None:
    from upscope.overlap_map import _cyclic_window_max, _cyclic_window_sums

    x = np.random.default_rng(n * 100 + d * 10 + k).integers(0, 9, n)
    starts = np.arange(-2 * n, 2 * n, dtype=np.int64) * 3 - 1
    taps = (starts[:, None] + np.arange(k)[None, :] * d) % n  # O(K) per window: the reference
    assert _cyclic_window_sums(x, starts, k, d).tolist() == x[taps].sum(axis=1).tolist()
    found = _cyclic_window_max(x, starts, k, d)
    assert found is not None and found.tolist() == x[taps].max(axis=1).tolist()
