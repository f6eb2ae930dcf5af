"""The one error type that means "bad input": the CLI turns it into one line and exit code 2."""


class UpscopeError(ValueError):
    """Invalid parameters or input. The message is shown to the user as it is, on one line."""


def one_line(
    exc: BaseException,
    limit: int | None = None,
    *,
    ellipsis: str = " ...",
    typed: bool = False,
    empty: str | None = None,
) -> str:
    """``exc``'s message on one line, for a user: runs of whitespace become one space.

    ``limit``: keep at most that many characters, then ``ellipsis``. ``typed``: prefix the
    type's name (``"ValueError: ..."``). An empty message reads as the type's name alone,
    or as ``empty`` when given (then still prefixed when ``typed``).

    >>> one_line(ValueError("bad\\n  shape"), typed=True)
    'ValueError: bad shape'
    >>> one_line(KeyError(), 10), one_line(RuntimeError("x" * 12), 10)
    ('KeyError', 'xxxxxxxxxx ...')
    """
    text = " ".join(str(exc).split())
    if limit is not None and len(text) > limit:
        text = text[:limit] + ellipsis
    name = type(exc).__name__
    if not text:
        if empty is None:
            return name
        text = empty
    return f"{name}: {text}" if typed else text
