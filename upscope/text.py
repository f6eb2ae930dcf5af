"""Strings from users and files, made safe to show (standard library only).

A layer name read from a model or an ONNX file, a path given on the command line, an error
message that quotes either: each is data, never a command to the terminal or to rich. Before one
is shown, :func:`printable` writes its control characters as visible escapes (``\\x1b``), its
undecodable bytes (lone surrogates from a file name in another encoding) as U+FFFD, and cuts it
to a length; :func:`markup` does that and escapes rich markup (``[link=...]``, ``[/]``) for a
string placed inside a markup template. JSON keeps names exact: only what is shown goes through
here.

>>> printable("up\\x1b]0;title\\x07\\x1b[2J")
'up\\\\x1b]0;title\\\\x07\\\\x1b[2J'
>>> markup("[link=https://example.org]up[/link]")
'\\\\[link=https://example.org]up\\\\[/link]'
>>> printable("x" * 300, limit=10)
'xxxxx…xxxx'
>>> printable("caf\\udce9")
'caf\\ufffd'
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["MAX_SHOWN", "escape_markup", "markup", "printable"]

MAX_SHOWN = 200  # characters of one name shown in a table, a note or an error line

# Unicode's bidirectional overrides and isolates reorder what follows them on screen
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# rich's own pattern for a tag (rich.markup.escape), so that exactly what rich would read as
# markup is escaped, and nothing else gains a backslash
_TAG = re.compile(r"(\\*)(\[[a-z#/@][^[]*?])")


def _visible(ch: str) -> str:
    category = unicodedata.category(ch)
    if category == "Cs":  # a byte that was not valid UTF-8 (surrogateescape)
        return "\ufffd"
    if category in ("Cc", "Zl", "Zp") or ch in _BIDI:
        code = ord(ch)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    return ch


def printable(text: object, limit: int | None = MAX_SHOWN) -> str:
    """``text`` with every control character written as an escape (``\\x1b``, ``\\n``
    as ``\\x0a``, C1 controls, bidirectional overrides), invalid bytes as U+FFFD, and at most
    ``limit`` characters (the middle cut to ``…``); ``limit=None`` keeps the whole length."""
    value = str(text)
    if limit is not None and len(value) > 4 * limit:  # escaping cannot shorten: cut first
        value = value[: 2 * limit] + value[-2 * limit :]
        cut = True
    else:
        cut = False
    if not value.isprintable() or any(ch in _BIDI for ch in value):
        value = "".join(
            ch if ch.isprintable() and ch not in _BIDI else _visible(ch) for ch in value
        )
    if limit is not None and (cut or len(value) > limit):
        head = (limit - 1) // 2 + (limit - 1) % 2
        value = value[:head] + "…" + value[len(value) - (limit - 1 - head) :]
    return value


def markup(text: object, limit: int | None = MAX_SHOWN) -> str:
    """:func:`printable`, then escaped for a rich markup string: ``[b]`` prints as ``[b]``."""
    return escape_markup(printable(text, limit))


def escape_markup(value: str) -> str:
    """Escape what rich would read as a markup tag in ``value`` (nothing else changes); for
    text already :func:`printable` and then laid out (a tag may span the lines)."""
    value = _TAG.sub(lambda m: f"{m.group(1)}{m.group(1)}\\{m.group(2)}", value)
    if value.endswith("\\") and not value.endswith("\\\\"):
        value += "\\"
    return value
