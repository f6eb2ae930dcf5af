"""Size arithmetic of upsampling and downsampling layers, pure Python (no torch, no numpy).

Every function works on one axis and plain ints; :func:`layer_output` maps a whole
:class:`LayerSpec` over every spatial axis. PyTorch semantics unless a framework says otherwise.

>>> convt_output(14, k=4, s=2, p=1)
28
>>> phase_coverage(3, 2)
(2, 1)
>>> overlap_verdict(4, 2), overlap_verdict(3, 2), overlap_verdict(3, 2, 2)
('even', 'checkerboard', 'holes')
>>> [(x.kernel, x.padding, x.output_padding) for x in solve_axis(14, 28) if x.dilation == 1][:3]
[(4, 1, 0), (2, 0, 0), (6, 2, 0)]
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from enum import StrEnum

from upscope import limits
from upscope.errors import UpscopeError
from upscope.result import Brief

Axes = tuple[int, ...]


class Framework(StrEnum):
    """Whose transposed-convolution padding semantics to use."""

    torch = "torch"
    keras = "keras"
    jax = "jax"


# ---------------------------------------------------------------- parsing of spatial values

_DIMS_RE = re.compile(r"^\s*-?\d+(\s*[xX]\s*-?\d+)*\s*$")


def parse_axes(text: str | int, name: str) -> Axes:
    """Parse ``"14"`` or ``"14x20"`` into a tuple of ints, naming ``name`` in any error.

    >>> parse_axes("14x20", "--input"), parse_axes(3, "--k")
    ((14, 20), (3,))
    """
    if isinstance(text, int):
        return (text,)
    if not _DIMS_RE.match(text):
        raise UpscopeError(f"{name} must be an int or AxB per axis (e.g. 4 or 4x3), got {text!r}")
    parts = re.split(r"[xX]", text.replace(" ", ""))
    for part in parts:  # refuse a huge number before int() spends time on its digits
        if len(part.lstrip("-")) > 18:
            raise UpscopeError(
                f"{name} must be at most {limits.MAX_INT}, got a {len(part)}-digit number"
            )
    return tuple(int(part) for part in parts)


def broadcast(values: dict[str, Axes], ndim: int | None = None) -> dict[str, Axes]:
    """Give every value the same number of axes: single values repeat, others must agree."""
    lengths = {len(v) for v in values.values() if len(v) > 1}
    if ndim is not None:
        lengths.add(ndim)
    if len(lengths) > 1:
        shown = ", ".join(f"{k}={'x'.join(map(str, v))}" for k, v in values.items())
        raise UpscopeError(f"per-axis values disagree on the number of axes: {shown}")
    n = lengths.pop() if lengths else 1
    return {k: v * n if len(v) == 1 else v for k, v in values.items()}


# ---------------------------------------------------------------- one-axis formulas (PyTorch)


def _check_positive(name: str, value: int, high: int = limits.MAX_INT) -> None:
    limits.check_int(name, value, 1, high)


def _check_non_negative(name: str, value: int) -> None:
    limits.check_int(name, value, 0, limits.MAX_INT)


def _check_convt(p_name: str, i: int, k: int, s: int, p: int, op: int, d: int) -> None:
    """The ranges of a transposed convolution's integers (torch's and ONNX's alike)."""
    _check_positive("input size", i)
    _check_positive("kernel size k", k)
    _check_positive("stride s", s, limits.MAX_STEP)
    _check_positive("dilation d", d, limits.MAX_STEP)
    _check_non_negative(p_name, p)
    _check_non_negative("output padding op", op)


def convt_output(i: int, k: int, s: int = 1, p: int = 0, op: int = 0, d: int = 1) -> int:
    """PyTorch ConvTranspose: O = (I-1)*S - 2P + D*(K-1) + P_out + 1; refuses what torch refuses."""
    _check_convt("padding p", i, k, s, p, op, d)
    if op >= s and op >= d:
        raise UpscopeError(
            f"output padding op={op} must be smaller than either stride s={s} or dilation d={d}"
        )
    out = (i - 1) * s - 2 * p + d * (k - 1) + op + 1
    if out < 1:
        raise UpscopeError(
            f"output size would be {out} (input {i}, k={k}, s={s}, p={p}, op={op}, d={d}): "
            "it must be at least 1; use less padding"
        )
    return out


