"""Check what the ONNX front end reads against the operator specification, before any arithmetic.

Every attribute and stored input that a judgment reads (:mod:`.onnx_front`) goes through one of
these readers first: a value outside the range the ONNX operator specification accepts (or,
for sizes and steps, outside the range upscope's arithmetic takes: :data:`upscope.limits.MAX_INT`,
:data:`upscope.limits.MAX_STEP`) is one :class:`~upscope.errors.UpscopeError` line naming the
node, the attribute, its value and the accepted range. torch-free and onnx-free: the attributes
arrive as the plain values ``onnx.helper.get_attribute_value`` gives.

>>> node = Node("ConvTranspose", "up", {"strides": [2, 0]})
>>> try:
...     node.ints("strides", 2, 1, 65536, 1)
... except UpscopeError as exc:
...     print(*str(exc).split(" (accepted"), sep="|")
ConvTranspose 'up': strides [2, 0] is outside the ONNX specification|: 2 integers, each 1 to 65536)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from upscope.errors import UpscopeError
from upscope.limits import MAX_INT

__all__ = ["NUMERIC", "Node", "shown"]

#: numpy dtype kinds a stored weight, scale or size may have (bool, string and object: never)
NUMERIC = "fiu"
_NAME_CHARS = 60
_VALUE_CHARS = 80


def shown(value: Any) -> str:
    """A value as the error line shows it: lists short, strings quoted, long things cut.

    >>> shown([1, 2, 3]), shown(b"EVIL"), shown(float("nan")), shown(list(range(40)))[-8:]
    ('[1, 2, 3]', "'EVIL'", 'nan', '19, ...]')
    """
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray):
        value = value.reshape(-1).tolist()
    if isinstance(value, list | tuple):
        items = [shown(v) for v in value]
        text = "[" + ", ".join(items) + "]"
        if len(text) > _VALUE_CHARS:
            keep, size = [], 1
            for item in items:
                if size + len(item) + 2 > _VALUE_CHARS - 6:
                    break
                keep.append(item)
                size += len(item) + 2
            text = "[" + ", ".join(keep) + ", ...]"
        return text
    if isinstance(value, str):
        text = ascii(value)
        return text if len(text) <= _VALUE_CHARS else text[: _VALUE_CHARS - 4] + "...'"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    if isinstance(value, int) and abs(value) >= 10**20:
        return f"a {len(str(abs(value)))}-digit number"
    return str(value)


def label(name: str) -> str:
    """A node's name as an error line quotes it: escaped (``ascii``) and cut to 60 characters."""
    text = name if len(name) <= _NAME_CHARS else name[:_NAME_CHARS] + "..."
    return ascii(text)


class Node:
    """One node's attributes (name -> plain value), read only through checking readers."""

    def __init__(self, op_type: str, name: str, attributes: dict[str, Any]) -> None:
        self.op_type, self.name, self.attributes = op_type, name, attributes

    def fail(self, what: str, value: Any, accepted: str) -> UpscopeError:
        return UpscopeError(
            f"{self.op_type} {label(self.name)}: {what} {shown(value)} is outside the ONNX "
            f"specification (accepted: {accepted})"
        )

    def refuse(self, text: str) -> UpscopeError:
        return UpscopeError(f"{self.op_type} {label(self.name)}: {text}")

    def has(self, key: str) -> bool:
        return key in self.attributes

    def ints(
        self, key: str, count: int | None, low: int, high: int, default: int | None
    ) -> tuple[int, ...]:
        """``count`` integers, each in ``low..high``; ``default`` each when the attribute is
        absent (None: required)."""
        raw = self.attributes.get(key)
        if raw is None:
            if default is None or count is None:
                raise self.refuse(f"the attribute {key} is required by the ONNX specification")
            return (default,) * count
        values = list(raw) if isinstance(raw, list | tuple) else [raw]
        if not all(isinstance(v, int) for v in values):
            raise self.fail(key, raw, "integers")
        many = "" if count is None else f"{count} integers, "
        accepted = f"{many}each {low} to {_bound(high)}"
        if count is not None and len(values) != count:
            raise self.fail(key, values, accepted)
        if not all(low <= v <= high for v in values):
            raise self.fail(key, values, accepted)
        return tuple(values)

    def integer(
        self, key: str, low: int, high: int, default: int | None, accepted: str = ""
    ) -> int:
        raw = self.attributes.get(key)
        if raw is None:
            if default is None:
                raise self.refuse(f"the attribute {key} is required by the ONNX specification")
            return default
        if not isinstance(raw, int) or not low <= raw <= high:
            raise self.fail(key, raw, accepted or f"{low} to {_bound(high)}")
        return raw

    def word(self, key: str, allowed: Sequence[str], default: str) -> str:
        raw = self.attributes.get(key)
        if raw is None:
            return default
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        if text not in allowed:
            raise self.fail(key, text, ", ".join(allowed))
        return str(text)

    def tensor(self, what: str, value: np.ndarray, kinds: str = NUMERIC) -> np.ndarray:
        """A stored input of a numeric type (a string or bool tensor is refused)."""
        if value.dtype.kind not in kinds:
            raise self.refuse(
                f"{what} has type {'string' if value.dtype.kind in 'OSU' else value.dtype.name}; "
                "the ONNX specification accepts "
                + {"f": "a float type", "i": "an integer type", "iu": "an integer type"}.get(
                    kinds, "a number type (float or integer)"
                )
            )
        return value

    def dims(self, what: str, values: Sequence[int | None]) -> None:
        """Known sizes past upscope's range (2^31 - 1, torch's int range) are refused."""
        for v in values:
            if v is not None and v > MAX_INT:
                raise self.refuse(
                    f"{what} {shown(list(values))} is past upscope's range (each at most {MAX_INT})"
                )


def _bound(high: int) -> str:
    return str(high) if high < 10**9 else f"{high} (2^{high.bit_length()} - 1)"
