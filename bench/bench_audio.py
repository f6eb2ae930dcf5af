"""How long the audio commands take (issue 18's targets: probe --audio under 30 s, compare of a
10 s clip under 60 s, on two cores), side by side in one run.

Runs, interleaved (``--repeat`` rounds, median kept), each as a user would:
  startup   python -m upscope --version
  probe     python -m upscope probe --audio --out TMP       (defaults: 9 methods, 5 inputs,
                                                             8 seeds, 16 kHz, x2, PNGs)
  compare   python -m upscope compare CLIP.wav --out TMP    (a 10 s 16 kHz clip: the bundled
                                                             sound repeated; fit 200, WAVs, PNGs)
and prints each median, its share of its target and its ratio to the startup.

    python bench/bench_audio.py [--repeat 1]
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
TARGETS = {"probe": 30.0, "compare": 60.0}


def _time(cmd: list[str]) -> float:
    env = dict(os.environ, COLUMNS="100", PYTHONPATH=str(ROOT))
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)  # fmt: skip
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    import numpy as np

    from samples.sound import RATE, sound
    from upscope.audio_io import write_wav

    py = [sys.executable, "-m", "upscope"]
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "clip.wav"
        write_wav(clip, np.tile(sound(), 4)[None, : 10 * RATE], RATE)
        cases = {
            "startup": py + ["--version"],
            "probe": py + ["probe", "--audio", "--out", str(Path(tmp) / "p")],
            "compare": py + ["compare", str(clip), "--out", str(Path(tmp) / "c")],
        }
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.repeat):
            for name, cmd in cases.items():
                times[name].append(_time(cmd))
    med = {name: statistics.median(v) for name, v in times.items()}
    print(f"{'case':10s} {'median s':>9s} {'x startup':>10s} {'of target':>10s}")
    for name, seconds in med.items():
        target = TARGETS.get(name)
        share = f"{seconds / target:.0%}" if target else "-"
        print(f"{name:10s} {seconds:9.2f} {seconds / med['startup']:10.1f} {share:>10s}")


if __name__ == "__main__":
    main()
