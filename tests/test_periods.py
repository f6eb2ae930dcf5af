"""The period rule (upscope.periods) against a simulation: a random periodic pattern pushed
through integer up- and downsamplings, its fundamental period measured with numpy."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from upscope.periods import can_make, output_period, tone_frequencies


def _fundamental(x: np.ndarray) -> int:
    """The smallest p dividing len(x) with x == roll(x, p)."""
    n = len(x)
    for p in range(1, n + 1):
        if n % p == 0 and np.array_equal(x, np.roll(x, -p)):
            return p
    return n


factors = st.one_of(
    st.integers(1, 4).map(Fraction), st.integers(2, 4).map(lambda d: Fraction(1, d))
)


@given(own=st.integers(1, 6), later=st.lists(factors, max_size=4), seed=st.integers(0, 99))
def test_output_period_matches_simulation(own: int, later: list[Fraction], seed: int) -> None:
    rng = np.random.default_rng(seed)
    tile = rng.integers(0, 1000, own)  # distinct enough: fundamental period own (checked)
    if _fundamental(tile) != own:
        return
    length = own
    for f in later:
        length *= f.denominator  # room for every downsampling
    x = np.tile(tile, length // own * 12)
    for f in later:
        # nearest upsampling stretches the phases; a downsampling keeps every d-th sample
        x = np.repeat(x, f.numerator) if f.denominator == 1 else x[:: f.denominator]
    assert output_period(own, later).period == _fundamental(x)


def test_non_integer_factor_is_unknown() -> None:
    got = output_period(2, [Fraction(2), Fraction(3, 2)])
    assert got.period is None and "3/2" in got.reason


def test_can_make_is_divisibility() -> None:
    assert can_make((8, 8), (2, 2)) and can_make((8, 8), (8, 1))
    assert not can_make((2, 2), (8, 8)) and not can_make((2,), (2, 2))


def test_tones_of_hifigan_first_layer() -> None:
    tones = tone_frequencies(256, 22050.0)
    assert tones[0] == 22050 / 256 and len(tones) == 128 and tones[-1] == 22050 / 2


def test_period_in_output_equals_the_chain_for_integer_factors() -> None:
    # two stride-2 ops then a x2 nearest: the first leaves 2*2*2, the second 2*2
    from upscope.periods import chain_periods, period_in_output

    chain = chain_periods([(2,), (2,), (1,)], [(Fraction(2),), (Fraction(2),), (Fraction(2),)])
    sizes = [(8,), (16,), (32,)]  # outputs of the three ops on a 4-sample input
    for axes, out in zip(chain[:2], sizes[:2], strict=True):
        assert period_in_output((2,), out, (32,))[0].period == axes[0].period