def convt_formula(i: int, k: int, s: int = 1, p: int = 0, op: int = 0, d: int = 1) -> str:
    """The output-size formula with the numbers filled in."""
    out = convt_output(i, k, s, p, op, d)
    return f"O = ({i}-1)*{s} - 2*{p} + {d}*({k}-1) + {op} + 1 = {out}"


def convt_output_asym(i: int, k: int, s: int, p: int, pe: int, op: int = 0, d: int = 1) -> int:
    """ONNX ConvTranspose with its own padding at each end: O = (I-1)*S + D*(K-1) + 1 + P_out
    - P_begin - P_end (``pads`` may be asymmetric; ONNX does not limit P_out as torch does).

    It is torch's ``conv_transpose`` with padding 0, cropped by P_begin at the start and P_end
    at the end, with P_out extra rows at the end before the crop.

    >>> convt_output_asym(8, 3, 2, 0, 1)  # Keras 'same', K=3, S=2: pads (0, 1)
    16
    """
    _check_convt("padding at the start", i, k, s, p, op, d)
    _check_non_negative("padding at the end", pe)
    out = (i - 1) * s + d * (k - 1) + 1 + op - p - pe
    if out < 1:
        raise UpscopeError(
            f"output size would be {out} (input {i}, k={k}, s={s}, pads ({p}, {pe}), op={op}, "
            f"d={d}): it must be at least 1"
        )
    return out


def conv_output(i: int, k: int, s: int = 1, p: int = 0, d: int = 1) -> int:
    """PyTorch Conv: O = floor((I + 2P - D*(K-1) - 1) / S) + 1."""
    _check_positive("input size", i)
    _check_positive("kernel size k", k)
    _check_positive("stride s", s, limits.MAX_STEP)
    _check_positive("dilation d", d, limits.MAX_STEP)
    _check_non_negative("padding p", p)
    span = d * (k - 1) + 1
    if i + 2 * p < span:
        raise UpscopeError(
            f"kernel reach {span} (k={k}, d={d}) is larger than the padded input {i + 2 * p}"
        )
    return (i + 2 * p - span) // s + 1


def pool_output(
    i: int,
    k: int,
    s: int | None = None,
    p: int = 0,
    d: int = 1,
    ceil: bool = False,
    mode: str = "max",
) -> int:
    """PyTorch MaxPool/AvgPool output size, ceil_mode included (torch's pooling_output_shape)."""
    s = k if s is None else s
    _check_positive("input size", i)
    _check_positive("kernel size k", k)
    _check_positive("stride s", s, limits.MAX_STEP)
    _check_positive("dilation d", d, limits.MAX_STEP)
    _check_non_negative("padding p", p)
    if mode not in ("max", "avg"):
        raise UpscopeError(f"pool type must be max or avg, got {mode!r}")
    if mode == "avg" and d != 1:
        raise UpscopeError("avg pooling has no dilation")
    if p > k // 2:
        raise UpscopeError(f"pool padding p={p} must be at most half the kernel size k={k}")
    numerator = i + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil else 0)
    out = math.floor(numerator / s) + 1
    if ceil and (out - 1) * s >= i + p:
        out -= 1
    if out < 1:
        raise UpscopeError(
            f"pool output size would be {out} (input {i}, k={k}, s={s}, p={p}, d={d}): too small"
        )
    return out


def upsample_output(i: int, scale: float | None = None, size: int | None = None) -> int:
    """nn.Upsample: O = floor(I * scale), or the given size."""
    _check_positive("input size", i)
    if size is not None:
        _check_positive("upsample size", size)
        return size
    if scale is None or scale <= 0:
        raise UpscopeError(f"upsample needs scale > 0 or size, got scale={scale}")
    if not math.isfinite(i * scale) or i * scale > 2**31:
        raise UpscopeError(f"upsample output size would be {i} * {scale}: too large")
    out = math.floor(i * scale)
    if out < 1:
        raise UpscopeError(f"upsample output size would be {out}: too small")
    return out


# ---------------------------------------------------------------- overlap on one axis


def phase_coverage(k: int, s: int, d: int = 1) -> tuple[int, ...]:
    """c_r = #{j < K : j*D = r (mod S)}: how many kernel taps land on output phase r."""
    # j*D mod S repeats with period L = S / gcd(D, S): count one period, then the remainder,
    # so a huge K costs O(S), not O(K).
    _check_positive("stride s", s, limits.MAX_STEP)
    period = s // math.gcd(d, s)
    full, rest = divmod(k, period)
    counts = [0] * s
    for j in range(period):
        counts[(j * d) % s] += full + (1 if j < rest else 0)
    return tuple(counts)


