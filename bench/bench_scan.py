"""``upscope scan`` on the DCGAN sample, end to end: this checkout against an older commit (the
scan before status, fixes and their verification), and against ``python -c "import torch"``.

Every command runs in a fresh subprocess (interpreter start and the torch import included), in
the same run and interleaved, so the machine's load affects them alike. The older commit is
unpacked with ``git archive`` into a temporary folder and run from there. The script prints the
median wall time of each command, its ratio to the bare torch import, and the ratio of each new
scan to the same old one (issue 9: within 2x).

    python bench/bench_scan.py [--repeats 5] [--baseline COMMIT]
"""

from __future__ import annotations

import argparse
import io
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODEL = f"{ROOT / 'samples' / 'models.py'}:DCGANGenerator"
#: the last commit before scan's status, fixes and verification
BASELINE = "5fb3c77"


def seconds(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def unpack(commit: str, folder: Path) -> None:
    archive = subprocess.run(
        ["git", "archive", "--format=tar", commit, "upscope"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--baseline", default=BASELINE, help="the old commit (default %(default)s)")
    args = parser.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        old_root, out = Path(tmp) / "old", Path(tmp) / "out"
        unpack(args.baseline, old_root)
        scan = [py, "-m", "upscope", "scan", MODEL, "--input-shape", "1x100x1x1"]
        commands = {
            'python -c "import torch"': ([py, "-c", "import torch"], ROOT),
            "old scan --no-png": ([*scan, "--no-png"], old_root),
            "new scan --no-png": ([*scan, "--no-png"], ROOT),
            "old scan --json --no-png": ([*scan, "--json", "--no-png"], old_root),
            "new scan --json --no-png": ([*scan, "--json", "--no-png"], ROOT),
            "old scan (4 PNGs)": ([*scan, "--out", str(out)], old_root),
            "new scan (4 PNGs)": ([*scan, "--out", str(out)], ROOT),
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for cmd, cwd in commands.values():  # warm the file cache once
            seconds(cmd, cwd)
        for _ in range(args.repeats):
            for name, (cmd, cwd) in commands.items():
                times[name].append(seconds(cmd, cwd))
    medians = {name: statistics.median(values) for name, values in times.items()}
    base = medians['python -c "import torch"']
    print(f"median of {args.repeats} runs each, interleaved, one subprocess per run")
    print(f"old = commit {args.baseline}; new = this checkout")
    print(f"{'command':32s} {'seconds':>8s} {'x import torch':>15s} {'new / old':>10s}")
    for name, median in medians.items():
        old = medians.get(name.replace("new ", "old ")) if name.startswith("new ") else None
        ratio = f"{median / old:10.2f}" if old else ""
        print(f"{name:32s} {median:8.2f} {median / base:15.2f} {ratio}")


if __name__ == "__main__":
    main()
