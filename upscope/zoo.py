"""The upsampler zoo's vocabulary, torch-free: its names, what each one is, its scale range.

The CLI checks ``--methods`` and ``--scale`` against this module before torch is imported, so a
bad name is refused at once. The factories live in :mod:`upscope.upsamplers` (torch), whose
registry has exactly these names as keys, in this order (``tests/test_upsamplers.py`` checks).
The order is the order of every table, figure and JSON list.

>>> NAMES[:3]
('convT-uneven', 'convT-even', 'resize-nearest-conv')
>>> parse_names("bicubic, nearest,bicubic")
('bicubic', 'nearest')
>>> parse_names("all") == NAMES
True
>>> [n for n in NAMES if not is_learned(n)]
['nearest', 'bilinear', 'bicubic']
"""

from __future__ import annotations

from upscope.errors import UpscopeError

MIN_SCALE = 2
MAX_SCALE = 4

#: name -> (learned: has weights, one-line summary), in the zoo's order
_METHODS: dict[str, tuple[bool, str]] = {
    "convT-uneven": (True, "ConvTranspose2d, K not a multiple of S"),
    "convT-even": (True, "ConvTranspose2d, K a multiple of S"),
    "resize-nearest-conv": (True, "nearest x S, then conv 3x3"),
    "resize-bilinear-conv": (True, "bilinear x S, then conv 3x3"),
    "pixelshuffle": (True, "conv 3x3 to C*S^2 channels, PixelShuffle"),
    "pixelshuffle-icnr": (True, "the same, ICNR-initialised"),
    "nearest": (False, "nearest-neighbour interpolation"),
    "bilinear": (False, "bilinear interpolation"),
    "bicubic": (False, "bicubic interpolation"),
}

NAMES: tuple[str, ...] = tuple(_METHODS)


def check_scale(scale: int, option: str = "--scale") -> None:
    """Raise UpscopeError unless ``scale`` is an int from MIN_SCALE to MAX_SCALE."""
    check_scale_range(scale, option, MIN_SCALE, MAX_SCALE)


def check_scale_range(scale: int, option: str, low: int, high: int, where: str = "") -> None:
    """Raise UpscopeError unless ``scale`` is an int from ``low`` to ``high``; ``where`` follows
    the range in the message (the 1D zoo says `` for audio``).

    >>> check_scale_range(5, "--scale", 2, 4, " for audio")
    Traceback (most recent call last):
    upscope.errors.UpscopeError: --scale must be from 2 to 4 for audio, got 5
    """
    if isinstance(scale, bool) or not isinstance(scale, int):
        raise UpscopeError(f"{option} must be an integer from {low} to {high}, got {scale!r}")
    if not low <= scale <= high:
        raise UpscopeError(f"{option} must be from {low} to {high}{where}, got {scale}")


def check_name(name: str) -> None:
    """Raise UpscopeError, naming ``name`` and every known one, unless it is in the zoo."""
    if name not in _METHODS:
        raise UpscopeError(f"unknown upsampler {name!r}; known: {', '.join(NAMES)}")


def is_learned(name: str) -> bool:
    """True if the method has weights (everything but nearest, bilinear, bicubic)."""
    check_name(name)
    return _METHODS[name][0]


def summary(name: str) -> str:
    """The one-line description of ``name`` (without parameters; see upsamplers.describe)."""
    check_name(name)
    return _METHODS[name][1]


def parse_names(text: str, option: str = "--methods") -> tuple[str, ...]:
    """``"a, b,a"`` -> ("a", "b"): comma-separated zoo names, repeats dropped; ``"all"`` -> NAMES.

    An empty list, an empty item or an unknown name raises UpscopeError, one line that names the
    option and, for an unknown name, that name and every valid one.
    """
    return parse_words(text, NAMES, option, noun="upsampler", all_word="all")


def parse_words(
    text: str, known: tuple[str, ...], option: str, noun: str, all_word: str | None = None
) -> tuple[str, ...]:
    """Comma-separated words of ``known``, repeats dropped, in the order given; ``all_word``
    alone stands for every known word. Anything else is one UpscopeError line naming the option.

    >>> parse_words("noise, constant,noise", ("constant", "noise"), "--inputs", "input")
    ('noise', 'constant')
    >>> parse_words("all,nearest", NAMES, "--methods", "upsampler", all_word="all")
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    upscope.errors.UpscopeError: --methods: 'all' cannot be combined with names; ...
    """
    words = [w.strip() for w in text.split(",")]
    choices = ", ".join(known) + (f", or {all_word}" if all_word else "")
    if not any(words):
        raise UpscopeError(f"{option} is empty; give comma-separated names: {choices}")
    if not all(words):
        raise UpscopeError(f"{option} {text!r} has an empty item; give comma-separated names")
    if all_word is not None and all_word in words:
        if words != [all_word]:
            raise UpscopeError(
                f"{option}: {all_word!r} cannot be combined with names; give {all_word!r} "
                f"alone, or some of: {', '.join(known)}"
            )
        return known
    for word in words:
        if word not in known:
            raise UpscopeError(f"{option}: unknown {noun} {word!r}; known: {choices}")
    return tuple(dict.fromkeys(words))