def overlap_verdict(k: int, s: int, d: int = 1) -> str:
    """``even``, ``checkerboard`` (uneven), or ``holes`` (some phase gets nothing) on one axis."""
    cov = phase_coverage(k, s, d)
    if min(cov) == 0:
        return "holes"
    return "even" if min(cov) == max(cov) else "checkerboard"


def combine_verdicts(verdicts: list[str]) -> str:
    """The verdict of several axes: holes beat checkerboard beat even."""
    for worst in ("holes", "checkerboard"):
        if worst in verdicts:
            return worst
    return "even"


# ---------------------------------------------------------------- layer specs

_KIND_ALIASES = {
    "convt": "convT",
    "deconv": "convT",
    "convtranspose": "convT",
    "conv": "conv",
    "pool": "pool",
    "maxpool": "pool",
    "avgpool": "pool",
    "upsample": "upsample",
    "pixelshuffle": "pixelshuffle",
    "pixelunshuffle": "pixelunshuffle",
}

_KEYS = {
    "convT": {"k", "s", "p", "op", "d"},
    "conv": {"k", "s", "p", "d"},
    "pool": {"k", "s", "p", "d", "ceil", "type"},
    "upsample": {"scale", "size", "mode"},
    "pixelshuffle": {"r"},
    "pixelunshuffle": {"r"},
}

#: The kinds an overlap-count map can follow (``upscope overlap``; pixel unshuffle mixes the
#: phases into channels, so no count map follows it).
OVERLAP_KINDS = ("convT", "conv", "pool", "upsample", "pixelshuffle")

#: One example per kind, for help texts and messages (every kind of _KEYS has one).
LAYER_EXAMPLES = {
    "convT": "convT k=4 s=2 p=1",
    "conv": "conv k=3 p=1",
    "pool": "pool k=2",
    "upsample": "upsample scale=2",
    "pixelshuffle": "pixelshuffle r=2",
    "pixelunshuffle": "pixelunshuffle r=2",
}


def layer_kinds(kinds: tuple[str, ...] | None = None) -> str:
    """The words ``--layer`` accepts, from the parser's own table (one source of truth), with
    their aliases; ``kinds`` limits it to those kinds (``upscope overlap`` takes fewer).

    >>> layer_kinds(("convT", "pool"))
    'convT (or convtranspose, deconv), pool (or avgpool, maxpool)'
    """
    parts = []
    for kind in kinds or tuple(_KEYS):
        aliases = [word for word, canonical in _KIND_ALIASES.items() if canonical == kind]
        others = sorted(word for word in aliases if word != kind.lower())
        parts.append(f"{kind} (or {', '.join(others)})" if others else kind)
    return ", ".join(parts)


def layer_help(kinds: tuple[str, ...] | None = None) -> str:
    """``--layer``'s help: the kinds :func:`layer_kinds` names and one example of each."""
    examples = ", ".join(f"'{LAYER_EXAMPLES[k]}'" for k in kinds or tuple(_KEYS))
    return f"kinds: {layer_kinds(kinds)}; e.g. {examples}."


UPSAMPLE_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area")

_INT_KEYS = {"k", "s", "p", "op", "d", "r", "size"}


@dataclass(frozen=True)
class LayerSpec:
    """One layer: its kind, its per-axis integer parameters and its options.

    ``per_axis`` names the parameters the user gave per axis (``AxB``), so that output can
    show lists only where the user did.
    """

    kind: str
    params: dict[str, Axes] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    per_axis: frozenset[str] = frozenset()

    def get(self, key: str, axis: int, default: int) -> int:
        values = self.params.get(key)
        if values is None:
            return default
        return values[axis] if len(values) > 1 else values[0]

    def describe(self) -> str:
        """``k=4 s=2 p=1``: the parameters as the user would write them."""
        parts = [f"{k}={'x'.join(map(str, v))}" for k, v in self.params.items()]
        parts += [f"{k}={v}" for k, v in self.options.items()]
        return " ".join(parts)

    def __str__(self) -> str:
        """``convT k=4 s=2 p=1``: the kind and its parameters, as ``--layer`` takes them."""
        return f"{self.kind} {self.describe()}".strip()

    @property
    def ndim(self) -> int | None:
        lengths = {len(v) for v in self.params.values() if len(v) > 1}
        return lengths.pop() if len(lengths) == 1 else None


