"""The resource budget every command checks before it allocates (standard library only).

The memory budget is half the memory this process can still use when the check runs: the
smallest of the memory available (``MemAvailable`` in ``/proc/meminfo``; else free pages from
``os.sysconf``; else 4 GiB) and the room left under the process's own limits (``RLIMIT_AS``,
``RLIMIT_DATA``, a cgroup v2 ``memory.max`` or v1 ``memory.limit_in_bytes``), see
:func:`memory_room`. ``--max-memory`` on the command line, :func:`max_memory` (a context
manager) or ``max_memory=`` in the Python API replace it. An allocation that fails anyway inside
the work (``MemoryError``, torch's "can't allocate memory") becomes the same one-line refusal
(:func:`allocation_failure`). Each entry point estimates the bytes its arrays will take from
its arguments and calls :func:`check_memory` before it builds them: past the budget it raises one
:class:`UpscopeError` line naming the estimate, the limit and how to raise it.

The arithmetic takes integers in a documented range, so that it stays O(1), or O(S) in a
bounded stride: sizes, kernels and paddings up to :data:`MAX_INT`, strides, dilations and
shuffle factors up to :data:`MAX_STEP`.

>>> parse_size("2G"), parse_size("512m"), parse_size("1.5GiB")
(2147483648, 536870912, 1610612736)
>>> format_bytes(3 * 2**30), format_bytes(1536)
('3.0 GiB', '1.5 KiB')
>>> with max_memory("1G"):
...     budget()
1073741824
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

from upscope.errors import UpscopeError

SHARE = 0.5  # of the memory available
FALLBACK = 4 << 30  # when the available memory cannot be read
MAX_INT = 2**31 - 1  # input sizes, kernels, paddings, output paddings (torch's int range)
MAX_STEP = 2**16  # strides, dilations, pixel-shuffle factors: the phase arithmetic is O(S)
MAX_OPS = 4_000_000_000  # element operations one overlap map may cost (about 10 s of numpy)
MAX_THREADS = 256

_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$", re.IGNORECASE)
_override: ContextVar[int | None] = ContextVar("upscope_max_memory", default=None)


def available_memory() -> int | None:
    """Bytes of memory available to new allocations now, or None if the system will not say."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _read_int(path: str) -> int | None:
    try:
        with open(path, encoding="ascii") as handle:
            text = handle.read().strip()
    except (OSError, ValueError):
        return None
    return int(text) if text.isdigit() else None  # "max" (no limit) reads as None


def _status_bytes(field: str) -> int:
    """``VmSize`` / ``VmData`` of this process in bytes (0 when unknown)."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _cgroup_room() -> tuple[int, str] | None:
    """Bytes left under this process's cgroup memory limit (v2, else v1), if it has one."""
    try:
        with open("/proc/self/cgroup", encoding="ascii") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return None
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controllers == "":  # v2
            base = "/sys/fs/cgroup" + path.rstrip("/")
            limit = _read_int(base + "/memory.max") or _read_int("/sys/fs/cgroup/memory.max")
            used = _read_int(base + "/memory.current") or _read_int("/sys/fs/cgroup/memory.current")
            if limit is not None:
                return max(limit - (used or 0), 0), "the cgroup's memory.max"
        elif "memory" in controllers.split(","):  # v1
            base = "/sys/fs/cgroup/memory"
            limit = _read_int(base + path.rstrip("/") + "/memory.limit_in_bytes") or _read_int(
                base + "/memory.limit_in_bytes"
            )
            used = _read_int(base + path.rstrip("/") + "/memory.usage_in_bytes") or _read_int(
                base + "/memory.usage_in_bytes"
            )
            if limit is not None and limit < 1 << 60:  # v1 writes "no limit" as a huge number
                return max(limit - (used or 0), 0), "the cgroup's memory.limit_in_bytes"
    return None


def memory_room() -> tuple[int | None, str]:
    """The bytes this process can still allocate, and what bounds them: the least of the
    memory available and the room under ``RLIMIT_AS`` (minus ``VmSize``), ``RLIMIT_DATA``
    (minus ``VmData``) and the cgroup's limit (minus its usage). None when nothing answers."""
    rooms: list[tuple[int, str]] = []
    available = available_memory()
    if available:
        rooms.append((available, "the memory available"))
    try:
        import resource

        for name, field in (("RLIMIT_AS", "VmSize"), ("RLIMIT_DATA", "VmData")):
            soft = resource.getrlimit(getattr(resource, name))[0]
            if soft != resource.RLIM_INFINITY and soft > 0:
                rooms.append((max(soft - _status_bytes(field), 0), f"the process's {name}"))
    except (ImportError, AttributeError, OSError, ValueError):  # not a Unix
        pass
    cgroup = _cgroup_room()
    if cgroup is not None:
        rooms.append(cgroup)
    if not rooms:
        return None, "the memory available"
    return min(rooms)


def default_budget() -> int:
    """Half of :func:`memory_room` (4 GiB when nothing answers)."""
    room, _ = memory_room()
    return FALLBACK if room is None else int(room * SHARE)


