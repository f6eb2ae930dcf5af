"""One module per CLI command. Each exposes ``register(app)``.

The options every command shares (``--json``, ``--out``, ``--no-png``, ``--seed``) are declared
here once, so their names, defaults and bounds agree across commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

SEED_MAX = 2**31 - 1
OUT_DEFAULT = Path("upscope-out")

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
NoPngFlag = Annotated[bool, typer.Option("--no-png", help="Write no files.")]


def out_option(help: str) -> Any:
    """``--out DIR``: where the command's PNG files go (default ``upscope-out``)."""
    return typer.Option("--out", help=help)


def seed_option(help: str) -> Any:
    """``--seed N``: fixes every random choice of the command; 0 <= N < 2**31."""
    return typer.Option("--seed", min=0, max=SEED_MAX, help=help)
