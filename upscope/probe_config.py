"""What ``upscope probe`` runs and its checks, torch-free: the CLI answers bad input at once.

:mod:`upscope.probing` (torch) runs a :class:`ProbeConfig` after :func:`check_config`; the command
checks the same config before it imports torch, so a wrong ``--inputs`` word or ``--size`` is
refused without loading it (numpy only, for the metrics' size rule).

>>> parse_inputs("noise, constant,noise")
('noise', 'constant')
"""

from __future__ import annotations

from dataclasses import dataclass

from upscope import limits, zoo
from upscope.errors import UpscopeError
from upscope.result import Brief

INPUTS: tuple[str, ...] = ("constant", "noise")
MAX_SIZE = 512
MAX_SEEDS = 1000
MAX_CHANNELS = 256


@dataclass(frozen=True, repr=False)
class ProbeConfig(Brief):
    """What to probe; defaults are those of ``upscope probe``."""

    scale: int = 2
    methods: tuple[str, ...] = zoo.NAMES
    inputs: tuple[str, ...] = INPUTS
    seeds: int = 8
    size: int = 32
    channels: int = 4
    seed: int = 0
    grad: bool = False


def parse_inputs(text: str, option: str = "--inputs") -> tuple[str, ...]:
    """``"a, b,a"`` -> ("a", "b"), each one of INPUTS; an empty list or item, or an unknown
    word, raises UpscopeError naming it and the valid ones."""
    return zoo.parse_words(text, INPUTS, option, noun="input")


def check_config(config: ProbeConfig) -> None:
    """Raise UpscopeError (one line naming the value) for anything the probe cannot run."""
    from upscope import metrics  # numpy: only once the words are known good

    zoo.check_scale(config.scale)
    zoo.parse_names(",".join(config.methods))
    parse_inputs(",".join(config.inputs))
    limits.check_int("--seeds", config.seeds, 1, MAX_SEEDS)
    limits.check_int("--channels", config.channels, 1, MAX_CHANNELS)
    limits.check_int("--seed", config.seed, 0, limits.MAX_INT)
    need = metrics.required_size(config.scale)
    if config.size < 1 or config.size * config.scale < need:
        smallest = -(-need // config.scale)
        raise UpscopeError(
            f"--size {config.size} is too small at scale {config.scale}: the metrics drop a "
            f"border of {metrics.default_border(config.scale)} pixels and need {4 * config.scale} "
            f"more per side; use --size {smallest} or more"
        )
    if config.size > MAX_SIZE:
        raise UpscopeError(f"--size {config.size} is larger than the limit {MAX_SIZE}")
    need = limits.probe_bytes(
        config.scale,
        len(config.methods),
        len(config.inputs),
        config.seeds,
        config.size,
        config.channels,
        config.grad,
    )
    what = (
        f"probe --size {config.size} --channels {config.channels} --seeds {config.seeds} "
        f"({len(config.methods)} methods, {len(config.inputs)} inputs)"
    )
    limits.check_memory(need, what)