def parse_layer(text: str) -> LayerSpec:
    """Parse ``"convT k=4 s=2 p=1"`` (a kind, then key=value pairs).

    >>> parse_layer("convT k=4x3 s=2").params
    {'k': (4, 3), 's': (2,)}
    >>> parse_layer("maxpool k=2").options
    {'type': 'max'}
    """
    words = text.split()
    if not words:
        raise UpscopeError("empty --layer spec; expected e.g. 'convT k=4 s=2 p=1'")
    raw_kind = words[0]
    kind = _KIND_ALIASES.get(raw_kind.lower())
    if kind is None:
        known = layer_kinds()
        raise UpscopeError(f"unknown layer kind {raw_kind!r} in {text!r}; known: {known}")
    params: dict[str, Axes] = {}
    options: dict[str, str] = {}
    per_axis: set[str] = set()
    if raw_kind.lower() in ("maxpool", "avgpool"):
        options["type"] = raw_kind.lower()[:3]
    for word in words[1:]:
        key, sep, value = word.partition("=")
        if not sep or not value:
            raise UpscopeError(f"expected key=value in --layer {text!r}, got {word!r}")
        if key not in _KEYS[kind]:
            allowed = ", ".join(sorted(_KEYS[kind]))
            raise UpscopeError(f"unknown key {key!r} for {kind} in {text!r}; allowed: {allowed}")
        if key in params or key in options:
            raise UpscopeError(f"key {key!r} given twice in --layer {text!r}")
        if key in _INT_KEYS:
            params[key] = parse_axes(value, f"{key} in {text!r}")
            if len(params[key]) > 1:
                per_axis.add(key)
        elif key == "scale":
            try:
                scale = float(value)
            except ValueError:
                raise UpscopeError(f"scale must be a number in {text!r}, got {value!r}") from None
            if not math.isfinite(scale) or scale <= 0:
                raise UpscopeError(f"scale must be a positive number in {text!r}, got {value!r}")
            options[key] = value
        elif key == "ceil":
            if value not in ("0", "1", "true", "false"):
                raise UpscopeError(f"ceil must be 0 or 1 in {text!r}, got {value!r}")
            options[key] = "1" if value in ("1", "true") else "0"
        elif key == "mode":
            if value not in UPSAMPLE_MODES:
                known = ", ".join(UPSAMPLE_MODES)
                raise UpscopeError(f"unknown upsample mode {value!r} in {text!r}; known: {known}")
            options[key] = value
        elif key == "type":
            if value not in ("max", "avg"):
                raise UpscopeError(f"pool type must be max or avg in {text!r}, got {value!r}")
            options[key] = value
        else:
            options[key] = value
    required = {"convT": ["k"], "conv": ["k"], "pool": ["k"], "pixelshuffle": ["r"]}
    required["pixelunshuffle"] = ["r"]
    for key in required.get(kind, []):
        if key not in params:
            raise UpscopeError(f"{kind} needs {key}= in --layer {text!r}")
    if kind == "upsample" and ("scale" in options) == ("size" in params):
        raise UpscopeError(f"upsample needs exactly one of scale= or size= in {text!r}")
    if kind == "pool" and "type" not in options:
        options["type"] = "max"
    return LayerSpec(kind, params, options, frozenset(per_axis))


def convt_spec(
    k: Axes, s: Axes, p: Axes, op: Axes, d: Axes, per_axis: set[str], pe: Axes | None = None
) -> LayerSpec:
    """The LayerSpec of one transposed convolution given by ``--k --s --p --op --d``.

    ``pe``: the padding at the end of each axis when it differs from ``p`` at the start (ONNX's
    asymmetric ``pads``); the layer then follows :func:`convt_output_asym`.
    """
    params = {"k": k, "s": s, "p": p, "op": op, "d": d}
    if pe is not None:
        params["pe"] = pe
    return LayerSpec("convT", params, {}, frozenset(per_axis))


