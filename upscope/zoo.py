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


def check_scale(scale: int) -> None:
    """Raise UpscopeError unless ``scale`` is an int from MIN_SCALE to MAX_SCALE."""
    if isinstance(scale, bool) or not isinstance(scale, int):
        raise UpscopeError(
            f"scale must be an integer from {MIN_SCALE} to {MAX_SCALE}, got {scale!r}"
        )
    if not MIN_SCALE <= scale <= MAX_SCALE:
        raise UpscopeError(f"scale must be from {MIN_SCALE} to {MAX_SCALE}, got {scale}")


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
    words = [w.strip() for w in text.split(",")]
    if not any(words):
        raise UpscopeError(f"{option} is empty; give comma-separated zoo names, or all")
    if not all(words):
        raise UpscopeError(f"{option} {text!r} has an empty item; give comma-separated names")
    if words == ["all"]:
        return NAMES
    for word in words:
        if word not in _METHODS:
            raise UpscopeError(
                f"{option}: unknown upsampler {word!r}; known: {', '.join(NAMES)}, or all"
            )
    return tuple(dict.fromkeys(words))
