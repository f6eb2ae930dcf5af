"""The 1D upsampler zoo's vocabulary, torch-free: names, what each one is, its scale range.

The audio commands check ``--methods`` and ``--scale`` against this module before torch loads.
The factories live in :mod:`upscope.upsamplers1d`, whose registry has exactly these keys in this
order (``tests/test_audio_zoo.py`` checks). Names say their family (issue 18's contract):
``convT-...``, ``subpixel...``, ``nearest``, ``linear``, ``nearest-conv``, ``linear-conv``,
``sinc``. The order is the order of every audio table, figure and JSON list.

>>> NAMES[-1], [n for n in NAMES if not is_learned(n)]
('sinc', ['nearest', 'linear', 'sinc'])
>>> parse_names("sinc,nearest")
('sinc', 'nearest')
"""

from __future__ import annotations

from upscope.errors import UpscopeError
from upscope.zoo import check_scale_range, parse_words

MIN_SCALE = 2
MAX_SCALE = 16

#: name -> (learned: has weights, one-line summary), in the zoo's order
_METHODS: dict[str, tuple[bool, str]] = {
    "convT-uneven": (True, "ConvTranspose1d, K = 2S - 1 (not a multiple of S)"),
    "convT-even": (True, "ConvTranspose1d, K = 2S (a multiple of S)"),
    "subpixel": (True, "Conv1d k=3 to C*S channels, 1D shuffle, default init"),
    "subpixel-icnr": (True, "the same, ICNR-initialised (starts as conv + nearest)"),
    "nearest-conv": (True, "nearest x S, then Conv1d k=3"),
    "linear-conv": (True, "linear x S, then Conv1d k=3"),
    "nearest": (False, "nearest-neighbour interpolation"),
    "linear": (False, "linear interpolation"),
    "sinc": (False, "band-limited windowed-sinc resampler (the reference)"),
}

NAMES: tuple[str, ...] = tuple(_METHODS)


def check_scale(scale: int, option: str = "--scale") -> None:
    """Raise UpscopeError unless ``scale`` is an int from MIN_SCALE to MAX_SCALE."""
    check_scale_range(scale, option, MIN_SCALE, MAX_SCALE, " for audio")


def check_name(name: str) -> None:
    """Raise UpscopeError, naming ``name`` and every known one, unless it is in the 1D zoo."""
    if name not in _METHODS:
        raise UpscopeError(f"unknown 1D upsampler {name!r}; known: {', '.join(NAMES)}")


def is_learned(name: str) -> bool:
    """True if the method has weights."""
    check_name(name)
    return _METHODS[name][0]


def summary(name: str) -> str:
    check_name(name)
    return _METHODS[name][1]


def parse_names(text: str, option: str = "--methods") -> tuple[str, ...]:
    """Comma-separated 1D zoo names, repeats dropped; ``"all"`` -> NAMES."""
    return parse_words(text, NAMES, option, noun="1D upsampler", all_word="all")


def convt_params(name: str, scale: int) -> tuple[int, int, int, int]:
    """(k, s, p, op) of ``convT-even`` (K = 2S) or ``convT-uneven`` (K = 2S - 1) at ``scale``:
    exact x S needs K - 2P + op = S, so 2P - op = K - S with 0 <= op < S.

    >>> convt_params("convT-even", 8), convt_params("convT-uneven", 2)
    ((16, 8, 4, 0), (3, 2, 1, 1))
    >>> convt_params("convT-even", 3)
    (6, 3, 2, 1)
    """
    check_name(name)
    if not name.startswith("convT"):
        raise UpscopeError(f"{name!r} is not a transposed convolution")
    check_scale(scale)
    k = 2 * scale if name == "convT-even" else 2 * scale - 1
    extra = k - scale
    p, op = (extra + 1) // 2, (extra + 1) // 2 * 2 - extra
    return k, scale, p, op
