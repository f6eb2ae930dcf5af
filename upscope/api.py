"""The Python API: the analyses of the CLI as functions, re-exported as ``upscope.size`` etc.

Each function takes what the command's options take (an int, an ``"AxB"`` string or a tuple
per axis where the CLI takes ``AxB``), refuses bad input with :class:`upscope.UpscopeError` and
the CLI's message, and returns a result object (:class:`upscope.result.Result`): the numbers as
attributes, ``to_dict()`` equal to the command's ``--json``, ``save_png(dir)`` for the figures,
and the command's text for ``rich.print`` and notebooks. The CLI calls these functions.

This module imports neither torch nor matplotlib nor PIL: :func:`probe` and :func:`compare`
import them when called.

>>> import upscope
>>> upscope.size(14, kernel=4, stride=2, padding=1).output
(28,)
>>> upscope.size("14x20", 3, 2).output
(29, 41)
"""

from __future__ import annotations

import dataclasses
import numbers
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal, overload

from upscope import arith, limits, probe_config, zoo
from upscope.arith import Axes, Bounds, Framework, LayerSpec
from upscope.audio_config import DEFAULT_RATE
from upscope.errors import UpscopeError
from upscope.sizes import FrameworkSize, LayerStack, Solutions

if TYPE_CHECKING:
    from upscope.audio_compare import AudioComparison
    from upscope.audio_probe import AudioProbeReport
    from upscope.comparison import Comparison, Progress
    from upscope.detection import DetectResult
    from upscope.detection import Progress as DetectProgress
    from upscope.overlap_map import OverlapResult
    from upscope.probing import ProbeReport

__all__ = ["compare", "detect", "framework_size", "overlap", "probe", "size", "solve", "stack"]

#: An int for every axis, ``"AxB"`` per axis, or a sequence of ints per axis.
AxesLike = int | str | Sequence[int]
#: A layer of a stack: the CLI's SPEC (``"convT k=4 s=2 p=1"``) or a parsed LayerSpec.
LayerLike = str | LayerSpec
PathLike = str | os.PathLike[str]

#: The solver's largest bounds (``--max-k`` and the like).
SOLVER_MAX = {"--max-k": 64, "--max-s": 16, "--max-d": 8, "--max-p": 1024}
MAX_LAYERS = 64  # overlap: how many times a stack may be repeated
MAX_FIT = 100_000  # compare: training steps
MAX_WIDTH = 512  # compare: channels of the learned methods' network


# ---------------------------------------------------------------- argument parsing


def _axes(value: AxesLike, name: str) -> Axes:
    """``4``, ``"4x3"`` or ``(4, 3)`` -> a tuple of ints, refused as the CLI refuses ``name``."""
    if isinstance(value, bool):
        pass
    elif isinstance(value, int | str):
        return arith.parse_axes(value, name)
    elif isinstance(value, numbers.Integral):  # numpy's ints
        return (int(value),)
    elif isinstance(value, Sequence) and value and all(map(_is_int, value)):
        return tuple(int(v) for v in value)
    raise UpscopeError(f"{name} must be an int or AxB per axis (e.g. 4 or 4x3), got {value!r}")


def _is_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _shown(value: AxesLike) -> str:
    """A spatial value as the user wrote it on the command line."""
    if isinstance(value, str):
        return value
    if isinstance(value, Sequence):
        return "x".join(map(str, value))
    return str(value)


def _convt(
    kernel: AxesLike,
    stride: AxesLike,
    padding: AxesLike,
    output_padding: AxesLike,
    dilation: AxesLike,
) -> LayerSpec:
    """The LayerSpec of one transposed convolution; AxB values are marked per axis."""
    raw = {"--k": kernel, "--s": stride, "--p": padding, "--op": output_padding, "--d": dilation}
    values = {name: _axes(value, name) for name, value in raw.items()}
    per_axis = {name[2:] for name, v in values.items() if len(v) > 1}
    values = arith.broadcast(values)
    return arith.convt_spec(
        values["--k"], values["--s"], values["--p"], values["--op"], values["--d"], per_axis
    )


