"""``upscope scan``'s arguments read without torch, so a mistyped one is answered at once.

>>> parse_input_shape("1x3x64x64")
(1, 3, 64, 64)
>>> split_model_spec("pkg.models:Generator")
('pkg.models', 'Generator', False)
"""

from __future__ import annotations

import re
from pathlib import Path

from upscope.errors import UpscopeError

Shape = tuple[int, ...]


def parse_input_shape(text: str) -> Shape:
    """``"1x100x1x1"`` -> ``(1, 100, 1, 1)``; every dimension at least 1."""
    if not re.fullmatch(r"\s*\d+(\s*[xX]\s*\d+)*\s*", text):
        raise UpscopeError(f"--input-shape must be sizes joined by x, e.g. 1x100x1x1, got {text!r}")
    shape = tuple(int(part) for part in re.split(r"[xX]", text.replace(" ", "")))
    if min(shape) < 1:
        raise UpscopeError(f"--input-shape sizes must be at least 1, got {text!r}")
    return shape


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
