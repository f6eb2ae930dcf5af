"""What ``upscope probe --audio`` runs and its checks, torch-free (the CLI refuses bad input
before torch loads).

>>> parse_inputs("noise,dc")
('noise', 'dc')
>>> AudioProbeConfig().input_rate
8000.0
"""

from __future__ import annotations

from dataclasses import dataclass

from upscope import limits, zoo1d
from upscope.errors import UpscopeError
from upscope.result import Brief
from upscope.zoo import parse_words

#: silence (+ a preceding layer's bias), DC, a sine, a sweep, white noise (see audio_probe)
INPUTS: tuple[str, ...] = ("silence", "dc", "sine", "sweep", "noise")
DEFAULT_RATE = 16000
MIN_RATE = 1000
MAX_RATE = 384000
MAX_SEEDS = 100
MAX_CHANNELS = 64
MAX_SECONDS = 10.0
DEFAULT_SECONDS = 1.0


@dataclass(frozen=True, repr=False)
class AudioProbeConfig(Brief):
    """What to probe; ``rate`` is the output's sample rate (Hz), the input's is rate / scale."""

    rate: int = DEFAULT_RATE
    scale: int = 2
    methods: tuple[str, ...] = zoo1d.NAMES
    inputs: tuple[str, ...] = INPUTS
    seeds: int = 4
    channels: int = 4
    seconds: float = DEFAULT_SECONDS
    seed: int = 0

    @property
    def input_rate(self) -> float:
        return self.rate / self.scale

    @property
    def input_length(self) -> int:
        """Input samples: ``seconds`` of output, rounded to whole input samples."""
        return max(1, round(self.seconds * self.rate / self.scale))


def parse_inputs(text: str, option: str = "--inputs") -> tuple[str, ...]:
    return parse_words(text, INPUTS, option, noun="audio input")


def check_rate(rate: int, option: str = "--rate") -> None:
    """Raise UpscopeError unless ``rate`` is an integer number of Hz in range."""
    if isinstance(rate, bool) or not isinstance(rate, int):
        raise UpscopeError(f"{option} must be an integer number of Hz, got {rate!r}")
    if rate <= 0:
        raise UpscopeError(f"{option} must be a positive number of Hz, got {rate}")
    limits.check_int(option, rate, MIN_RATE, MAX_RATE)


def probe_bytes(config: AudioProbeConfig) -> int:
    """Peak bytes: per method and input the mean spectrum (float64), plus a few output-sized
    float64 arrays per seed (the layer's output, its reference, the windowed copies)."""
    out = config.input_length * config.scale
    kept = len(config.methods) * len(config.inputs) * (out // 2 + 1) * 8
    per_run = 8 * config.channels * out * 8
    return kept + per_run + 2 * len(config.methods) * out * 8


def check_config(config: AudioProbeConfig) -> None:
    """Raise UpscopeError (one line naming the value) for anything the probe cannot run."""
    check_rate(config.rate)
    zoo1d.check_scale(config.scale)
    zoo1d.parse_names(",".join(config.methods))
    parse_inputs(",".join(config.inputs))
    limits.check_int("--seeds", config.seeds, 1, MAX_SEEDS)
    limits.check_int("--channels", config.channels, 1, MAX_CHANNELS)
    limits.check_int("--seed", config.seed, 0, limits.MAX_INT)
    if not 0.1 <= config.seconds <= MAX_SECONDS:
        raise UpscopeError(f"seconds must be from 0.1 to {MAX_SECONDS}, got {config.seconds}")
    limits.check_memory(probe_bytes(config), f"probe --audio --rate {config.rate}")