def _layers(layers: Sequence[LayerLike] | str) -> list[LayerSpec]:
    """SPEC strings (parsed as ``--layer`` is) and LayerSpecs -> LayerSpecs; one string is a
    one-layer stack."""
    items = [layers] if isinstance(layers, str) else list(layers)
    if not items:
        raise UpscopeError("no layers given; a layer is e.g. 'convT k=4 s=2 p=1'")
    specs = []
    for item in items:
        if isinstance(item, str):
            specs.append(arith.parse_layer(item))
        elif isinstance(item, LayerSpec):
            specs.append(item)
        else:
            raise UpscopeError(
                "a layer is a SPEC string such as 'convT k=4 s=2 p=1' or a LayerSpec, got "
                f"{type(item).__name__}"
            )
    return specs


def _words(value: str | Sequence[str]) -> str:
    """``"a,b"`` or ``["a", "b"]`` -> ``"a,b"``, for the CLI's word-list parsers."""
    return value if isinstance(value, str) else ",".join(value)


def _check_seed(seed: int) -> None:
    limits.check_int("--seed", seed, 0, limits.MAX_INT)


# ---------------------------------------------------------------- size


def _stack(specs: list[LayerSpec], inputs: Axes, one_layer: bool) -> LayerStack:
    """Sizes through ``specs``; a lone input size is repeated over the layers' axes."""
    ndims = {spec.ndim for spec in specs if spec.ndim is not None}
    ndim = len(inputs) if len(inputs) > 1 or not ndims else max(ndims)
    inputs = inputs * ndim if len(inputs) == 1 else inputs
    # a stack's errors name the failing layer; one layer's errors name the bad value alone
    if one_layer:
        return LayerStack((arith.layer_output(specs[0], inputs),))
    return LayerStack(tuple(arith.stack_output(specs, inputs)))


def size(
    input: AxesLike,
    kernel: AxesLike,
    stride: AxesLike = 1,
    padding: AxesLike = 0,
    output_padding: AxesLike = 0,
    dilation: AxesLike = 1,
) -> LayerStack:
    """Output size of one ``ConvTranspose`` layer (PyTorch semantics), per axis, with the
    formula and the overlap verdict (``upscope size --input I --k K --s S ...``).

    >>> r = size(14, kernel=3, stride=2, padding=1, output_padding=1)
    >>> r.output, r.layers[0].verdict
    ((28,), 'checkerboard')
    >>> r.to_dict()["layers"][0]["formula"]
    ['O = (14-1)*2 - 2*1 + 1*(3-1) + 1 + 1 = 28']
    >>> size((14, 20), kernel=(4, 3), stride=2, padding=1).output
    (28, 39)
    >>> size(14, kernel=0, stride=2)
    Traceback (most recent call last):
    ...
    upscope.errors.UpscopeError: kernel size k must be at least 1, got 0
    """
    return _stack([_convt(kernel, stride, padding, output_padding, dilation)], _input(input), True)


def _input(value: AxesLike) -> Axes:
    return _axes(value, "--input")


def stack(input: AxesLike, layers: Sequence[LayerLike] | str) -> LayerStack:
    """Sizes through a stack of layers (``upscope size --layer SPEC ...``): each layer a SPEC
    string (``"convT k=4 s=2 p=1"``, ``"conv k=3 p=1"``, ``"pool k=2"``, ``"upsample
    scale=2"``, ``"pixelshuffle r=2"``, ...) or a :class:`~upscope.arith.LayerSpec`.

    >>> r = stack(4, ["convT k=4 s=2 p=1", "upsample scale=2", "conv k=3 s=2 p=1"])
    >>> [layer.output for layer in r.layers]
    [(8,), (16,), (8,)]
    >>> stack("4x6", ["pixelshuffle r=2"]).output
    (8, 12)
    """
    return _stack(_layers(layers), _input(input), False)