@dataclass(frozen=True, repr=False)
class LayerResult(Brief):
    """What one layer does to the spatial size, and its overlap verdict (None: not applicable)."""

    spec: LayerSpec
    input: Axes
    output: Axes
    verdict: str | None
    note: str
    formulas: tuple[str, ...] = ()

    _brief = ("spec", "input", "output", "verdict")


def _axis_output(spec: LayerSpec, axis: int, i: int) -> int:
    g = spec.get
    if spec.kind == "convT" and "pe" in spec.params:
        return convt_output_asym(
            i,
            g("k", axis, 1),
            g("s", axis, 1),
            g("p", axis, 0),
            g("pe", axis, 0),
            g("op", axis, 0),
            g("d", axis, 1),
        )
    if spec.kind == "convT":
        return convt_output(
            i, g("k", axis, 1), g("s", axis, 1), g("p", axis, 0), g("op", axis, 0), g("d", axis, 1)
        )
    if spec.kind == "conv":
        return conv_output(i, g("k", axis, 1), g("s", axis, 1), g("p", axis, 0), g("d", axis, 1))
    if spec.kind == "pool":
        k = g("k", axis, 1)
        return pool_output(
            i,
            k,
            g("s", axis, k),
            g("p", axis, 0),
            g("d", axis, 1),
            ceil=spec.options.get("ceil") == "1",
            mode=spec.options.get("type", "max"),
        )
    if spec.kind == "upsample":
        if "size" in spec.params:
            return upsample_output(i, size=g("size", axis, 1))
        return upsample_output(i, scale=float(spec.options["scale"]))
    r = g("r", axis, 1)
    _check_positive("r", r, limits.MAX_STEP)
    if spec.kind == "pixelshuffle":
        return i * r
    if i % r:
        raise UpscopeError(f"pixelunshuffle r={r} needs an input size divisible by {r}, got {i}")
    return i // r


def _verdict(spec: LayerSpec, ndim: int) -> tuple[str | None, str]:
    if spec.kind not in ("convT", "conv"):
        return None, ""
    per_axis = []
    for axis in range(ndim):
        k, s, d = spec.get("k", axis, 1), spec.get("s", axis, 1), spec.get("d", axis, 1)
        per_axis.append((k, s, d, overlap_verdict(k, s, d)))
    verdict = combine_verdicts([v for *_, v in per_axis])
    if spec.kind == "conv" and all(s == 1 for _, s, _, _ in per_axis):
        return None, ""
    note = explain(per_axis)
    if spec.kind == "conv":
        note = f"in its gradient: {note}"
    return verdict, note


def cell_word(ndim: int) -> str:
    """What one output position is called: a ``"sample"`` in 1D (audio), else a ``"pixel"``.

    The one place that 1D wording is chosen (overlap texts, scan summary and figures).

    >>> cell_word(1), cell_word(2)
    ('sample', 'pixel')
    """
    return "sample" if ndim == 1 else "pixel"


def artifact_words(ndims: list[int]) -> str:
    """What an uneven upsampler can do: add tones when every op is 1D, else a checkerboard.

    >>> artifact_words([1, 1]), artifact_words([1, 2]), artifact_words([])
    ('can add tones', 'can make a checkerboard', 'can make a checkerboard')
    """
    if ndims and all(n == 1 for n in ndims):
        return "can add tones"
    return "can make a checkerboard"


def explain(per_axis: list[tuple[int, int, int, str]]) -> str:
    """One plain sentence on why a layer's axes are even, uneven or have holes.

    >>> explain([(3, 2, 1, "checkerboard")])
    'K=3 is not a multiple of S=2: interior pixels receive 1 or 2 taps per axis (1, 2 or 4 in 2D)'
    """
    one_axis = len(per_axis) == 1
    bad = [(k, s, d, v) for k, s, d, v in per_axis if v != "even"]
    if not bad:
        k, s, d, _ = per_axis[0]
        if all(x[:3] == per_axis[0][:3] for x in per_axis):
            taps = phase_coverage(k, s, d)[0]
            if one_axis:
                return (
                    f"K={k} is a multiple of S={s}: every interior pixel gets {taps} taps "
                    f"per axis ({taps * taps} in 2D)"
                )
            total = taps ** len(per_axis)
            return f"K={k} is a multiple of S={s}: every interior pixel gets {total} taps"
        return "every axis spreads its kernel evenly"
    k, s, d, v = bad[0]
    dil = f" with D={d}" if d != 1 else ""
    if v == "holes":
        return f"K={k}, S={s}{dil}: some interior pixels receive no tap at all (holes)"
    cov = sorted(set(phase_coverage(k, s, d)))
    counts = " or ".join(map(str, cov))
    if one_axis:
        products = sorted({a * b for a in cov for b in cov})
        in_2d = ", ".join(map(str, products[:-1])) + f" or {products[-1]}"
        return (
            f"K={k} is not a multiple of S={s}{dil}: interior pixels receive {counts} taps "
            f"per axis ({in_2d} in 2D)"
        )
    products = [1]
    for kk, ss, dd, _ in per_axis:
        axis_cov = set(phase_coverage(kk, ss, dd))
        products = sorted({p * c for p in products for c in axis_cov})
    shown = ", ".join(map(str, products[:-1])) + f" or {products[-1]}"
    return f"K={k} is not a multiple of S={s}{dil}: interior pixels receive {shown} taps"


