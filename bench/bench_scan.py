"""``upscope scan`` on the DCGAN sample, end to end, against ``python -c "import torch"``.

Every command runs in a fresh subprocess (interpreter start and the torch import included), in
the same run and interleaved, so the machine's load affects them alike. The script prints the
median wall time of each and its ratio to the bare torch import: what scanning adds on top of
the import that any torch tool pays.

    python bench/bench_scan.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODEL = f"{ROOT / 'samples' / 'models.py'}:DCGANGenerator"


def seconds(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory() as out:
        scan = [py, "-m", "upscope", "scan", MODEL, "--input-shape", "1x100x1x1"]
        commands = {
            'python -c "import torch"': [py, "-c", "import torch"],
            "upscope scan DCGAN --no-png": [*scan, "--no-png"],
            "upscope scan DCGAN --json --no-png": [*scan, "--json", "--no-png"],
            "upscope scan DCGAN (4 PNGs)": [*scan, "--out", out],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for cmd in commands.values():  # warm the file cache once
            seconds(cmd)
        for _ in range(args.repeats):
            for name, cmd in commands.items():
                times[name].append(seconds(cmd))
    base = statistics.median(times['python -c "import torch"'])
    print(f"median of {args.repeats} runs each, interleaved, one subprocess per run")
    print(f"{'command':40s} {'seconds':>8s} {'x import torch':>15s}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:40s} {median:8.2f} {median / base:15.2f}")


if __name__ == "__main__":
    main()