def solve(
    input: AxesLike,
    target: AxesLike,
    *,
    max_k: int = Bounds.max_k,
    max_s: int = Bounds.max_s,
    max_d: int = Bounds.max_d,
    max_p: int | None = Bounds.max_p,
    limit: int = 20,
) -> Solutions:
    """Every ConvTranspose (kernel, stride, padding, output_padding, dilation) within the bounds
    that maps ``input`` to exactly ``target``, best first (``upscope size --target``); padding
    is at most ``dilation*(kernel-1)`` unless ``max_p`` says otherwise. ``limit`` is how many
    rows the table shows; ``to_dict()`` lists them all.

    >>> best = solve(14, 28).recommended[0]
    >>> best.kernel, best.stride, best.padding, best.output_padding, best.dilation
    (4, 2, 1, 0, 1)
    >>> solve(14, 28).to_dict()["recommended"]["even_overlap"]
    True
    >>> solve(4, 100).solutions
    ()
    """
    inputs, targets = _input(input), _axes(target, "--target")
    both = arith.broadcast({"--input": inputs, "--target": targets})
    for name, value in (("--max-k", max_k), ("--max-s", max_s), ("--max-d", max_d)):
        limits.check_int(name, value, 1, SOLVER_MAX[name])
    if max_p is not None:
        limits.check_int("--max-p", max_p, 0, SOLVER_MAX["--max-p"])
    limits.check_int("--limit", limit, 1, limits.MAX_INT)
    bounds = Bounds(max_k, max_s, max_d, max_p)
    solutions = arith.solve(both["--input"], both["--target"], bounds)
    per_axis = len(inputs) > 1 or len(targets) > 1
    return Solutions(both["--input"], both["--target"], tuple(solutions), per_axis, bounds, limit)


def framework_size(
    framework: str,
    input: AxesLike,
    kernel: AxesLike,
    stride: AxesLike = 1,
    padding: str = "valid",
    output_padding: AxesLike | None = None,
    dilation: AxesLike = 1,
) -> FrameworkSize:
    """Output size of a Keras (``Conv2DTranspose``) or JAX (``lax.conv_transpose``) layer with
    ``padding`` ``"same"``, ``"valid"`` (or ``"full"`` in JAX), and the PyTorch padding and
    output padding that give the same size (``upscope size --framework keras|jax``).

    >>> r = framework_size("keras", 14, kernel=3, stride=2, padding="same")
    >>> r.output, r.torch_equivalent
    ((28,), ((1, 1),))
    """
    try:
        which = Framework(str(framework).lower())
    except ValueError:
        raise UpscopeError(f"--framework must be keras or jax, got {framework!r}") from None
    if which is Framework.torch:
        raise UpscopeError("framework_size computes keras or jax layers; use upscope.size")
    text = str(padding).lower()
    values = {
        "--input": _input(input),
        "--k": _axes(kernel, "--k"),
        "--s": _axes(stride, "--s"),
        "--d": _axes(dilation, "--d"),
    }
    if output_padding is not None:
        if which is Framework.jax:
            raise UpscopeError("--op has no meaning with --framework jax")
        values["--op"] = _axes(output_padding, "--op")
    per_axis = any(len(v) > 1 for v in values.values())
    values = arith.broadcast(values)
    if which is Framework.keras:
        arith.check_keras(values["--s"], values["--d"])
    if text == "0":
        text = "valid"
    outputs, equivalents = [], []
    for axis, i in enumerate(values["--input"]):
        kk, ss, dd = values["--k"][axis], values["--s"][axis], values["--d"][axis]
        if which is Framework.keras:
            oo = values["--op"][axis] if "--op" in values else None
            out = arith.keras_output(i, kk, ss, text, oo, dd)
        else:
            out = arith.jax_output(i, kk, ss, text, dd)
        outputs.append(out)
        equivalents.append(arith.torch_equivalent(i, kk, ss, out, dd))
    return FrameworkSize(
        framework=str(which),
        padding=text,
        per_axis=per_axis,
        input=values["--input"],
        kernel=values["--k"],
        stride=values["--s"],
        dilation=values["--d"],
        output_padding=values.get("--op"),
        output=tuple(outputs),
        torch_equivalent=tuple(equivalents),
    )


# ---------------------------------------------------------------- overlap