def parse_size(text: str | int) -> int:
    """``"2G"``, ``"512M"``, ``"1.5GiB"``, ``"800k"`` or a plain number of bytes -> bytes."""
    if isinstance(text, int):
        value = text
    else:
        match = _SIZE_RE.match(text) if len(text) <= 40 else None  # digits past that: refused
        if not match:
            shown = repr(text) if len(text) <= 40 else f"a {len(text)}-character value"
            raise UpscopeError(
                f"--max-memory must be a size such as 2G, 512M or 800000000 (bytes), got {shown}"
            )
        value = int(float(match.group(1)) * _UNITS[match.group(2).lower()])
    if value < 1:
        raise UpscopeError(f"--max-memory must be more than 0 bytes, got {text!r}")
    return value


def budget() -> int:
    """The memory budget in bytes now: the :func:`max_memory` in force, else the default."""
    value = _override.get()
    return default_budget() if value is None else value


@contextmanager
def max_memory(value: int | str | None) -> Iterator[int]:
    """Use ``value`` (bytes, or a size such as ``"2G"``) as the budget inside the block;
    ``None`` keeps the budget in force."""
    if value is None:
        yield budget()
        return
    token = _override.set(parse_size(value))
    try:
        yield budget()
    finally:
        _override.reset(token)


def format_bytes(n: float) -> str:
    """``1.5 GiB``: binary units, one decimal."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def _limit_text(limit: int) -> str:
    if _override.get() is not None:
        how = "set by --max-memory"
    else:
        how = "half of " + memory_room()[1]
        how = "half the memory available" if how == "half of the memory available" else how
    return f"{format_bytes(limit)} ({how})"


_ALLOCATION_FAILED = ("can't allocate memory", "out of memory", "failed to allocate")


def allocation_failure(exc: BaseException) -> UpscopeError | None:
    """The budget's one-line refusal for an allocation that failed inside the work
    (``MemoryError``; torch's "DefaultCPUAllocator: can't allocate memory", CUDA out of memory);
    None for any other exception."""
    text = " ".join(str(exc).split())
    if isinstance(exc, MemoryError):
        what = "MemoryError"
    elif isinstance(exc, RuntimeError) and any(m in text.lower() for m in _ALLOCATION_FAILED):
        what = text[:120] + (" ..." if len(text) > 120 else "")
    else:
        return None
    return UpscopeError(
        f"the work ran out of memory ({what}) within the limit of {_limit_text(budget())}; "
        "make it smaller, or lower --max-memory so that it is refused before it starts"
    )


def check_memory(estimate: int, what: str) -> None:
    """Raise UpscopeError if ``what`` would need more than the budget (``estimate`` bytes)."""
    limit = budget()
    if estimate > limit:
        raise UpscopeError(
            f"{what} needs about {format_bytes(estimate)} of memory, more than the limit of "
            f"{_limit_text(limit)}; make it smaller, or raise the limit with --max-memory "
            "(e.g. --max-memory 16G; max_memory= in Python)"
        )


def check_ops(ops: int, what: str, advice: str) -> None:
    """Raise UpscopeError if ``what`` would cost more than :data:`MAX_OPS` element operations."""
    if ops > MAX_OPS:
        raise UpscopeError(
            f"{what} needs about {ops:.1e} element operations (more than {MAX_OPS:.0e}, minutes "
            f"of work); {advice}"
        )


def check_int(name: str, value: int, low: int, high: int) -> None:
    """Raise UpscopeError unless ``low <= value <= high``; a huge value is shown shortened."""
    if low <= value <= high:
        return
    digits = str(value)
    shown = digits if len(digits) <= 20 else f"a {len(digits)}-digit number"
    if value < low:
        word = {0: "0 or more", 1: "at least 1"}.get(low, f"at least {low}")
        raise UpscopeError(f"{name} must be {word}, got {shown}")
    raise UpscopeError(f"{name} must be at most {high}, got {shown}")


def tensor_bytes(shape: Sequence[int], itemsize: int = 4) -> int:
    """Bytes of one dense array of ``shape`` (float32 by default)."""
    return math.prod(shape) * itemsize


def probe_bytes(
    scale: int, methods: int, inputs: int, seeds: int, size: int, channels: int, grad: bool
) -> int:
    """Peak bytes of ``upscope probe``: every seed's float64 response to every input is kept
    per method, and what the earlier methods leave behind grows the heap by about as much again
    per method (measured); plus one forward pass (the input, a conv at C*S^2 channels, the
    float32 output and its float64 copy). ``grad`` adds four strided convs, like four methods.
    """
    out = channels * (scale * size) ** 2
    kept = seeds * inputs * out * 8
    forward = channels * size * size * 4 * (1 + scale * scale) + out * (4 + 8)
    runs = methods + (4 if grad else 0)
    return (2 + runs) * kept + forward + out * 8 * 2


def compare_bytes(channels: int, height: int, width: int, methods: int, net_width: int) -> int:
    """Peak bytes of ``upscope compare`` on a C x H x W image (H, W at full resolution).

    Every method's output is kept (float32, then a float64 copy for the metrics); a learned
    method runs its network of ``net_width`` channels over the whole image once, holding up to
    about four such activations at full resolution at a time (``net_width=0``: none learned).
    """
    image = channels * height * width
    # each method's output, plus about twelve image-sized float64 arrays at a time: the decoded
    # and cropped original, the low-res input, the metrics' copies, spectra (measured)
    kept = (methods + 12) * image * 8
    network = 4 * net_width * height * width * 4
    return kept + network
