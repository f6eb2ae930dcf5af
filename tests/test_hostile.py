"""Hostile input, as a new user or a CI runner produces it: each case runs ``python -m upscope``
in a subprocess and must end with its documented exit code (2: refused), exactly one stderr
line, no traceback, within a time bound, and under a 1 GiB address-space limit
(``RLIMIT_AS``, which torch's import fits in), its peak RSS read back with ``os.wait4``.

The cases run in parallel (a few subprocesses at a time) once per module; each case is then its
own test. The time bound is generous for a loaded CI machine; docs/conventions.md has the
times measured on a quiet one.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from onnx_hostile import CASES as ONNX_CASES

from upscope.render.compare_view import FIGURES

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "astronaut.png"
AS_LIMIT = 1 << 30  # bytes of address space every case runs under
SECONDS = 15.0  # per case refused before torch is imported, on a loaded machine
TORCH_SECONDS = 60.0  # per case that imports torch (seconds alone, 25 s seen under load 6)
LONG = "a" * 300
HUGE = "1" + "0" * 30  # 10**30
GRID = FIGURES[0]  # the first figure compare writes: an input by that name must survive


@dataclass
class Case:
    name: str
    args: list[str]
    says: str  # a piece of the one stderr line (of stdout for the cases that succeed)
    code: int = 2
    env: dict[str, str] = field(default_factory=dict)
    stdout: str | None = None  # where stdout goes: None (a file), or a path such as /dev/full
    check: Callable[[Path, str], None] | None = None  # more checks: (work folder, stdout)
    torch: bool = False  # the case needs torch (to load a model): a longer time bound


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str
    seconds: float
    peak_rss: int  # bytes


def _unchanged_image(work: Path, _out: str) -> None:
    assert (work / "dl" / GRID).read_bytes() == SAMPLE.read_bytes()


def _eight_counts(_work: Path, out: str) -> None:
    import json

    doc = json.loads(out)
    assert len(doc["map"]) == 8 and doc["min"] >= 1, doc["map"]


CASES = [
    # arithmetic that looped or allocated by a parameter
    Case("size-stride-1e8", ["size", "--input", "14", "--k", "3", "--s", "100000000"], "65536"),
    Case("size-stride-1e9", ["size", "--input", "14", "--k", "3", "--s", "1000000000"], "65536"),
    Case("size-stride-1e30", ["size", "--input", "14", "--k", "3", "--s", HUGE], "31-digit"),
    Case(
        "size-keras-1e30",
        ["size", "--input", "14", "--k", "3", "--s", HUGE, "--p", "same", "--framework", "keras"],
        "31-digit",
    ),
    Case(
        "size-keras-1e8",
        ["size", "--input", "14", "--k", "3", "--s", "100000000", "--framework", "keras"],
        "65536",
    ),
    Case("size-5000-digits", ["size", "--input", "1" * 5000, "--k", "3"], "5000-digit"),
    # an 8-pixel map with a huge kernel and padding: computed by the output, not the kernel
    Case(
        "overlap-huge-kernel",
        ["overlap", "--k", "1000000001", "--p", "500000000", "--input", "8", "--dims", "1"]
        + ["--json", "--no-png"],
        '"map"',
        code=0,
        check=_eight_counts,
    ),
    Case(
        "overlap-kernel-and-stride-65535",
        ["overlap", "--k", "65535", "--s", "65536", "--input", "4", "--dims", "1", "--json"]
        + ["--no-png"],
        "no contribution at all (holes)",
        code=0,
    ),
    Case(
        "overlap-maxpool-huge",
        ["overlap", "--layer", "maxpool k=1000000001 p=500000000", "--input", "8", "--dims", "1"]
        + ["--no-png"],
        "stride s must be at most 65536",
    ),
    Case(
        "overlap-maxpool-huge-s1",
        ["overlap", "--layer", "maxpool k=1000000001 s=1 p=500000000", "--input", "8"]
        + ["--dims", "1", "--json", "--no-png"],
        '"map"',
        code=0,
        check=_eight_counts,
    ),
    Case(
        "overlap-map-over-budget",
        ["overlap", "--k", "3", "--s", "2", "--input", "2000x2000", "--max-memory", "64M"]
        + ["--no-png"],
        "more than the limit of 64.0 MiB (set by --max-memory)",
    ),
    Case(
        "scan-stride-1e9",
        ["scan", "{work}/nets.py:BigStride", "--input-shape", "1x2x1x1"],
        "65536",
        torch=True,
    ),
    # work beyond the machine (a fixed --max-memory, so the answer does not depend on it)
    Case(
        "probe-beyond-memory",
        ["probe", "--seeds", "1", "--size", "512", "--channels", "256", "--methods"]
        + ["pixelshuffle", "--max-memory", "4G"],
        "GiB of memory, more than the limit of 4.0 GiB",
    ),
    Case(
        "compare-6300",
        ["compare", "{work}/big6300.png", "--no-png", "--max-memory", "4G"],
        "compare on a 6300x6300 image needs about",
    ),
    Case(
        "scan-shape-1e5",
        ["scan", "{work}/nets.py:Small", "--input-shape", "1x3x100000x100000"],
        "forward pass on input shape 1x3x100000x100000 needs about",
    ),
    Case(
        "scan-shape-1e30",
        ["scan", "{work}/nets.py:Small", "--input-shape", f"1x3x{HUGE}x1"],
        "--input-shape sizes must be at most 2147483647",
    ),
    Case("compare-threads", ["compare", "--threads", "100000", "--no-png"], "at most 256"),
    Case("max-memory-word", ["probe", "--max-memory", "lots"], "--max-memory must be a size"),
    # files
    Case(
        "compare-over-its-image",
        ["compare", "{work}/dl/{grid}", "--out", "{work}/dl", "--methods", "nearest"],
        "refusing to write",
        check=_unchanged_image,
    ),
    Case(
        "out-300-chars",
        ["overlap", "--k", "3", "--s", "2", "--out", f"{{work}}/{LONG}"],
        "too long",
    ),
    Case("image-fifo", ["compare", "{work}/fifo", "--no-png"], "named pipe (FIFO)"),
    Case("detect-fifo", ["detect", "{work}/fifo", "--no-png"], "named pipe (FIFO)"),
    Case("detect-device", ["detect", "/dev/zero", "--no-png"], "character device"),
    Case(
        "detect-6300",
        ["detect", "{work}/big6300.png", "--no-png", "--max-memory", "4G"],
        "detect on 1 image(s) needs about",
    ),
    Case("image-device", ["compare", "/dev/zero", "--no-png"], "character device"),
    Case("image-folder", ["compare", "{work}", "--no-png"], "is a folder"),
    Case(
        "weights-fifo",
        ["scan", "{work}/nets.py:Small", "--input-shape", "1x2x4x4", "--weights", "{work}/fifo"],
        "named pipe (FIFO)",
    ),
    Case(
        "weights-folder",
        ["scan", "{work}/nets.py:Small", "--input-shape", "1x2x4x4", "--weights", "{work}"],
        "is a folder",
    ),
    Case(
        "weights-run-code",
        ["scan", "{work}/nets.py:Small", "--input-shape", "1x2x4x4", "--weights"]
        + ["{work}/evil.pt", "--no-png"],
        "refused: loading it would execute code (its pickle calls posix.system)",
        torch=True,
    ),
    # output
    Case(
        "stdout-full",
        ["size", "--input", "14", "--k", "4", "--s", "2", "--json"],
        "cannot write to stdout: No space left on device",
        stdout="/dev/full",
    ),
    Case(
        "ascii-terminal",
        ["overlap", "--k", "3", "--s", "2", "--out", "{work}/déjà"],
        "d\\xe9j\\xe0",
        code=0,
        env={"PYTHONIOENCODING": "ascii"},
    ),
    Case(
        "columns-0",
        ["size", "--input", "14", "--k", "4", "--s", "2"],
        "output size: 30",
        code=0,
        env={"COLUMNS": "0"},
    ),
    # ONNX graphs outside the operator specification or past the budget (issues 22, 23), built
    # in {work}/onnx by tests/onnx_hostile.py
    *[
        Case(f"onnx-{name}", ["scan", f"{{work}}/onnx/{name}.onnx", "--max-memory", "4G"], says)
        for name, _, says in ONNX_CASES
    ],
]


# A small launcher sets the limit and runs the command as its child, then writes the child's
# peak RSS to the file argv[2]: forked from pytest directly, the child's peak would include
# pytest's own pages until its exec.
_LAUNCH = """
import resource, subprocess, sys
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
code = subprocess.call(sys.argv[3:])
with open(sys.argv[2], "w") as handle:
    handle.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024))
