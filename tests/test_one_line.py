"""errors.one_line, the one helper that puts an exception's message on one line, gives exactly
what the three helpers it replaced gave (verify._first_line, onnx_graph._short and torch_front's
inline cut), so users see the same messages."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from upscope.errors import one_line

messages = st.one_of(
    st.just(""),
    st.text(alphabet=" \t\nab:é", max_size=20),
    st.text(min_size=290, max_size=420),
)
types = st.sampled_from([ValueError, RuntimeError, KeyError, SystemExit, AssertionError])


def _old_first_line(exc: BaseException) -> str:  # verify._first_line as it was
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__


def _old_short(exc: BaseException) -> str:  # onnx_graph._short as it was
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:300] + " ..."


def _old_torch_front(exc: BaseException) -> str:  # torch_front.trace's inline cut as it was
    message = " ".join(str(exc).split())
    if len(message) > 400:
        message = message[:400] + " ..."
    return f"{type(exc).__name__}: {message}"


@given(types, messages)
def test_one_line_gives_the_old_messages(kind: type[BaseException], message: str) -> None:
    exc = kind(message) if message else kind()
    assert one_line(exc, 300, ellipsis="", typed=True) == _old_first_line(exc)
    assert one_line(exc, 300) == _old_short(exc)
    assert one_line(exc, 400, typed=True, empty="") == _old_torch_front(exc)


def test_one_line_cuts_and_names() -> None:
    assert one_line(ValueError("a\n\n b")) == "a b"
    assert one_line(ValueError("abcdef"), 3) == "abc ..."
    assert one_line(ValueError("abcdef"), 3, ellipsis="", typed=True) == "ValueError: abc"
    assert one_line(RuntimeError()) == "RuntimeError"
