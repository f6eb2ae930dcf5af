"""``upscope scan``: find every upsampling op of a model and judge it.

One front end per model format produces the same op records (:mod:`.records`), and one judge
(:mod:`.judge`) consumes them:

- :mod:`.args`: MODEL and ``--input-shape`` read without torch;
- :mod:`.load`: import and build a PyTorch model, load its weights (torch);
- :mod:`.torch_front`: trace a forward pass into :class:`~.records.UpOp` records (torch);
- :mod:`.records`: the op record, torch-free;
- :mod:`.judge`: geometry, weights and response judgments and the status of each op (no torch);
- :mod:`.score`: the response score, the probe's phase-energy imbalance on any number of axes;
- :mod:`.grid`: the output grid, the model's own output on constant inputs, by period and per op;
- :mod:`.fix`: ranked fixes as pasteable PyTorch code, from the records alone (no torch);
- :mod:`.fix_code`: a fix as code: module paths as Python, the import and self-contained
  variants (the latter copies :mod:`upscope.init` and :mod:`upscope.layers` as text);
- :mod:`.verify`: each fix swapped into a deep copy of a live model and run again (torch);
- :mod:`.report`: the JSON document (``--json`` and ``ScanResult.to_dict()``);
- :mod:`.run`: :func:`~.run.scan`, the one entry point of the CLI and ``upscope.scan``;
- :mod:`.onnx_graph`, :mod:`.onnx_front`: the ONNX front end (``upscope scan FILE.onnx``):
  load and check a graph, then read its upsampling nodes into the same records (no torch).

This package's ``__init__`` imports nothing, so a torch-free front end stays torch-free.
"""
