"""The period rule: where an upsampling op's pattern lands in the final output (pure Python).

One implementation, used by ``scan`` (which op draws the grid the output shows), ``detect`` (which
op can draw the period found in images) and audio (the tone in Hz). shared/DESIGN.md:

    An op of integer factor S followed by ops of total integer factor U leaves a pattern of period
    S*U samples in the final output (per axis); at sample rate R that is a tone at R / (S*U) Hz and
    its multiples. A later non-integer resize breaks the rule: say so.

Each op is described per axis by its own period (its stride, or scale factor S: the length after
which its phases repeat in its own output) and by its factor (output size / input size, a
:class:`~fractions.Fraction`). What follows an op acts on its pattern per axis:

- an integer upsampling by U stretches the period to P*U;
- an integer downsampling by D (a strided conv or pooling: keep every D-th sample) leaves
  P / gcd(P, D); a period that becomes 1 has vanished along that axis;
- factor 1 (a stride-1 conv, an activation) keeps it;
- any other factor (a resize by 1.5, 3/2) breaks the rule: the period is unknown (None) and the
  reason says which factor broke it.

>>> output_period(2, [Fraction(2), Fraction(2)]).period
8
>>> output_period(4, [Fraction(1, 2)]).period
2
>>> r = output_period(2, [Fraction(3, 2)]); (r.period, r.reason)
(None, 'a later resize by 3/2 (not an integer factor) breaks the period rule')
>>> tone_frequencies(256, 22050.0, count=3)
[86.1328125, 172.265625, 258.3984375]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

__all__ = [
    "AxisPeriod",
    "Fraction",
    "can_make",
    "chain_periods",
    "factor_of",
    "output_period",
    "output_periods",
    "period_in_output",
    "tone_frequencies",
]


@dataclass(frozen=True)
class AxisPeriod:
    """One axis of an op's pattern in the final output: its period in samples, or None with why."""

    period: int | None
    reason: str = ""


def factor_of(size_in: int, size_out: int) -> Fraction:
    """The factor of an op along one axis: ``size_out / size_in`` as an exact fraction.

    >>> factor_of(14, 28), factor_of(28, 14), factor_of(10, 15)
    (Fraction(2, 1), Fraction(1, 2), Fraction(3, 2))
    """
    if size_in <= 0 or size_out <= 0:
        raise ValueError(f"sizes must be positive, got {size_in} -> {size_out}")
    return Fraction(size_out, size_in)


def output_period(own: int, later: Sequence[Fraction]) -> AxisPeriod:
    """The period, along one axis, that an op of own period ``own`` leaves in the final output,
    when the ops after it have the factors ``later`` (in call order).

    >>> output_period(2, []).period, output_period(2, [Fraction(1)]).period
    (2, 2)
    >>> output_period(2, [Fraction(1, 2)])
    AxisPeriod(period=1, reason='a later downsampling by 2 removes it')
    """
    if own < 1:
        raise ValueError(f"an op's own period must be >= 1, got {own}")
    period = own
    for factor in later:
        if factor <= 0:
            raise ValueError(f"factors must be positive, got {factor}")
        if period == 1:  # no pattern along this axis: nothing later brings this op's back
            break
        if factor.denominator == 1:
            period *= factor.numerator
        elif factor.numerator == 1:
            period //= math.gcd(period, factor.denominator)
            if period == 1:
                return AxisPeriod(1, f"a later downsampling by {factor.denominator} removes it")
        else:
            return AxisPeriod(
                None,
                f"a later resize by {factor} (not an integer factor) breaks the period rule",
            )
    return AxisPeriod(period)


def output_periods(own: Sequence[int], later: Sequence[Sequence[Fraction]]) -> list[AxisPeriod]:
    """:func:`output_period` per axis: ``own`` holds the op's period per axis, each entry of
    ``later`` one later op's factor per axis.

    >>> [a.period for a in output_periods((2, 2), [(Fraction(2), Fraction(1))])]
    [4, 2]
    """
    for factors in later:
        if len(factors) != len(own):
            raise ValueError(f"a later op has {len(factors)} axes, the op has {len(own)}")
    return [output_period(p, [factors[axis] for factors in later]) for axis, p in enumerate(own)]


