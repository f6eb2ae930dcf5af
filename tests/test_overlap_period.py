"""The exact period of an overlap map and the verdict of a stack without an interior.

The oracle is torch's map of the stack (``torch_map``) and brute force on its interior.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings

from tests.test_overlap import convt_cases, layers_verdict, mixed_cases, torch_map
from upscope import arith
from upscope.arith import LayerSpec
from upscope.errors import UpscopeError
from upscope.overlap_map import periodic_pattern, stack_overlap


@pytest.fixture(autouse=True, scope="module")
def _no_grad():
    with torch.no_grad():
        yield


def _is_window_of_repetition(seq: np.ndarray, cycle: np.ndarray) -> bool:
    """``seq`` is a stretch of ``cycle`` repeated forever, starting at some phase."""
    reps = -(-seq.size // cycle.size) + 1
    for shift in range(cycle.size):
        tiled = np.tile(np.roll(cycle, -shift), reps)[: seq.size]
        if np.array_equal(tiled, seq):
            return True
    return False


def _minimal_by_prime_divisors(seq: np.ndarray, period: int) -> bool:
    """``period`` repeats ``seq`` and no period/q does for a prime q: with two periods seen,
    any shorter period would make gcd(p, period), a divisor, one too (Fine and Wilf)."""
    if not np.array_equal(seq[period:], seq[:-period]):
        return False
    n, q = period, 2
    primes = set()
    while q * q <= n:
        while n % q == 0:
            primes.add(q)
            n //= q
        q += 1
    if n > 1:
        primes.add(n)
    return all(not np.array_equal(seq[period // q :], seq[: -(period // q)]) for q in primes)


@settings(max_examples=200, deadline=None)
@given(convt_cases() | mixed_cases())
def test_pattern_is_the_interior_of_torchs_map(case: tuple[list[LayerSpec], tuple[int, ...]]):
    """Where the interior holds a whole cycle, it is that cycle repeated; with two cycles seen,
    brute force finds the same period."""
    specs, size = case
    try:
        ours = stack_overlap(specs, size[:1])
    except UpscopeError:
        return
    cycle = periodic_pattern(arith.stack_output(specs, size[:1]), 0)
    if cycle is None:
        return
    assert ours.period == (cycle.size,)
    ((start, stop),) = ours.interior
    seq = torch_map(specs, size[:1])[start:stop]
    if seq.size >= cycle.size:
        assert _is_window_of_repetition(seq, cycle)
    if seq.size >= 2 * cycle.size:
        assert _minimal_by_prime_divisors(seq, cycle.size)


def test_thirteen_layers_have_period_8192_not_the_interior_length() -> None:
    """The issue's case: 13 x (k=3 s=2 p=1 op=1) on 8 pixels; the cap used to give 57345."""
    spec = arith.convt_spec((3,), (2,), (1,), (1,), (1,), set())
    result = stack_overlap([spec] * 13, (8,))
    assert result.period == (2**13,)
    ((start, stop),) = result.interior
    seq = torch_map([spec] * 13, (8,))[start:stop]
    assert seq.size >= 2 * 2**13 and _minimal_by_prime_divisors(seq, 2**13)


def test_period_multiplies_by_each_stride_and_resets_when_even() -> None:
    up3 = arith.parse_layer("convT k=4 s=3 p=1")
    even = arith.parse_layer("convT k=4 s=2 p=1")
    assert stack_overlap([up3, up3], (40,)).period == (9,)
    # an even layer on a constant input stays constant: period 1, then 3 from the last layer
    assert stack_overlap([even, even, up3], (40,)).period == (3,)


@pytest.mark.parametrize(
    ("layers", "verdict"),
    [
        (["upsample size=2", "convT k=5 s=1"], "even"),
        (["upsample size=2", "convT k=5 s=2"], "checkerboard"),
        (["upsample size=2", "convT k=4 s=2 p=1"], "even"),
        (["upsample size=1", "convT k=7 s=3 d=3"], "holes"),
    ],
)
def test_stack_without_an_interior_is_judged_layer_by_layer(layers: list[str], verdict: str):
    """Border fall-off is not a checkerboard: the issue's case said checkerboard."""
    specs = [arith.parse_layer(t) for t in layers]
    result = stack_overlap(specs, (8, 8))
    assert result.verdict_rule == "layers"
    assert result.verdict == verdict == layers_verdict(specs, 2)
    full = torch_map(specs, (8, 8))
    assert full.min() != full.max()  # the whole map is uneven: the old rule's answer
    assert "each layer's own interior" in result.explanation


def test_cli_names_the_rule_in_json_and_table(run_cli) -> None:
    args = ["overlap", "--layer", "upsample size=2", "--layer", "convT k=5 s=1"]
    doc = json.loads(run_cli(*args, "--input", "8x8", "--json", "--no-png").stdout)
    assert doc["verdict"] == "even" and doc["verdict_rule"] == "layers"
    table = run_cli(*args, "--input", "8x8", "--no-png").stdout
    assert "judged on" in table and "each layer's own interior" in table
    doc = json.loads(run_cli("overlap", "--k", "3", "--s", "2", "--json", "--no-png").stdout)
    assert doc["verdict_rule"] == "interior"
