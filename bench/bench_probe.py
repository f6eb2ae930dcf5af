"""How long a full default ``upscope probe`` takes, and where the time goes.

Runs, side by side in one process tree and interleaved (``--repeat`` rounds, median kept):
  startup   python -m upscope --version              (interpreter + CLI, no torch)
  no-png    python -m upscope probe --no-png          (torch import + probe + table)
  default   python -m upscope probe --out TMP         (the full default run, PNGs included)
  grad      python -m upscope probe --grad --out TMP  (default plus the gradient probe)
and, in-process, the probe core alone (run_probe, default config), then prints the ratios.

    python bench/bench_probe.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _time(cmd: list[str]) -> float:
    env = dict(os.environ, COLUMNS="100", PYTHONPATH=str(ROOT))
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    py = [sys.executable, "-m", "upscope"]
    with tempfile.TemporaryDirectory() as tmp:
        cases = {
            "startup": py + ["--version"],
            "no-png": py + ["probe", "--no-png"],
            "default": py + ["probe", "--out", tmp],
            "grad": py + ["probe", "--grad", "--out", tmp],
        }
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.repeat):
            for name, cmd in cases.items():
                times[name].append(_time(cmd))
    sys.path.insert(0, str(ROOT))
    from upscope.probing import ProbeConfig, run_probe

    run_probe(ProbeConfig(seeds=1))  # warm up torch
    core = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        run_probe(ProbeConfig())
        core.append(time.perf_counter() - start)
    med = {name: statistics.median(v) for name, v in times.items()}
    med["core"] = statistics.median(core)
    print(f"cpu cores: {os.cpu_count()}, repeat: {args.repeat} (median seconds)")
    for name, value in med.items():
        print(f"  {name:8s} {value:6.2f} s")
    d = med["default"]
    print("ratios (same run):")
    print(f"  default / startup       {d / med['startup']:6.1f}x")
    print(f"  no-png  / default       {med['no-png'] / d:6.2f}  (share without the figures)")
    print(f"  core    / default       {med['core'] / d:6.2f}  (9 methods x 2 inputs x 8 seeds)")
    print(f"  grad    / default       {med['grad'] / d:6.2f}")


if __name__ == "__main__":
    main()
