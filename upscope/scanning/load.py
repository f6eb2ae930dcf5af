"""Load a user's model for ``upscope scan``: MODEL, its weights, and the input shapes.

:func:`load_model` imports ``file.py:Name`` or ``package.module:Name`` (this executes that Python
file, as any import does) and builds it: an ``nn.Module`` subclass, a no-argument factory, or an
instance. :func:`load_weights` loads a state dict with ``torch.load(weights_only=True)``, so no
code in it runs. :func:`default_input_shapes` reads the model's ``example_input_array`` when
``--input-shape`` is not given (which :mod:`upscope.scanning.args` reads, without torch).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import re
import sys
import warnings
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from upscope.errors import UpscopeError
from upscope.files import check_regular_file
from upscope.scanning.args import Shape, parse_input_shape, split_model_spec

__all__ = ["Shape", "parse_input_shape", "load_model", "load_weights", "default_input_shapes"]


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0].strip() if text else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def _import_target(spec: str) -> tuple[Any, str]:
    where, name, is_file = split_model_spec(spec)
    if is_file:
        path = Path(where)
        stem = re.sub(r"\W", "_", path.stem)
        digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:10]
        module_name = f"_upscope_model_{stem}_{digest}"
        mod_spec = importlib.util.spec_from_file_location(module_name, path)
        if mod_spec is None or mod_spec.loader is None:
            raise UpscopeError(f"cannot import {where!r} as a Python file")
        module = importlib.util.module_from_spec(mod_spec)
        sys.modules[module_name] = module
        folder = str(path.resolve().parent)
        sys.path.insert(0, folder)
        try:
            mod_spec.loader.exec_module(module)
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - the user's file: report it
            sys.modules.pop(module_name, None)
            raise UpscopeError(f"importing {where!r} failed: {_first_line(exc)}") from None
        finally:
            if folder in sys.path:
                sys.path.remove(folder)
    else:
        # like `python -m` and uvicorn: the current directory is searched first, so that
        # `samples.models:UNet` works from a checkout with the `upscope` console script too
        cwd = os.getcwd()
        sys.path.insert(0, cwd)
        try:
            module = importlib.import_module(where)
        except ModuleNotFoundError as exc:
            raise UpscopeError(f"cannot import module {where!r}: {_first_line(exc)}") from None
        except (Exception, SystemExit) as exc:  # noqa: BLE001
            raise UpscopeError(f"importing {where!r} failed: {_first_line(exc)}") from None
        finally:
            if sys.path and sys.path[0] == cwd:
                del sys.path[0]
            elif cwd in sys.path:
                sys.path.remove(cwd)
    obj: Any = module
    for part in name.split("."):
        if not hasattr(obj, part):
            raise UpscopeError(f"{where!r} has no attribute {name!r}")
        obj = getattr(obj, part)
    return obj, name


def load_model(spec: str, seed: int = 0) -> nn.Module:
    """Import MODEL and build it: an nn.Module subclass or a no-argument factory.

    torch (and Python's ``random``, numpy) are seeded with ``seed`` before the constructor runs,
    so default initialisations are reproducible.
    """
    obj, name = _import_target(spec)
    if isinstance(obj, nn.Module):
        return obj
    if not callable(obj):
        raise UpscopeError(
            f"{name!r} is {_article(type(obj).__name__)} {type(obj).__name__}, "
            "not an nn.Module subclass or a factory"
        )
    if isinstance(obj, type) and not issubclass(obj, nn.Module):
        raise UpscopeError(f"{name!r} is a class but not an nn.Module subclass")
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    import random

    random.seed(seed)
    try:
        model = obj()
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - the user's constructor
        raise UpscopeError(
            f"building {name}() failed (it must take no arguments): {_first_line(exc)}"
        ) from None
    if not isinstance(model, nn.Module):
        raise UpscopeError(
            f"{name}() returned a {type(model).__name__}, not an nn.Module; "
            "give an nn.Module subclass or a factory that returns one"
        )
    return model


def _few(keys: Sequence[str], n: int = 3) -> str:
    shown = ", ".join(repr(k) for k in list(keys)[:n])
    return shown + (f" and {len(keys) - n} more" if len(keys) > n else "")


# torch.save's two formats: a zip archive (torch >= 1.6) or, with
# _use_new_zipfile_serialization=False, a pickle (protocol 2) whose first object is this number
_ZIP_MAGIC = b"PK\x03\x04"
_LEGACY_MAGIC = b"\x80\x02\x8a\x0a" + (0x1950A86A20F9469CFC6C).to_bytes(10, "little")
_FORMATS = "neither a zip archive nor a legacy torch pickle"
_AGAIN = "copy or save it again"


def _unpickler_reason(exc: BaseException) -> str:
    """The 'WeightsUnpickler error: ...' part of torch's long weights-only message, if any."""
    text = " ".join(str(exc).split())
    for marker in ("WeightsUnpickler error:", "from a trusted source."):  # after torch's advice
        if marker in text:
            reason = text.split(marker, 1)[1]
            return reason.split(" Please use")[0].split(" Check the documentation")[0].strip(" .")
    first = _first_line(exc)
    return "torch refused it" if "weights_only" in first else first


def _text_start(head: bytes) -> str | None:
    """The first words of ``head`` if it reads as text (UTF-8, printable), else None."""
    decoded = head.decode("utf-8", errors="replace")
    if "\ufffd" in decoded[:-3]:  # a character cut at the end of the 64 bytes is fine
        return None
    decoded = decoded.rstrip("\ufffd")
    if not all(ch.isprintable() or ch in "\t\r\n" for ch in decoded):
        return None
    lines = decoded.strip().splitlines()
    return lines[0][:24] if lines else ""


def _unloadable(path: Path, exc: BaseException) -> str:
    """Why torch.load(weights_only=True) failed on ``path``, in one line, from the file's first
    bytes and torch's exception: unsafe objects, empty, truncated, another format, text."""
    try:
        with path.open("rb") as handle:
            head = handle.read(64)
    except OSError as err:
        return f"cannot be read: {err.strerror or _first_line(err)}"
    code = re.search(r"unsupported GLOBAL (\S+)", str(exc))
    if code is not None:  # torch refused a callable; never suggest its weights_only=False retry
        return (
            f"was refused: loading it would execute code (its pickle calls {code.group(1)}); "
            "upscope loads only tensors, with torch.load(weights_only=True). Save "
            "model.state_dict() with torch.save from a trusted copy and pass that file"
        )
    if "Unsupported global" in str(exc):
        return (
            "holds Python objects besides tensors, which upscope does not execute "
            f"(torch.load with weights_only=True: {_unpickler_reason(exc)}); "
            "save model.state_dict() with torch.save and pass that file"
        )
    if not head:
        return f"is empty (0 bytes), not a checkpoint torch.save wrote ({_FORMATS})"
    if head.startswith(_ZIP_MAGIC):
        if not zipfile.is_zipfile(path):
            return (
                "is a truncated or damaged torch checkpoint: it starts as a zip archive but its "
                f"end (the zip directory) is missing; {_AGAIN}"
            )
        with zipfile.ZipFile(path) as archive:
            torch_zip = any(name.endswith("data.pkl") for name in archive.namelist())
        if torch_zip:
            return f"is a damaged torch checkpoint (torch.load: {_unpickler_reason(exc)})"
        return "is a zip archive but not a checkpoint torch.save wrote (it holds no data.pkl)"
    if head.startswith(_LEGACY_MAGIC):
        if isinstance(exc, EOFError):
            return f"is a truncated torch checkpoint (legacy format): its data ends early; {_AGAIN}"
        reason = _unpickler_reason(exc)
        return f"is a damaged torch checkpoint (legacy format; torch.load: {reason})"
    if head.startswith(b"\x80"):
        return "is a Python pickle but not a checkpoint torch.save wrote (no torch magic number)"
    start = _text_start(head)
    if start is not None:
        return (
            f"is a text file (it starts {start!r}), not a checkpoint torch.save wrote (a zip "
            "archive or a legacy torch pickle)"
        )
    return (
        f"is not a checkpoint torch.save wrote ({_FORMATS}; it starts with the bytes "
        f"{head[:8].hex(' ')})"
    )


def load_weights(model: nn.Module, path: Path) -> None:
    """Load a state dict saved with ``torch.save`` (``weights_only=True``: no code runs).

    A plain state dict, or a dict holding one under ``"state_dict"``; a ``module.`` prefix on
    every key (DataParallel) is removed. Keys must match the model exactly.
    """
    check_regular_file(path, "--weights file")
    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols it then refuses
            warnings.simplefilter("ignore")
            loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - a bad or unsafe file
        raise UpscopeError(f"--weights {str(path)!r} {_unloadable(path, exc)}") from None
    if isinstance(loaded, dict) and isinstance(loaded.get("state_dict"), dict):
        loaded = loaded["state_dict"]
    if not isinstance(loaded, dict):
        raise UpscopeError(
            f"--weights {str(path)!r} holds a {type(loaded).__name__}, not a state dict "
            "(a dict of parameter name -> tensor, as model.state_dict() gives)"
        )
    bad = [k for k, v in loaded.items() if not isinstance(k, str) or not torch.is_tensor(v)]
    if bad:
        raise UpscopeError(
            f"--weights {str(path)!r} is not a state dict: entries {_few([str(b) for b in bad])} "
            "are not name -> tensor"
        )
    own = model.state_dict()
    if all(k.startswith("module.") for k in loaded) and not any(
        k.startswith("module.") for k in own
    ):
        loaded = {k[len("module.") :]: v for k, v in loaded.items()}
    missing = [k for k in own if k not in loaded]
    unexpected = [k for k in loaded if k not in own]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing ({_few(missing)})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected ({_few(unexpected)})")
        raise UpscopeError(
            f"--weights {str(path)!r} does not match the model: keys " + "; ".join(parts)
        )
    try:
        model.load_state_dict(loaded, strict=True)
    except RuntimeError as exc:
        detail = " ".join(str(exc).split("\n\t")[1:2]) or _first_line(exc)
        raise UpscopeError(f"--weights {str(path)!r} does not fit the model: {detail}") from None


class _Bare(nn.Module):
    """A model that is itself one upsampling module (``nn.ConvTranspose2d(...)``), held as the
    child named after its type while it is scanned: the tracer names an op by its module path,
    and the root's path is empty (nothing a fix could be swapped into)."""

    def __init__(self, module: nn.Module, name: str) -> None:
        super().__init__()
        self.held = name
        self.add_module(name, module)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return getattr(self, self.held)(*args, **kwargs)


def hold_bare(model: nn.Module) -> tuple[nn.Module, str | None]:
    """``model``, or a holder of it and its op name when the model is a bare upsampling module
    (a transposed conv, ``nn.Upsample``, ``nn.PixelShuffle``); see :func:`release_bare`."""
    kinds = (nn.modules.conv._ConvTransposeNd, nn.Upsample, nn.PixelShuffle)
    if not isinstance(model, kinds):
        return model, None
    name = type(model).__name__
    return _Bare(model, name), name


def release_bare(fix_statements: str, name: str) -> str:
    """A fix's code for the held module, written for the user's bare module itself
    (``model.ConvTranspose2d = ...`` -> ``model = ...``).

    >>> release_bare("model.ConvTranspose2d = nn.Upsample(scale_factor=2)", "ConvTranspose2d")
    'model = nn.Upsample(scale_factor=2)'
    """
    return re.sub(rf"\bmodel\.{re.escape(name)}\b", "model", fix_statements)


def default_input_shapes(model: nn.Module) -> list[Shape] | None:
    """Shapes of the model's ``example_input_array`` (the PyTorch Lightning convention), if any."""
    example = getattr(model, "example_input_array", None)
    if torch.is_tensor(example):
        return [tuple(example.shape)]
    if isinstance(example, tuple | list) and example and all(torch.is_tensor(t) for t in example):
        return [tuple(t.shape) for t in example]
    return None