sys.exit(code if code >= 0 else 128 - code)
"""


def _run(case: Case, work: Path) -> Outcome:
    args = [a.replace("{work}", str(work)).replace("{grid}", GRID) for a in case.args]
    env = {**os.environ, **case.env, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    env.pop("UPSCOPE_DEBUG", None)
    env.setdefault("COLUMNS", "100")
    with tempfile.TemporaryDirectory() as scratch:
        rss_file = Path(scratch) / "rss"
        out_path = Path(case.stdout or Path(scratch) / "out")
        err_path = Path(scratch) / "err"
        with out_path.open("wb") as out, err_path.open("wb") as err:
            start = time.perf_counter()
            code = subprocess.call(
                [sys.executable, "-c", _LAUNCH, str(AS_LIMIT), str(rss_file)]
                + [sys.executable, "-m", "upscope", *args],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
            )
            seconds = time.perf_counter() - start
        return Outcome(
            code=code,
            stdout="" if case.stdout else out_path.read_text("utf-8", "replace"),
            stderr=err_path.read_text("utf-8", "replace"),
            seconds=seconds,
            peak_rss=int(rss_file.read_text()),
        )


def _make_work(work: Path) -> None:
    import torch
    from PIL import Image

    os.mkfifo(work / "fifo")
    (work / "dl").mkdir()
    (work / "dl" / GRID).write_bytes(SAMPLE.read_bytes())
    Image.new("RGB", (6300, 6300), (10, 20, 30)).save(work / "big6300.png", compress_level=1)
    (work / "nets.py").write_text(
        "import torch.nn as nn\n"
        "class BigStride(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.up = nn.ConvTranspose2d(2, 2, 3, stride=10**9)\n"
        "    def forward(self, x):\n"
        "        return self.up(x)\n"
        "class Small(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.up = nn.ConvTranspose2d(2, 2, 4, stride=2, padding=1)\n"
        "    def forward(self, x):\n"
        "        return self.up(x)\n"
    )

    class Evil:
        def __reduce__(self) -> tuple[object, ...]:
            return (os.system, (f"touch {work}/ran",))

    torch.save({"up.weight": Evil()}, work / "evil.pt")
    (work / "onnx").mkdir()
    for name, build, _ in ONNX_CASES:
        build(work / "onnx" / f"{name}.onnx")


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Outcome]]:
    work = tmp_path_factory.mktemp("hostile")
    _make_work(work)
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        futures = {case.name: pool.submit(_run, case, work) for case in CASES}
        return {name: (work, future.result()) for name, future in futures.items()}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_case(case: Case, outcomes: dict[str, tuple[Path, Outcome]]) -> None:
    work, got = outcomes[case.name]
    lines = got.stderr.splitlines()
    shown = f"{case.name}: exit {got.code}, stderr {got.stderr!r}"
    assert got.code == case.code, shown
    assert "Traceback" not in got.stderr, shown
    assert got.seconds < (TORCH_SECONDS if case.torch else SECONDS), shown
    assert got.peak_rss < AS_LIMIT, shown
    if case.code == 2:
        assert len(lines) == 1 and lines[0].startswith("upscope: error: "), shown
        assert case.says in lines[0], shown
        assert "internal error" not in lines[0] and len(lines[0]) < 400, shown
    else:
        assert case.says in got.stdout, (shown, got.stdout[:500])
    if case.check is not None:
        case.check(work, got.stdout)
    assert not (work / "ran").exists(), "a checkpoint's pickle ran code"


def test_weights_message_never_suggests_the_unsafe_retry(
    outcomes: dict[str, tuple[Path, Outcome]],
) -> None:
    _, got = outcomes["weights-run-code"]
    assert "weights_only=False" not in got.stderr and "damaged" not in got.stderr


# ---------------------------------------------------------------- signals

_SIGNAL_CHILD = """
import os, signal, sys, time
import upscope.files as files