def layer_specs(
    layers: Sequence[LayerLike] | str | None,
    kernel: AxesLike | None,
    stride: AxesLike | None,
    padding: AxesLike | None,
    output_padding: AxesLike | None,
    dilation: AxesLike | None,
) -> list[LayerSpec]:
    """The layers of a stack (``layers``) or the one transposed conv that ``kernel`` ... name
    (None: not given); a parameter that the stack would silently ignore is refused."""
    values = (kernel, stride, padding, output_padding, dilation)
    given = [
        name
        for name, value in zip(("--k", "--s", "--p", "--op", "--d"), values, strict=True)
        if value is not None
    ]
    if layers:
        if given:
            verb = "describes" if len(given) == 1 else "describe"
            raise UpscopeError(
                f"{'/'.join(given)} {verb} one layer; with --layer, put the parameters in "
                "each spec (e.g. --layer 'convT k=4 s=2 p=1')"
            )
        return _layers(layers)
    if kernel is None:
        raise UpscopeError("--k is required (or give a stack with --layer)")
    return [
        _convt(
            kernel,
            1 if stride is None else stride,
            0 if padding is None else padding,
            0 if output_padding is None else output_padding,
            1 if dilation is None else dilation,
        )
    ]


def overlap(
    kernel: AxesLike | None = None,
    stride: AxesLike | None = None,
    padding: AxesLike | None = None,
    output_padding: AxesLike | None = None,
    dilation: AxesLike | None = None,
    layers: int = 1,
    input: AxesLike = 8,
    dims: int = 2,
    *,
    stack: Sequence[LayerLike] | str | None = None,
    out: PathLike | None = None,
    max_memory: int | str | None = None,
) -> OverlapResult:
    """The exact overlap-count map of a transposed convolution (``stride`` 1, ``padding`` 0,
    ``output_padding`` 0, ``dilation`` 1 unless given), or of a mixed ``stack`` of layers as
    :func:`stack` takes them, applied ``layers`` times to an all-ones ``input`` with ``dims``
    spatial axes; its interior figures, period and even/checkerboard/holes verdict
    (``upscope overlap``). ``out``: also write the figure there (the folder is checked before
    the work). ``max_memory``: the memory budget (bytes or ``"2G"``; default half the memory
    available).

    >>> r = overlap(3, 2, input=6, dims=1)
    >>> r.map.tolist()
    [1, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 1]
    >>> r.verdict, r.interior_min, r.interior_max, r.period
    ('checkerboard', 1, 2, (2,))
    >>> overlap(4, 2, 1).verdict
    'even'
    >>> overlap(stack=["convT k=4 s=2 p=1", "upsample scale=2"], input=4, dims=1).verdict
    'even'
    """
    if dims not in (1, 2):
        raise UpscopeError(f"--dims must be 1 or 2, got {dims}")
    limits.check_int("--layers", layers, 1, MAX_LAYERS)
    inputs = _input(input)
    if len(inputs) not in (1, dims):
        raise UpscopeError(f"--input {_shown(input)} has {len(inputs)} axes but --dims is {dims}")
    inputs = inputs * dims if len(inputs) == 1 else inputs
    if not stack and kernel is not None:
        raw = {"--k": kernel, "--s": stride, "--p": padding, "--op": output_padding}
        raw["--d"] = dilation
        for name, value in raw.items():
            if value is not None and len(_axes(value, name)) not in (1, dims):
                raise UpscopeError(f"{name} {_shown(value)} has more axes than --dims {dims}")
    specs = layer_specs(stack, kernel, stride, padding, output_padding, dilation)
    for n, spec in enumerate(specs, start=1):
        if spec.ndim is not None and spec.ndim != dims:
            raise UpscopeError(
                f"layer {n} ({spec.kind} {spec.describe()}) has {spec.ndim} axes but --dims is "
                f"{dims}"
            )
    from upscope.overlap_map import stack_overlap

    if out is not None:  # a folder that cannot be written is refused before the work
        from upscope.files import prepare_out_dir

        prepare_out_dir(Path(out))
    with limits.max_memory(max_memory):
        result = stack_overlap(specs * layers, inputs)
    result = dataclasses.replace(result, repeats=layers, pngs=[])
    if out is not None:
        result.save_png(out)
    return result


# ---------------------------------------------------------------- probe and compare


