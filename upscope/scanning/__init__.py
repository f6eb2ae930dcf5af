"""``upscope scan``: find every upsampling op of a model and judge it.

One front end per model format produces the same op records (:mod:`.records`), and one judge
(:mod:`.judge`) consumes them:

- :mod:`.args`: MODEL and ``--input-shape`` read without torch;
- :mod:`.load`: import and build a PyTorch model, load its weights (torch);
- :mod:`.torch_front`: trace a forward pass into :class:`~.records.UpOp` records (torch);
- :mod:`.records`: the op record, torch-free;
- :mod:`.judge`: overlap verdict, weight imbalance, compound maps and the flag for each op;
- :mod:`.onnx_graph`, :mod:`.onnx_front`: the ONNX front end (``upscope scan FILE.onnx``):
  load and check a graph, then read its upsampling nodes into the same records (no torch).

This package's ``__init__`` imports nothing, so a torch-free front end stays torch-free.
"""