def layer_output(spec: LayerSpec, input_size: Axes) -> LayerResult:
    """Apply one layer to a spatial size (one entry per axis)."""
    ndim = len(input_size)
    if spec.ndim is not None and spec.ndim != ndim:
        raise UpscopeError(
            f"{spec.kind} {spec.describe()} has {spec.ndim} axes but the input has {ndim}"
        )
    output = tuple(_axis_output(spec, a, i) for a, i in enumerate(input_size))
    verdict, note = _verdict(spec, ndim)
    formulas: tuple[str, ...] = ()
    if spec.kind == "convT" and "pe" not in spec.params:
        g = spec.get
        formulas = tuple(
            convt_formula(i, g("k", a, 1), g("s", a, 1), g("p", a, 0), g("op", a, 0), g("d", a, 1))
            for a, i in enumerate(input_size)
        )
    return LayerResult(spec, input_size, output, verdict, note, formulas)


def stack_output(specs: list[LayerSpec], input_size: Axes) -> list[LayerResult]:
    """Apply layers in order; an error names the layer (1-based) that fails."""
    results = []
    size = input_size
    for n, spec in enumerate(specs, start=1):
        try:
            result = layer_output(spec, size)
        except UpscopeError as exc:
            raise UpscopeError(f"layer {n} ({spec.kind} {spec.describe()}): {exc}") from None
        results.append(result)
        size = result.output
    return results


# ---------------------------------------------------------------- other frameworks


