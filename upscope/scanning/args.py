"""``upscope scan``'s arguments read without torch, so a mistyped one is answered at once.

>>> parse_input_shape("1x3x64x64")
(1, 3, 64, 64)
>>> split_model_spec("pkg.models:Generator")
('pkg.models', 'Generator', False)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from upscope import limits
from upscope.errors import UpscopeError

Shape = tuple[int, ...]

#: An op whose share of the measured output grid exceeds this many 8-bit grey levels (RMS) is an
#: ``artifact`` (``--threshold``; docs/scan.md): half a grey level, the size under which most of a
#: pattern is lost when the output is rounded to 8 bits.
GRID_THRESHOLD = 0.5
#: The model inputs a scan measures responses on; "constant" is always measured.
INPUTS = ("constant", "noise")
#: The statuses ``--fail-on`` takes, worst first (``artifact`` counts for ``risk`` too).
FAIL_ON = ("artifact", "risk")


def check_inputs(inputs: str | Sequence[str], prefix: str = "") -> tuple[str, ...]:
    """The inputs to measure, in :data:`INPUTS` order, ``"constant"`` always among them.

    >>> check_inputs(["noise"])
    ('constant', 'noise')
    """
    names = [inputs] if isinstance(inputs, str) else list(inputs)
    bad = [name for name in names if name not in INPUTS]
    if bad:
        raise UpscopeError(f"{prefix}unknown input {bad[0]!r}; known: {', '.join(INPUTS)}")
    return tuple(name for name in INPUTS if name == "constant" or name in names)


def check_fail_on(fail_on: str, name: str = "fail_on") -> str:
    """``fail_on`` if it is a status to fail on, else one line naming the choices."""
    if fail_on not in FAIL_ON:
        raise UpscopeError(f"{name} must be artifact or risk, got {fail_on!r}")
    return fail_on


def check_threshold(value: float, name: str = "threshold") -> float:
    """A grid threshold in grey levels: a finite number, 0 or more.

    >>> check_threshold(0.5)
    0.5
    """
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise UpscopeError(f"{name} must be a number of grey levels, got {value!r}") from None
    if not (number >= 0 and number < float("inf")):
        raise UpscopeError(f"{name} must be a finite number of grey levels, 0 or more, got {value}")
    return number


def parse_range(value: object, name: str = "--range") -> tuple[float, float] | None:
    """``"LO,HI"`` or ``(LO, HI)`` -> ``(LO, HI)`` with LO < HI, both finite; None stays None.

    >>> parse_range("0,1"), parse_range((-1, 1)), parse_range(None)
    ((0.0, 1.0), (-1.0, 1.0), None)
    """
    if value is None:
        return None
    parts: Any = value.split(",") if isinstance(value, str) else value
    try:
        lo, hi = (float(v) for v in parts)
    except (TypeError, ValueError):
        raise UpscopeError(f"{name} must be LO,HI (e.g. 0,1 or -1,1), got {value!r}") from None
    if not (lo < hi and abs(lo) < float("inf") and abs(hi) < float("inf")):
        raise UpscopeError(f"{name} must be LO,HI with LO < HI, both finite, got {value!r}")
    return lo, hi


def parse_input_shape(text: str) -> Shape:
    """``"1x100x1x1"`` -> ``(1, 100, 1, 1)``; every dimension at least 1."""
    if not re.fullmatch(r"\s*\d+(\s*[xX]\s*\d+)*\s*", text):
        raise UpscopeError(f"--input-shape must be sizes joined by x, e.g. 1x100x1x1, got {text!r}")
    parts = re.split(r"[xX]", text.replace(" ", ""))
    for part in parts:
        if len(part) > 18:  # refused before int() spends time on the digits
            raise UpscopeError(
                f"--input-shape sizes must be at most {limits.MAX_INT}, got a {len(part)}-digit one"
            )
        limits.check_int("--input-shape sizes", int(part), 1, limits.MAX_INT)
    return tuple(int(part) for part in parts)


FORWARD_FACTOR = 8  # the input, and at least one upsampled activation (x4 in 2D), float32


def check_input_memory(shapes: Sequence[Shape], itemsize: int = 4) -> None:
    """Refuse input shapes whose forward pass cannot fit the memory budget, before torch
    allocates anything. The estimate is a floor: FORWARD_FACTOR times the input tensors."""
    need = FORWARD_FACTOR * sum(limits.tensor_bytes(shape, itemsize) for shape in shapes)
    shown = ", ".join("x".join(map(str, shape)) for shape in shapes)
    limits.check_memory(need, f"a forward pass on input shape {shown}")


def is_onnx_file(spec: str) -> bool:
    """MODEL names an ONNX file (``model.onnx``), read by :mod:`upscope.scanning.onnx_front`.

    >>> is_onnx_file("exports/decoder.onnx"), is_onnx_file("models.py:Decoder")
    (True, False)
    """
    return spec.lower().endswith(".onnx")


def split_model_spec(spec: str) -> tuple[str, str, bool]:
    """``MODEL`` -> (file or module, Name, whether it is a file); a file must exist."""
    where, _, name = spec.rpartition(":")
    if not where or not name:
        raise UpscopeError(
            f"MODEL must be path/to/file.py:Name or package.module:Name, got {spec!r}"
        )
    is_file = where.endswith(".py") or "/" in where or "\\" in where
    if is_file and not Path(where).is_file():
        raise UpscopeError(f"model file {where!r} not found")
    return where, name, is_file
