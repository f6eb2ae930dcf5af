"""The one error type that means "bad input": the CLI turns it into one line and exit code 2."""


class UpscopeError(ValueError):
    """Invalid parameters or input. The message is shown to the user as it is, on one line."""
