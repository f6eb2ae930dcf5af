"""A fix as code (torch-free): the :class:`Fix` record, module paths as Python, and the two
variants of every fix's code.

- ``code`` (**import variant**): ``import torch``, ``from torch import nn``, ``from upscope.init
  import icnr_, zoh_`` (and ``from upscope.layers import ResizeConv``) as far as the fix uses
  them, then the statements that change ``model``;
- ``code_standalone`` (**self-contained variant**): the same statements after the source of
  those functions, copied from :mod:`upscope.init` and :mod:`upscope.layers` (read as text,
  their ``UpscopeError`` becoming ``ValueError``), for a project that does not want upscope at
  run time. Both variants run the same code.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from upscope.result import Brief

__all__ = ["PROVIDERS", "Fix", "assign", "module_expr", "standalone_source"]

#: name a fix may call -> the upscope module that defines it
PROVIDERS = {"zoh_": "upscope.init", "icnr_": "upscope.init", "ResizeConv": "upscope.layers"}
#: private helpers each provided name needs in the self-contained variant
_NEEDS = {"zoh_": ["_write"], "icnr_": ["_write"], "ResizeConv": []}
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")
#: the note of a fix that balances an op that can still learn a grid (ZOH, ICNR)
LEARNS = "balanced now, can learn a grid in training (re-scans as risk, not ok)"


@dataclass(repr=False)
class Fix(Brief):
    """One suggested replacement; the verification fields are filled by a front end that can
    run the model (:mod:`upscope.scanning.verify`)."""

    title: str
    statements: str  # the lines that change the model (``model.up = ...``)
    overlap: str  # overlap verdict of the replacement
    target: str | None  # module path whose output is the op's output after the fix
    uses: list[str] = field(default_factory=list)  # names of PROVIDERS it calls
    keep_out: list[str] = field(default_factory=list)  # paths whose own shape may change
    scales: tuple[int, ...] = ()  # phase period of the target's output
    touches: list[str] = field(default_factory=list)  # module paths the code replaces or edits
    shift: tuple[float, ...] | None = None  # content shift per axis, output pixels (+: later)
    notes: list[str] = field(default_factory=list)  # what the title does not say
    verified: bool = False
    reason: str | None = None  # why it is not verified
    same_shapes: bool | None = None
    response: float | None = None
    params_delta: int | None = None
    # the output grid re-measured with the fix in (grey levels): the op's share, and all of it
    output_grid: float | None = None
    output_grid_total: float | None = None

    _brief = ("title", "verified", "overlap", "output_grid", "same_shapes", "params_delta")

    def _imports(self) -> list[str]:
        lines = ["import torch", "from torch import nn"]
        for module in dict.fromkeys(PROVIDERS[name] for name in self.uses):
            names = ", ".join(name for name in self.uses if PROVIDERS[name] == module)
            lines.append(f"from {module} import {names}")
        return lines

    @property
    def code(self) -> str:
        """The import variant: imports (upscope's initialisers by import), then the statements."""
        return "\n".join(self._imports()) + "\n\n" + self.statements.rstrip("\n") + "\n"

    @property
    def code_standalone(self) -> str:
        """The self-contained variant: no upscope import; the functions it calls are inline."""
        if not self.uses:
            return self.code
        head = standalone_source(tuple(self.uses))
        return head + "\n\n" + self.statements.rstrip("\n") + "\n"

    @property
    def note(self) -> str:
        """The notes as one sentence list (shift, what training can do)."""
        return "; ".join(self.notes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "code": self.code,
            "code_standalone": self.code_standalone,
            "uses": list(self.uses),
            "note": self.note or None,
            "shift": None if self.shift is None else list(self.shift),
            "verified": self.verified,
            "reason": self.reason,
            "same_shapes": self.same_shapes,
            "overlap": self.overlap,
            "response": self.response,
            "params_delta": self.params_delta,
            "output_grid": self.output_grid,
            "output_grid_total": self.output_grid_total,
        }


# ---------------------------------------------------------------- module paths


def _parts(path: str, access: tuple[str, ...] | None) -> list[tuple[str, str]]:
    """``(name, how)`` per part: ``attr``, ``index`` (Sequential, ModuleList) or ``key``
    (ModuleDict); without ``access``: digits are indices, identifiers attributes, other names
    ModuleDict keys."""
    names = path.split(".") if path else []
    if access is not None and len(access) == len(names):
        return list(zip(names, access, strict=True))
    guess = [
        "index" if n.isdigit() else "attr" if _IDENTIFIER.fullmatch(n) else "key" for n in names
    ]
    return list(zip(names, guess, strict=True))


def _step(expr: str, name: str, how: str) -> str:
    if how == "index":
        return f"{expr}[{int(name)}]"
    if how == "key":
        return f"{expr}[{name!r}]"
    if _IDENTIFIER.fullmatch(name):
        return f"{expr}.{name}"
    return f"getattr({expr}, {name!r})"


def module_expr(path: str, access: tuple[str, ...] | None = None, root: str = "model") -> str:
    """The Python expression of the module at ``path`` (``"decoder.blocks.3.up"`` ->
    ``model.decoder.blocks[3].up``); ``access`` says how each part is reached.

    >>> module_expr("main.3"), module_expr("blocks.up-1"), module_expr("d.0", ("attr", "key"))
    ('model.main[3]', "model.blocks['up-1']", "model.d['0']")
    >>> module_expr("a.b-c", ("attr", "attr"))
    "getattr(model.a, 'b-c')"
    """
    expr = root
    for name, how in _parts(path, access):
        expr = _step(expr, name, how)
    return expr


def assign(path: str, value: str, access: tuple[str, ...] | None = None) -> str:
    """A statement that puts ``value`` (source) at ``path``: valid Python for any name.

    >>> assign("blocks.up-1", "x"), assign("up", "x"), assign("a.b-c", "x", ("attr", "attr"))
    ("model.blocks['up-1'] = x", 'model.up = x', "setattr(model.a, 'b-c', x)")
    """
    parts = _parts(path, access)
    if not parts:
        return f"model = {value}"
    name, how = parts[-1]
    if how == "attr" and not _IDENTIFIER.fullmatch(name):
        parent = module_expr(path.rpartition(".")[0], tuple(h for _, h in parts[:-1]))
        if "\n" in value:
            return f"setattr(\n    {parent},\n    {name!r},\n    {_indent(value)},\n)"
        return f"setattr({parent}, {name!r}, {value})"
    return f"{module_expr(path, tuple(h for _, h in parts))} = {value}"


def _indent(text: str) -> str:
    return text.replace("\n", "\n    ")


# ---------------------------------------------------------------- the self-contained variant


def _docstring_head(node: ast.AST) -> str | None:
    doc = ast.get_docstring(node)  # type: ignore[arg-type]
    return None if doc is None else doc.split("\n\n")[0]


@cache
def _definitions() -> dict[str, str]:
    """name -> source of every top-level function and class of upscope.init and upscope.layers,
    with docstrings cut to their first paragraph (no doctests)."""
    here = Path(__file__).resolve().parent.parent
    found: dict[str, str] = {}
    for file in ("init.py", "layers.py"):
        text = (here / file).read_text(encoding="utf-8")
        lines = text.splitlines()
        for node in ast.parse(text).body:
            if not isinstance(node, ast.FunctionDef | ast.ClassDef):
                continue
            body = lines[node.lineno - 1 : node.end_lineno]
            doc_node = node.body[0] if node.body else None
            head = _docstring_head(node)
            if head is not None and isinstance(doc_node, ast.Expr):
                start = doc_node.lineno - node.lineno
                stop = (doc_node.end_lineno or doc_node.lineno) - node.lineno
                indent = " " * doc_node.col_offset
                short = indent + '"""' + head.replace("\n", "\n" + indent) + '"""'
                body = body[:start] + short.splitlines() + body[stop + 1 :]
            found[node.name] = "\n".join(body).replace("UpscopeError", "ValueError")
    return found


@cache
def standalone_source(names: tuple[str, ...]) -> str:
    """Imports and the source of ``names`` and the helpers they need, for pasting without
    upscope installed."""
    definitions = _definitions()
    wanted = list(dict.fromkeys([*names, *(h for n in names for h in _NEEDS[n])]))
    imports = ["import itertools", "import math", "from typing import Any", ""]
    imports += ["import torch", "import torch.nn.functional as F", "from torch import nn"]
    return "\n".join(imports) + "\n\n\n" + "\n\n\n".join(definitions[n] for n in wanted)