def keras_output(
    i: int,
    k: int,
    s: int,
    padding: str,
    op: int | None = None,
    d: int = 1,
) -> int:
    """Keras ``deconv_output_length`` (Conv2DTranspose), with and without output_padding."""
    _check_positive("input size", i)
    _check_positive("kernel size k", k)
    _check_positive("stride s", s, limits.MAX_STEP)
    _check_positive("dilation d", d, limits.MAX_STEP)
    if padding not in ("same", "valid", "full"):
        raise UpscopeError(f"keras padding must be same, valid or full, got {padding!r}")
    k_eff = k + (k - 1) * (d - 1)
    if op is None:
        if padding == "valid":
            out = i * s + max(k_eff - s, 0)
        elif padding == "same":
            out = i * s
        else:
            out = i * s - (s + k_eff - 2)
    else:
        _check_non_negative("output padding op", op)
        if op >= s:
            raise UpscopeError(f"keras output_padding op={op} must be smaller than stride s={s}")
        pad = {"same": k_eff // 2, "valid": 0, "full": k_eff - 1}[padding]
        out = (i - 1) * s + k_eff - 2 * pad + op
    if out < 1:
        raise UpscopeError(f"keras output size would be {out}: it must be at least 1")
    return out


def check_keras(strides: Axes, dilations: Axes) -> None:
    """Keras 3 refuses ``strides > 1`` together with ``dilation_rate > 1`` (any axes)."""
    if max(strides) > 1 and max(dilations) > 1:
        shown = ", ".join(
            f"{name}={values[0] if len(set(values)) == 1 else tuple(values)}"
            for name, values in (("strides", strides), ("dilation_rate", dilations))
        )
        raise UpscopeError(
            f"keras refuses strides > 1 together with dilation_rate > 1 (got {shown}), as "
            "Conv2DTranspose does"
        )


def jax_output(i: int, k: int, s: int, padding: str, d: int = 1) -> int:
    """JAX/Flax ConvTranspose: SAME -> I*S, VALID -> I*S + max(k_eff - S, 0)."""
    _check_positive("input size", i)
    _check_positive("kernel size k", k)
    _check_positive("stride s", s, limits.MAX_STEP)
    _check_positive("dilation d", d, limits.MAX_STEP)
    k_eff = k + (k - 1) * (d - 1)
    if padding == "same":
        return i * s
    if padding == "valid":
        return i * s + max(k_eff - s, 0)
    raise UpscopeError(f"jax padding must be same or valid, got {padding!r}")


def torch_equivalent(i: int, k: int, s: int, o: int, d: int = 1) -> tuple[int, int] | None:
    """(P, P_out) that makes a PyTorch ConvTranspose with (k, s, d) map I to O, or None."""
    rest = (i - 1) * s + d * (k - 1) + 1 - o  # = 2P - P_out
    for op in range(max(s, d)):
        if (rest + op) % 2 == 0 and rest + op >= 0:
            p = (rest + op) // 2
            try:
                if convt_output(i, k, s, p, op, d) == o:
                    return p, op
            except UpscopeError:
                continue
    return None


# ---------------------------------------------------------------- the solver


MAX_COMBINATIONS = 100_000
MAX_SOLVER_TRIES = 1_000_000


@dataclass(frozen=True)
class Bounds:
    """Search bounds of the solver; padding is at most D*(K-1) unless ``max_p`` says otherwise."""

    max_k: int = 8
    max_s: int = 4
    max_d: int = 2
    max_p: int | None = None


def convt_interior(i: int, k: int, s: int = 1, p: int = 0, op: int = 0, d: int = 1) -> int:
    """How many output pixels of one transposed convolution are interior (on one axis).

    An output pixel is interior when every tap that lands on it comes from an input pixel (or
    none lands: a hole); the rest is border fall-off. The interior is the longest run of such
    pixels, as in :mod:`upscope.overlap_map`. Output ``o`` is position ``t = o + P`` before the
    crop; tap ``j`` reaches it from input ``(t - j*D) / S``. For each phase ``r`` whose taps
    run from ``first[r]`` to ``last[r]``, ``t`` is interior when ``last[r]*D <= t <=
    (I-1)*S + first[r]*D``, so the middle run is ``[max(last*D) - S + 1, min((I-1)*S + first*D)
    + S - 1]``; any other run is shorter than S, so only a middle run shorter than S (a tiny
    input) needs the pixels looked at one by one.

    >>> convt_interior(13, 4, 2, 1), convt_interior(13, 7, 1, 0, 1, 2)
    (24, 1)
    """
    out = convt_output(i, k, s, p, op, d)
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for j in range(min(k, s)):  # the taps of a phase repeat every S / gcd(D, S) <= S
        first.setdefault((j * d) % s, j)
    for j in range(k - 1, max(k - s, 0) - 1, -1):
        last.setdefault((j * d) % s, j)
    lo = max([p] + [last[r] * d - s + 1 for r in last])
    hi = min([p + out - 1] + [(i - 1) * s + first[r] * d + s - 1 for r in first])
    if hi - lo + 1 >= s:
        return hi - lo + 1

    def interior(t: int) -> bool:
        r = t % s
        return r not in first or (last[r] * d <= t <= (i - 1) * s + first[r] * d)

    best = run = 0
    for t in range(p, p + out):
        run = run + 1 if interior(t) else 0
        best = max(best, run)
    return best


@dataclass(frozen=True)
class Solution:
    """One transposed convolution (one axis) that maps the input size to the target exactly.

    ``interior`` is how many of the ``size`` output pixels are free of border fall-off
    (:func:`convt_interior`); 0 when not computed.
    """

    kernel: int
    stride: int
    padding: int
    output_padding: int
    dilation: int
    # Derived figures, not part of the layer's identity: a solution equals another with the
    # same five parameters whether or not its interior was computed.
    interior: int = field(default=0, compare=False)
    size: int = field(default=0, compare=False)

    @property
    def even_overlap(self) -> bool:
        return overlap_verdict(self.kernel, self.stride, self.dilation) == "even"

    @property
    def interior_share(self) -> float:
        """The share of the output that is interior (0 to 1)."""
        return self.interior / self.size if self.size else 0.0


USEFUL_SHARE = 0.5  # a layer with less of its output interior is mostly border fall-off


def _tier(holes: bool, even: bool, share: float) -> tuple[bool, bool, bool]:
    """Holes last; before them, at least half the output interior beats evenness."""
    return holes, share < USEFUL_SHARE, not even


def _rank(sol: Solution, i: int, t: int) -> tuple[float, ...]:
    """Tier (:func:`_tier`); then a stride matching T/I, no dilation, no output padding, K=2S."""
    holes = overlap_verdict(sol.kernel, sol.stride, sol.dilation) == "holes"
    return (
        *_tier(holes, sol.even_overlap, sol.interior_share),
        abs(sol.stride - t / i),
        sol.dilation,
        sol.output_padding,
        abs(sol.kernel - 2 * sol.stride),
        sol.kernel,
        sol.padding,
        sol.stride,
    )


def solve_axis(i: int, t: int, bounds: Bounds = Bounds()) -> list[Solution]:
    """Every (K, S, P, P_out, D) within ``bounds`` with convt_output(I, ...) == T, best first."""
    _check_positive("input size", i)
    _check_positive("target size", t)
    for name, value in (("max-k", bounds.max_k), ("max-s", bounds.max_s), ("max-d", bounds.max_d)):
        _check_positive(name, value)
    if bounds.max_p is not None:
        _check_non_negative("max-p", bounds.max_p)
    tries = bounds.max_k * bounds.max_s * bounds.max_d * max(bounds.max_s, bounds.max_d)
    if tries > MAX_SOLVER_TRIES:  # the loops below run this many times
        raise UpscopeError(
            f"solver bounds max-k={bounds.max_k} max-s={bounds.max_s} max-d={bounds.max_d} mean "
            f"{tries} tries per axis, more than {MAX_SOLVER_TRIES}; lower them"
        )
    found = []
    for s in range(1, bounds.max_s + 1):
        for d in range(1, bounds.max_d + 1):
            for k in range(1, bounds.max_k + 1):
                max_p = d * (k - 1) if bounds.max_p is None else bounds.max_p
                for op in range(max(s, d)):
                    twice_p = (i - 1) * s + d * (k - 1) + op + 1 - t
                    if twice_p < 0 or twice_p % 2 or twice_p // 2 > max_p:
                        continue
                    p = twice_p // 2
                    inner = convt_interior(i, k, s, p, op, d)
                    found.append(Solution(k, s, p, op, d, inner, t))
    return sorted(found, key=lambda sol: _rank(sol, i, t))


def is_square(sols: tuple[Solution, ...]) -> bool:
    """Every axis has the same parameters."""
    return all(s == sols[0] for s in sols)


def share(sols: tuple[Solution, ...]) -> float:
    """The share of the output (all axes) that is interior."""
    return math.prod(s.interior_share for s in sols)


def solve(inputs: Axes, targets: Axes, bounds: Bounds = Bounds()) -> list[tuple[Solution, ...]]:
    """Per-axis solutions combined: one tuple (a Solution per axis) per configuration.

    With several axes every combination of per-axis solutions is listed, ranked by tier (holes
    last, then less than half the output interior, then uneven) and the sum of the per-axis
    ranks (so a configuration that is good on every axis comes first). When every axis asks
    the same (``7x7 -> 28x28``), the square configurations come first.
    """
    per_axis = [solve_axis(i, t, bounds) for i, t in zip(inputs, targets, strict=True)]
    if len(per_axis) == 1:
        return [(sol,) for sol in per_axis[0]]
    count = math.prod(len(sols) for sols in per_axis)
    if count > MAX_COMBINATIONS:
        raise UpscopeError(
            f"{count} per-axis combinations (over {MAX_COMBINATIONS}): narrow --max-k/--max-s/"
            "--max-d/--max-p, or solve one axis at a time"
        )
    combos: list[tuple[int, tuple[Solution, ...]]] = [(0, ())]
    for sols in per_axis:
        combos = [(r + n, c + (sol,)) for r, c in combos for n, sol in enumerate(sols)]
    same = len(set(zip(inputs, targets, strict=True))) == 1
    combos.sort(
        key=lambda rc: (
            same and not is_square(rc[1]),
            *_tier(
                any(overlap_verdict(s.kernel, s.stride, s.dilation) == "holes" for s in rc[1]),
                all(s.even_overlap for s in rc[1]),
                share(rc[1]),
            ),
            rc[0],
        )
    )
    return [c for _, c in combos]
