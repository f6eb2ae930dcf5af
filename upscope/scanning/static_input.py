"""Whether a model file can give the scan its input shape, read with ``ast`` (no import, no torch).

``upscope scan file.py:Gen`` without ``--input-shape`` needs the model's
``example_input_array``. Importing torch and building the model to find out takes seconds, so
:func:`example_input_in_file` first reads the file: when the file alone proves that ``Gen``
cannot have that attribute, the scan refuses at once. It proves it only when

- the text ``example_input_array`` appears nowhere in the file, and the file calls none of
  ``setattr``, ``exec``, ``eval``, ``__import__``, ``vars``, ``globals``, uses ``__dict__``,
  nor defines ``__getattr__``/``__setattr__`` (which could add the attribute under a computed
  name);
- ``Gen`` is a top-level class whose bases are classes of the same file (checked the same way,
  with no decorators, no metaclass, and no call that is handed ``self``) or torch's own
  ``nn.Module``/``nn.Sequential``/``nn.ModuleList``/``nn.ModuleDict`` (imported from torch in
  this file), or a top-level
  function every ``return`` of which builds such a class (or returns one of them by name).

Anything else (a module path, a base class imported from another file such as a
``LightningModule``, a factory returning what another module builds) cannot be told from the
file: the answer then says why, and the scan builds the model to know.

>>> text = "from torch import nn\\nclass G(nn.Module):\\n    pass\\ndef make():\\n    return G()\\n"
>>> example_input_in_file(text, "G"), example_input_in_file(text, "make")
(False, False)
>>> example_input_in_file("from lightning import LightningModule as L\\nclass G(L): pass", "G")
'G derives from L, which is not defined in the file'
"""

from __future__ import annotations

import ast
from pathlib import Path

from upscope.errors import UpscopeError
from upscope.scanning.args import split_model_spec

__all__ = ["example_input_in_file", "refuse_without_shape"]

ATTRIBUTE = "example_input_array"
_TORCH_BASES = {"Module", "Sequential", "ModuleList", "ModuleDict"}
_DYNAMIC_CALLS = {"setattr", "exec", "eval", "__import__", "vars", "globals"}
_DYNAMIC_DEFS = {"__getattr__", "__setattr__", "__getattribute__", "__init_subclass__"}


def _torch_names(tree: ast.Module) -> set[str]:
    """Names the file binds to torch, torch.nn or one of its container classes."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in ("torch", "torch.nn"):
                    names.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.module in ("torch", "torch.nn"):
            for alias in node.names:
                if alias.name == "nn" or alias.name in _TORCH_BASES:
                    names.add(alias.asname or alias.name)
    return names


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return None if inner is None else f"{inner}.{node.attr}"
    return None


def _is_torch_base(text: str, torch_names: set[str]) -> bool:
    parts = text.split(".")
    if len(parts) == 1:  # from torch.nn import Module
        return parts[0] in torch_names and parts[0] in _TORCH_BASES
    return parts[0] in torch_names and parts[-1] in _TORCH_BASES and set(parts[1:-1]) <= {"nn"}


def example_input_in_file(source: str, name: str) -> bool | str:
    """False when ``source`` (a model file's text) proves that ``name`` cannot have an
    ``example_input_array``; else a short reason why the file alone cannot tell."""
    if ATTRIBUTE in source:
        return f"the file mentions {ATTRIBUTE}"
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError) as exc:
        return f"the file does not parse ({type(exc).__name__})"
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _dotted(node.func) in _DYNAMIC_CALLS:
            return f"the file calls {_dotted(node.func)}()"
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in _DYNAMIC_DEFS:
            return f"the file defines {node.name}"
        if isinstance(node, ast.Attribute) and node.attr == "__dict__":
            return "the file uses __dict__"
    top = {
        node.name: node
        for node in tree.body
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
    }
    torch_names = _torch_names(tree)

    def class_reason(cls_name: str, seen: frozenset[str]) -> str | None:
        node = top.get(cls_name)
        if not isinstance(node, ast.ClassDef):
            return f"{cls_name} is not a class defined at the top of the file"
        if node.decorator_list or node.keywords:
            return f"{cls_name} has a decorator or a metaclass"
        for call in ast.walk(node):  # a helper of another file could set the attribute on self
            if isinstance(call, ast.Call) and any(
                isinstance(arg, ast.Name) and arg.id == "self"
                for arg in [*call.args, *(k.value for k in call.keywords)]
            ):
                return f"{cls_name} passes self to {_dotted(call.func) or 'a call'}()"
        for base in node.bases:
            text = _dotted(base)
            if text is None:
                return f"{cls_name} has a computed base class"
            if _is_torch_base(text, torch_names):
                continue
            if text in seen:
                return f"{cls_name}'s bases loop"
            if not isinstance(top.get(text), ast.ClassDef):
                return f"{cls_name} derives from {text}, which is not defined in the file"
            reason = class_reason(text, seen | {cls_name})
            if reason is not None:
                return reason
        return None

    if "." in name:
        return f"{name} is a nested name"
    target = top.get(name)
    if target is None:
        return f"{name} is not defined at the top of the file (it may be imported or assigned)"
    if isinstance(target, ast.ClassDef):
        reason = class_reason(name, frozenset())
        return False if reason is None else reason
    if target.decorator_list:
        return f"{name} has a decorator"
    returns = [n for n in ast.walk(target) if isinstance(n, ast.Return)]
    if not returns:
        return f"{name} returns nothing the file shows"
    for ret in returns:
        value = ret.value
        built = _dotted(value.func) if isinstance(value, ast.Call) else None
        if built is None:
            return f"{name} returns something other than a class of the file, built"
        if _is_torch_base(built, torch_names):
            continue
        reason = class_reason(built, frozenset())
        if reason is not None:
            return f"{name} returns {built}(...): {reason}"
    return False


_MAX_READ = 1 << 20  # bytes of a model file read to look for example_input_array


def refuse_without_shape(model: str) -> str | None:
    """Refuse at once (before torch loads) when MODEL's file proves it has no
    ``example_input_array`` (:func:`example_input_in_file`); else why the file cannot tell."""
    where, name, is_file = split_model_spec(model)
    if not is_file:
        return f"{where} is a module, read only by importing it"
    path = Path(where)
    if path.stat().st_size > _MAX_READ:
        return f"{path.name} is over {_MAX_READ >> 20} MiB"
    source = path.read_text(encoding="utf-8", errors="replace")
    reason = example_input_in_file(source, name)
    if reason is False:
        raise UpscopeError(
            "--input-shape is required (e.g. --input-shape 1x100x1x1): "
            f"{name} in {path.name} defines no {ATTRIBUTE} (read from the file)"
        )
    return str(reason)
