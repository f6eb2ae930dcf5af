"""What :func:`upscope.size`, :func:`upscope.stack`, :func:`upscope.solve` and
:func:`upscope.framework_size` return: the numbers as attributes, ``to_dict()`` (the CLI's
``--json``), the CLI's text for ``rich`` and notebooks. Standard library only; rich is imported
when a view is asked for.
"""

from __future__ import annotations

from dataclasses import dataclass

from upscope.arith import Axes, Bounds, LayerResult, LayerSpec, Solution
from upscope.result import Result

__all__ = ["FrameworkSize", "LayerStack", "Solutions"]


@dataclass(frozen=True, repr=False)
class LayerStack(Result):
    """The sizes through one layer or a stack (``upscope size``).

    ``layers[n]`` is layer n's :class:`~upscope.arith.LayerResult`: its spec, input and output
    size per axis, overlap verdict (None where it does not apply), note and formulas.
    """

    layers: tuple[LayerResult, ...]

    _brief = ("input", "output", "layers=specs")

    @property
    def specs(self) -> tuple[LayerSpec, ...]:
        """Each layer's spec (``str(spec)`` is the ``--layer`` text)."""
        return tuple(layer.spec for layer in self.layers)

    @property
    def input(self) -> Axes:
        """The input size, one int per axis."""
        return self.layers[0].input

    @property
    def output(self) -> Axes:
        """The output size of the last layer, one int per axis."""
        return self.layers[-1].output


@dataclass(frozen=True, repr=False)
class Solutions(Result):
    """The transposed convolutions that map ``input`` to ``target`` exactly, best first
    (``upscope size --target``). Each entry holds one :class:`~upscope.arith.Solution` per axis.
    """

    input: Axes
    target: Axes
    solutions: tuple[tuple[Solution, ...], ...]
    per_axis: bool
    bounds: Bounds = Bounds()
    limit: int = 20  # rows the table shows; to_dict() lists them all

    _brief = ("input", "target", "solutions", "recommended")

    @property
    def recommended(self) -> tuple[Solution, ...] | None:
        """The first (best) solution, one per axis; None when there is none."""
        return self.solutions[0] if self.solutions else None


@dataclass(frozen=True, repr=False)
class FrameworkSize(Result):
    """A Keras or JAX transposed convolution's output size, per axis, and the PyTorch
    ``(padding, output_padding)`` giving the same size (None where none does)."""

    framework: str
    padding: str
    per_axis: bool
    input: Axes
    kernel: Axes
    stride: Axes
    dilation: Axes
    output_padding: Axes | None
    output: Axes
    torch_equivalent: tuple[tuple[int, int] | None, ...]

    _brief = ("framework", "padding", "input", "output", "torch_equivalent")
