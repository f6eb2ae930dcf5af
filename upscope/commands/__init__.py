"""One module per CLI command. Each exposes ``register(app)``.

The options every command shares (``--json``, ``--out``, ``--no-png``, ``--seed``) are declared
here once, so their names, defaults and bounds agree across commands; so is how every help
screen labels its options (:class:`UpscopeCommand`, :class:`UpscopeGroup`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from upscope.errors import UpscopeError

SEED_MAX = 2**31 - 1
OUT_DEFAULT = Path("upscope-out")

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
NoPngFlag = Annotated[bool, typer.Option("--no-png", help="Write no files.")]

# The one-layer options that `size` and `overlap` share (`--p` differs: size takes keras/jax words).
KernelOpt = Annotated[
    str | None, typer.Option("--k", metavar="K", help="Kernel size (int or AxB).")
]
StrideOpt = Annotated[
    str | None, typer.Option("--s", metavar="S", help="Stride (int or AxB); default 1.")
]
OutPadOpt = Annotated[
    str | None, typer.Option("--op", metavar="OP", help="Output padding (int or AxB); default 0.")
]
DilationOpt = Annotated[
    str | None, typer.Option("--d", metavar="D", help="Dilation (int or AxB); default 1.")
]
INPUT_HELP = "Input size: N, or AxB per axis."
# Read by `upscope.commands._shell.guarded`, which runs the command inside `limits.max_memory(...)`.
MaxMemoryOpt = Annotated[
    str | None,
    typer.Option(
        "--max-memory",
        metavar="SIZE",
        help="Memory budget, e.g. 2G or 512M (default: half the memory available).",
    ),
]


def _label_flags(params: Sequence[Any]) -> None:
    """Show no type beside an on/off flag (typer 0.29 prints ``<bool>``), ``--help`` included,
    nor beside a variadic argument (``<list[str]>``).

    A metavar of "" is what the help screen prints in the type column instead; an option that
    set its own metavar keeps it.
    """
    for param in params:
        if isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
            param.metavar = ""
        if isinstance(param, TyperArgument) and param.nargs == -1:
            # a variadic argument (detect's IMAGES) would show typer's "<list[str]>"
            setattr(param, "display_type_rich", lambda ctx=None: None)  # noqa: B010


class UpscopeCommand(TyperCommand):
    """A command whose help shows flags bare and a required argument as ``MODEL``, not
    ``{MODEL}``. Every command is registered with ``cls=UpscopeCommand``.

    ``ctx`` is typed ``Any``: the methods take the vendored click's Context, which upscope does
    not import (typer.Context is a subclass of it).
    """

    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)
        _label_flags(params)
        return params

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        """Parse as click does, then refuse an empty value (``--s ""``, ``compare ""``): one
        line, exit 2, rather than a silent default."""
        rest = super().parse_args(ctx, args)
        for param in self.get_params(ctx):
            source = ctx.get_parameter_source(param.name)
            if getattr(source, "name", None) != "COMMANDLINE":
                continue  # a default of "" means "not given", which the command explains
            value = ctx.params.get(param.name)
            values = value if isinstance(value, list | tuple) else [value]
            if any(isinstance(v, str | Path) and not str(v).strip() for v in values):
                name = param.opts[0] if param.opts and param.opts[0].startswith("-") else None
                name = name or (param.metavar or str(param.name).upper())
                raise UpscopeError(f"{name} is empty: give it a value")
        return rest

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if isinstance(param, TyperArgument) and param.required and param.nargs == 1:
                pieces.append(param.display_name_raw)
            else:
                pieces.extend(param.get_usage_pieces(ctx))
        return pieces


class UpscopeGroup(TyperGroup):
    """The top-level ``upscope`` group: ``--version`` and ``--help`` shown as bare flags."""

    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)
        _label_flags(params)
        return params


def examples_epilog(*examples: str) -> str:
    """The end of a command's help: ``Examples:`` and one runnable command per line.

    Paragraphs (blank-line separated) keep each example on its own line in rich help and in
    click's plain help alike. tests/test_cli_help.py runs every example shown.
    """
    return "\n\n".join(["Examples:", *(f"  {example}" for example in examples)])


def out_option(help: str) -> Any:
    """``--out DIR``: where the command's PNG files go (default ``upscope-out``)."""
    return typer.Option("--out", metavar="DIR", help=help)


def _check_seed(value: int) -> int:
    if not 0 <= value <= SEED_MAX:
        raise typer.BadParameter(f"must be 0 to {SEED_MAX} (2**31 - 1), got {value}")
    return value


def seed_option(help: str) -> Any:
    """``--seed INT``: fixes every random choice of the command; 0 <= INT < 2**31.

    ``help`` should say "0 or more": the bounds are checked by a callback rather than typer's
    min/max, which would print ``[0<=x<=2147483647]`` on every help screen.
    """
    return typer.Option("--seed", metavar="INT", callback=_check_seed, help=help)