def default_threads() -> int:
    """Half the CPUs this process may use, 1 to 4: leaves room on a shared 2-core machine."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    return max(1, min(4, cpus // 2))


@overload
def probe(
    scale: int = 2,
    methods: str | Sequence[str] = "all",
    inputs: str | Sequence[str] | None = None,
    seeds: int = 8,
    size: int = 32,
    channels: int = 4,
    seed: int = 0,
    grad: bool = False,
    *,
    out: PathLike | None = None,
    max_memory: int | str | None = None,
    audio: Literal[False] = False,
    rate: int | None = None,
) -> ProbeReport: ...


@overload
def probe(
    scale: int = 2,
    methods: str | Sequence[str] = "all",
    inputs: str | Sequence[str] | None = None,
    seeds: int = 8,
    size: int = 32,
    channels: int = 4,
    seed: int = 0,
    grad: bool = False,
    *,
    out: PathLike | None = None,
    max_memory: int | str | None = None,
    audio: Literal[True],
    rate: int | None = None,
) -> AudioProbeReport: ...


def probe(
    scale: int = 2,
    methods: str | Sequence[str] = "all",
    inputs: str | Sequence[str] | None = None,
    seeds: int = 8,
    size: int = 32,
    channels: int = 4,
    seed: int = 0,
    grad: bool = False,
    *,
    out: PathLike | None = None,
    max_memory: int | str | None = None,
    audio: bool = False,
    rate: int | None = None,
) -> ProbeReport | AudioProbeReport:
    """Every upsampler of the zoo (``methods``: ``"all"``, ``"a,b"`` or a list of names) on
    constant and noise ``inputs`` at initialisation, ``seeds`` random initialisations from
    ``seed``, ``channels`` x ``size`` x ``size`` inputs: phase-energy checkerboard and spectral
    peak, mean and spread over seeds; ``grad``: also the input gradients of strided convs
    (``upscope probe``). ``out``: also write the figures there. Imports torch.

    ``audio=True``: the 1D zoo on sound instead (``upscope probe --audio``; ``rate``: the output's
    sample rate in Hz, default 16000; ``inputs`` from silence, dc, sine, sweep, noise; ``size``
    and ``grad`` do not apply): see :func:`upscope.api_audio.probe_audio`.
    """
    if audio:
        if grad or size != 32:
            raise UpscopeError("size and grad do not apply to probe(audio=True)")
        from upscope import api_audio

        return api_audio.probe_audio(
            DEFAULT_RATE if rate is None else rate, scale, methods, inputs, seeds, channels,
            seed, out=out, max_memory=max_memory,
        )  # fmt: skip
    if rate is not None:
        raise UpscopeError("rate applies to probe(audio=True) only")
    inputs = probe_config.INPUTS if inputs is None else inputs
    with limits.max_memory(max_memory):
        zoo.check_scale(scale)
        config = probe_config.ProbeConfig(
            scale=scale,
            methods=zoo.parse_names(_words(methods), "--methods"),
            inputs=probe_config.parse_inputs(_words(inputs), "--inputs"),
            seeds=seeds,
            size=size,
            channels=channels,
            seed=seed,
            grad=grad,
        )
        probe_config.check_config(config)
        if out is not None:
            from upscope.files import prepare_out_dir

            prepare_out_dir(Path(out))
        from upscope.probing import run_probe

        report = run_probe(config)
    if out is not None:
        report.save_png(out)
    return report


def compare(
    image: object = None,
    scale: int = 2,
    methods: str | Sequence[str] = "all",
    fit: int = 200,
    channels: int = 16,
    device: str = "auto",
    threads: int | None = None,
    seed: int = 0,
    *,
    sort: str = "psnr",
    name: str | None = None,
    out: PathLike | None = None,
    progress: Progress | None = None,
    max_memory: int | str | None = None,
) -> Comparison | AudioComparison:
    """Every upsampler on the ``scale`` x ``scale`` box average of ``image``, against the image:
    PSNR, SSIM, checkerboard of the output and of its error, spectral peak, seconds
    (``upscope compare``). Imports torch and Pillow.

    ``image``: a file path, a bundled sample name (``"astronaut"``, the default, or
    ``"zoneplate"``), a PIL image, a numpy array ``(H, W)`` or ``(H, W, C)`` (C = 1, 2, 3 or 4;
    uint8, or floats in [0, 1]) or a torch tensor ``(C, H, W)`` or ``(1, C, H, W)`` (the same
    dtypes). An alpha channel is composited on white. ``name``: how the report names the image
    (default: the path, or ``"PIL image"``, ``"numpy array"``, ``"torch tensor"``).

    Learned methods are fitted ``fit`` steps (0: untrained) with a network ``channels`` wide;
    ``device`` is ``"auto"``, ``"cpu"`` or ``"cuda"``; ``threads``: torch CPU threads (default
    half the CPUs, 1 to 4; restored afterwards). ``sort``: the table's order. ``progress``:
    called as ``progress(method, steps_done, steps_total)`` while fitting. ``out``: also write
    the figures there (checked before the work).

    A sound (a ``.wav`` path, or ``"sound"``, the bundled sample) goes to the audio comparison
    (:func:`upscope.api_audio.compare_audio`; ``sort`` and ``name`` do not apply) and returns
    an :class:`~upscope.audio_compare.AudioComparison`; ``out`` then also gets each method's WAV.
    """
    from upscope import api_audio

    if api_audio.is_sound(image):
        assert isinstance(image, str | os.PathLike)
        return api_audio.compare_audio(
            image, scale, methods, fit, channels, device, threads or default_threads(), seed,
            out=out, progress=progress, max_memory=max_memory, max_fit=MAX_FIT, max_width=MAX_WIDTH,
        )  # fmt: skip
    with limits.max_memory(max_memory):
        zoo.check_scale(scale)
        limits.check_int("--fit", fit, 0, MAX_FIT)
        limits.check_int("--channels", channels, 1, MAX_WIDTH)
        if threads is not None:
            limits.check_int("--threads", threads, 1, limits.MAX_THREADS)
        names = zoo.parse_names(_words(methods), "--methods")
        _check_seed(seed)
        from upscope import images  # numpy, and Pillow for a file: once the options are good
        from upscope.files import prepare_out_dir, refuse_inputs

        def fits(width: int, height: int, bands: int) -> None:  # before decoding
            width_net = channels if any(zoo.is_learned(n) for n in names) else 0
            need = limits.compare_bytes(min(bands, 3), height, width, len(names), width_net)
            limits.check_memory(need, f"compare on a {width}x{height} image")

        path: Path | None = None
        if image is None or isinstance(image, str | os.PathLike):
            text = None if image is None else os.fspath(image)
            path = images.resolve_image(text)
            loaded = images.load_image(path, before_decode=fits)
            label = images.describe_source(text, path)
            where = str(path)
        else:
            loaded = images.from_object(image, before_decode=fits)
            label = where = loaded.source
        original = images.crop_to_multiple(loaded.pixels, scale, source=f"image {where!r}")
        images.check_size(original, scale, f"image {where!r}")
        if out is not None:
            from upscope.render.compare_figures import FIGURES

            folder = prepare_out_dir(Path(out))
            refuse_inputs((folder / f for f in FIGURES), IMAGE=path)  # before the work

        import torch

        from upscope import comparison as core

        core.sort_results([], sort)  # a bad key is refused now, not after the work
        settings = core.Settings(
            scale=scale,
            methods=names,
            fit=fit,
            seed=seed,
            device=core.resolve_device(str(device)),
            width=channels,
        )
        used = threads or default_threads()
        before = torch.get_num_threads()
        torch.set_num_threads(used)
        try:
            result = core.compare(original, settings, progress)
        finally:
            torch.set_num_threads(before)
    result.image = label if name is None else name
    result.original_size = (loaded.height, loaded.width)
    result.mode, result.alpha = loaded.mode, loaded.alpha
    result.threads, result.sort, result.path = used, sort, path
    if out is not None:
        result.save_png(out)
    return result


def detect(
    images: object = None,
    model: object = None,
    *,
    weights: PathLike | None = None,
    input_shape: str | Sequence[int] | None = None,
    samples: int | None = None,
    seed: int = 0,
    recursive: bool = False,
    progress: DetectProgress | None = None,
    max_memory: int | str | None = None,
) -> DetectResult:
    """Find the periodic grid in images a model made, and with ``model`` name the ops that can
    draw it (``upscope detect``). numpy for the images; Pillow for image files; torch only for
    a PyTorch ``model``.

    ``images``: a path (an image file, a folder of them, a ``.npy`` / ``.npz`` batch), a numpy
    array or torch tensor (a batch ``N x C x H x W`` or ``N x H x W x C``, or one image), or a
    list of these. ``model``: an ``nn.Module``, scan's MODEL string (``file.py:Name``,
    ``package.module:Name``) or an ONNX file; ``weights`` and ``input_shape`` as for
    :func:`upscope.scan`. Without ``images``, ``samples`` forward passes of a PyTorch ``model``
    on seeded standard-normal inputs make them. ``progress``: called as
    ``progress(what, done, total)`` per image (or per sample).
    """
    from upscope import detection, image_sets

    _check_seed(seed)
    sources: list[object]
    if images is None:
        sources = []
    elif isinstance(images, list | tuple):
        sources = list(images)
    else:
        sources = [images]
    with limits.max_memory(max_memory):
        if samples is not None and sources:
            raise UpscopeError(
                "--samples makes the images from the model; give IMAGES or --samples, not both"
            )
        if samples is not None and model is None:
            raise UpscopeError("--samples needs --model (the model that makes the images)")
        if samples is not None:
            from upscope.detect_model import MAX_SAMPLES

            limits.check_int("--samples", samples, 1, MAX_SAMPLES)  # before the model is built
        if not sources and samples is None:
            raise UpscopeError(
                "no images given: name image files, folders, .npy or .npz files (or --model "
                "with --samples N)"
            )
        shapes = _detect_shapes(input_shape)
        scanned = None
        net = None
        if model is not None:
            from upscope.scanning.args import is_onnx_file
            from upscope.scanning.run import scan

            spec = os.fspath(model) if isinstance(model, str | os.PathLike) else None
            if spec is not None and is_onnx_file(spec):
                if samples is not None:
                    raise UpscopeError(
                        "--samples runs a PyTorch model; for an ONNX file, give IMAGES it made"
                    )
                scanned = scan(spec, shapes or None, weights=weights, seed=seed)
            else:
                from upscope import detect_model

                net = detect_model.load(model, weights, seed)
                scanned = scan(net, shapes or None, seed=seed)
        if samples is not None:
            from upscope import detect_model

            shape = detect_model.input_shape(net, shapes)
            the_plan = detect_model.sample_plan(net, shape, samples)
            items = detect_model.sample_items(net, shape, samples, seed, progress)
            progress_images = None
        else:
            the_plan = image_sets.plan(sources, recursive)
            items = image_sets.stream(the_plan)
            progress_images = progress
        extra: list[int] = []
        if scanned is not None:
            from upscope import detect_model

            for size in the_plan.sizes():
                for op in detect_model.op_periods(scanned, size):
                    extra += [p for p in op.period if p is not None]
        groups, periods = detection.analyse(items, the_plan, extra, progress=progress_images)
        result = detection.DetectResult(
            groups=groups,
            periods_tested=periods,
            model=None if model is None else _model_name(model),
            samples=samples,
            seed=seed,
        )
        if scanned is not None:
            from upscope import detect_model

            result.ops = detect_model.attribute_groups(groups, scanned)
    return result


def _detect_shapes(input_shape: str | Sequence[int] | None) -> list[tuple[int, ...]]:
    if input_shape is None:
        return []
    if isinstance(input_shape, str):
        from upscope.scanning.args import parse_input_shape

        return [parse_input_shape(input_shape)]
    shape = tuple(int(v) for v in input_shape)
    if not shape or min(shape) < 1:
        raise UpscopeError(f"input_shape must be sizes of at least 1, got {input_shape!r}")
    return [shape]


def _model_name(model: object) -> str:
    if isinstance(model, str | os.PathLike):
        return os.fspath(model)
    return type(model).__name__