real = files.atomic_write


def interrupted_write(path, write):
    def write_then_signal(tmp):
        write(tmp)  # the temporary file is complete and in the --out folder now
        os.kill(os.getpid(), getattr(signal, sys.argv[1]))
        time.sleep(30)

    return real(path, write_then_signal)


files.atomic_write = interrupted_write
from upscope.cli import main

main(["overlap", "--k", "3", "--s", "2", "--out", sys.argv[2]])
"""


@pytest.mark.parametrize(
    ("name", "code", "line"),
    [
        ("SIGINT", 130, "upscope: error: interrupted"),
        ("SIGTERM", 143, "upscope: error: interrupted (SIGTERM)"),
    ],
)
def test_signal_during_a_write_removes_the_temporary_file(
    tmp_path: Path, name: str, code: int, line: str
) -> None:
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-c", _SIGNAL_CHILD, name, str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TORCH_SECONDS,
    )
    assert proc.returncode == code, proc.stderr
    assert proc.stderr.splitlines() == [line]
    assert out.is_dir() and list(out.iterdir()) == []  # no PNG, no hidden partial file


def test_fifo_is_refused_without_opening_it(tmp_path: Path) -> None:
    from upscope.errors import UpscopeError
    from upscope.files import check_regular_file

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    with pytest.raises(UpscopeError, match="named pipe"):
        check_regular_file(fifo, "image")  # would block forever if it opened the FIFO