def chain_periods(
    own: Sequence[Sequence[int]], factors: Sequence[Sequence[Fraction]]
) -> list[list[AxisPeriod]]:
    """The output period of every op of a chain, per axis: op ``i`` has own period ``own[i]`` and
    factor ``factors[i]``; the ops after it are ``factors[i + 1:]``.

    HiFi-GAN V1's upsampling rates 8, 8, 2, 2 leave periods 256, 32, 4 and 2 in the output:

    >>> rates = [8, 8, 2, 2]
    >>> chain = chain_periods([(r,) for r in rates], [(Fraction(r),) for r in rates])
    >>> [axes[0].period for axes in chain]
    [256, 32, 4, 2]
    """
    if len(own) != len(factors):
        raise ValueError(f"{len(own)} ops but {len(factors)} factors")
    return [output_periods(own[i], factors[i + 1 :]) for i in range(len(own))]


def period_in_output(
    own: Sequence[int], op_out: Sequence[int], final_out: Sequence[int]
) -> list[AxisPeriod]:
    """The period per axis that an op leaves in a model's final output, from sizes alone: the op's
    own period ``own`` (its stride or scale), its output size ``op_out`` and the model's output
    size ``final_out`` (spatial axes). Everything after the op counts as one factor
    ``final_out / op_out`` per axis, whatever it is made of (the ops a scan does not record, such
    as strided convs, included). This is the rule scan and detect use to name a layer.

    A DCGAN's three stride-2 layers on a 4x4 latent map (8, 16, 32 -> 64x64 output):

    >>> [period_in_output((2, 2), (n, n), (64, 64))[0].period for n in (8, 16, 32, 64)]
    [16, 8, 4, 2]
    >>> period_in_output((2,), (32,), (48,))[0].reason
    'the sizes after it (32 -> 48, a factor of 3/2, not an integer) break the period rule'
    """
    if not (len(own) == len(op_out) == len(final_out)):
        raise ValueError(f"axes differ: own {own}, op output {op_out}, final output {final_out}")
    result = []
    for p, n_op, n_final in zip(own, op_out, final_out, strict=True):
        factor = factor_of(n_op, n_final)
        if factor.denominator != 1 and factor.numerator != 1:
            result.append(
                AxisPeriod(
                    None,
                    f"the sizes after it ({n_op} -> {n_final}, a factor of {factor}, not an "
                    "integer) break the period rule",
                )
            )
        else:
            result.append(output_period(p, [factor]))
    return result


def can_make(op_period: Sequence[int | None], found: Sequence[int]) -> bool:
    """Whether an op whose pattern has period ``op_period`` in the output can show as a pattern
    of fundamental period ``found`` (per axis, 1 = no period along that axis).

    A pattern of period P can have any divisor of P as its fundamental (a period-4 op whose four
    phases alternate a, b, a, b shows period 2), never a period that does not divide P. An axis
    whose op period is unknown (None) can make anything; along an axis where the op leaves no
    period (1) only 1 is possible.

    >>> can_make((4, 4), (2, 2)), can_make((4, 4), (1, 4)), can_make((2, 2), (4, 4))
    (True, True, False)
    >>> can_make((None, 2), (3, 2)), can_make((1, 2), (2, 2))
    (True, False)
    """
    if len(op_period) != len(found):
        return False
    return all(p is None or (f >= 1 and p % f == 0) for p, f in zip(op_period, found, strict=True))


def tone_frequencies(period: int, rate: float, count: int | None = None) -> list[float]:
    """The tones in Hz of a pattern of ``period`` samples at sample ``rate``: rate / period and
    its multiples, up to the Nyquist frequency (rate / 2), at most ``count`` of them.

    >>> tone_frequencies(4, 16000.0)
    [4000.0, 8000.0]
    >>> tone_frequencies(1, 16000.0)
    []
    """
    if period < 1 or rate <= 0:
        raise ValueError(f"period must be >= 1 and rate > 0, got {period}, {rate}")
    base = rate / period
    tones = [k * base for k in range(1, period // 2 + 1)]
    return tones if count is None else tones[:count]
