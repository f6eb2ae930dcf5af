"""The name an ONNX node is shown by: the module path the exporter recorded, when it did.

``torch.onnx.export`` (torch 2.9 and later: the ``torch.export``-based exporter, which needs the
``onnxscript`` package) names nodes ``node_ConvTranspose_17``, but writes each node's module
path in its ``metadata_props``: ``pkg.torch.onnx.name_scopes`` is the list of scopes from the
root module down to the op, ``['', 'decoder', 'decoder.up', 'convolution']``, each module
scope its full path. The legacy TorchScript exporter (``dynamo=False``) puts the path in the
node's name: ``/decoder/decoder.up/ConvTranspose``. Either way the scan shows ``decoder.up``,
the name the PyTorch scan gives the same layer.

The default exporter's optimiser fuses a BatchNorm into the ConvTranspose before it; the fused
node keeps the BatchNorm's metadata (its path names the BatchNorm, e.g. ``main.1`` for the conv
``main.0``) and ``pkg.onnxscript.rewriter.rule_name`` says ``FuseBatchNormIntoConvTranspose``:
the name then says ``(BatchNorm fused in)``. ``torch.onnx.export(..., optimize=False)`` keeps
each node's own path.

>>> class Node:
...     name, op_type, metadata_props = "/dec/dec.up/ConvTranspose", "ConvTranspose", []
>>> display_name(Node(), 3)
'dec.up'
"""

from __future__ import annotations

import ast
from typing import Any

__all__ = ["display_name"]

SCOPES = "pkg.torch.onnx.name_scopes"
RULES = "pkg.onnxscript.rewriter.rule_name"


def _recorded_path(node: Any) -> str | None:
    """The module path in the node's metadata (the default exporter), else None."""
    meta = {prop.key: prop.value for prop in node.metadata_props}
    try:
        scopes = ast.literal_eval(meta.get(SCOPES, "None"))
    except (ValueError, SyntaxError):
        return None
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        return None
    modules = [scope for scope in scopes[:-1] if scope]  # the last scope is the op itself
    if not modules:
        return None
    rules = meta.get(RULES, "")
    fused = [r.strip() for r in rules.split(",") if r.strip().startswith("Fuse")]
    if fused:  # e.g. FuseBatchNormIntoConvTranspose: the path is the fused-in module's
        what = fused[0].removeprefix("Fuse").split("Into")[0] or "a layer"
        return f"{modules[-1]} ({what} fused in)"
    return modules[-1]


def display_name(node: Any, index: int | str) -> str:
    """``node``'s module path as the exporter recorded it (metadata, or a legacy
    ``/scope/path/OpType`` name); else its name; else ``<OpType>_<index>``."""
    recorded = _recorded_path(node)
    if recorded:
        return recorded
    name = str(node.name)
    parts = name.split("/")
    if name.startswith("/") and len(parts) >= 3 and parts[-2]:  # /a/a.b/OpType (legacy)
        return parts[-2]
    return name or f"{node.op_type}_{index}"
