"""``upscope detect``: false positives on clean photographs, the smallest grid found, and speed.

Clean images are crops of the bundled astronaut (512x512), each flipped at random, saved as 8-bit
values (what a PNG holds). Three measurements:

1. false-positive rate: runs of N clean crops (N = 1, 16, 64; sizes 64 to 256), the share of
   runs in which any period is found (the verdict is not "none"), and the share of single tests
   (period x test) at z >= 5;
2. the smallest amplitude found: a checkerboard (period 2x2) and a column cosine (period 1x4) of
   RMS A grey levels added to N = 1, 16 and 256 crops of 128x128 (one 512x512 image for N = 1
   too), A halved from 8 until the period is no longer found; printed: the smallest A found
   ("-": not found at 8), on float images and on images rounded to 8 bits (where a pattern
   under half a grey level is mostly rounded away);
3. time per megapixel: 100 images of 512x512 (uint8 array, in memory), the whole analysis, on
   this machine's cores (the target: under 10 s on two cores).

    python bench/bench_detect.py [--runs 40] [--quick]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from upscope import detect
from upscope.images import load_image, sample_path

ASTRONAUT = load_image(sample_path("astronaut")).pixels


def crops(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    out = []
    for _ in range(n):
        i, j = rng.integers(0, 512 - size + 1, 2)
        crop = ASTRONAUT[:, i : i + size, j : j + size]
        if rng.random() < 0.5:
            crop = crop[:, :, ::-1]
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        out.append(crop)
    return np.ascontiguousarray(np.stack(out))


def u8(batch: np.ndarray) -> np.ndarray:
    return np.round(np.clip(batch, 0, 1) * 255).astype(np.uint8)


def false_positives(runs: int) -> None:
    print("1. clean photographs (astronaut crops, random flips)")
    print(f"   {'N':>4} {'size':>5} {'runs':>5} {'runs flagged':>13} {'tests >= z_min':>15}")
    rng = np.random.default_rng(1)
    for n, size in ((1, 256), (1, 128), (16, 64), (16, 128), (64, 64)):
        flagged = tests = hits = 0
        for _ in range(runs):
            result = detect(u8(crops(n, size, rng)))
            flagged += result.verdict != "none" or bool(result.found)
            for group in result.groups:
                tests += len(group.candidates)
                hits += sum(c.z >= result.z_min for c in group.candidates)
        print(
            f"   {n:>4} {size:>5} {runs:>5} {flagged:>7} ({flagged / runs:4.0%}) {hits:>6}/{tests}"
        )


def pattern(kind: str, shape: tuple[int, int]) -> np.ndarray:
    i, j = np.indices(shape)
    if kind == "2x2":
        return (-1.0) ** (i + j)
    return np.cos(2 * np.pi * j / 4) * np.sqrt(2)  # RMS 1, like the checkerboard


def smallest(n: int, size: int, kind: str, rng: np.random.Generator, rounded: bool) -> float | None:
    batch = crops(n, size, rng)
    want = (2, 2) if kind == "2x2" else (1, 4)
    found_at = None
    amplitude = 8.0
    while amplitude >= 0.03:
        added = batch + amplitude / 255 * pattern(kind, batch.shape[2:])
        result = detect(u8(added) if rounded else np.clip(added, 0.0, 1.0))
        if not any(f.period == want for f in result.found):
            break
        found_at = amplitude
        amplitude /= 2
    return found_at


def sensitivity() -> None:
    print("2. smallest RMS amplitude found (grey levels of 255; halved from 8 until missed)")
    rng = np.random.default_rng(2)
    for rounded in (False, True):
        how = "rounded to 8 bits" if rounded else "float, not rounded"
        for n, size in ((1, 512), (1, 128), (16, 128), (256, 128)):
            cells = []
            for kind in ("2x2", "1x4"):
                value = smallest(n, size, kind, rng, rounded)
                cells.append("-" if value is None else f"{value:g}")
            print(
                f"   {how}, N={n:<4} {size}x{size}: checkerboard 2x2 {cells[0]:>6}, "
                f"column cosine 1x4 {cells[1]:>6}"
            )


def speed(count: int) -> None:
    rng = np.random.default_rng(3)
    batch = u8(np.stack([ASTRONAUT[:, :, ::-1] if k % 2 else ASTRONAUT for k in range(count)]))
    batch = np.roll(batch, rng.integers(0, 8), axis=3)
    start, cpu = time.perf_counter(), time.process_time()
    detect(batch)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    mpix = count * 512 * 512 / 1e6
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(
        f"3. {count} images of 512x512: {seconds:.2f} s wall ({cpu:.2f} s CPU), "
        f"{seconds / mpix:.3f} s per megapixel ({cores} cores visible, load average "
        f"{os.getloadavg()[0]:.1f}; target: 100 images under 10 s on two)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--quick", action="store_true", help="10 runs, 20 images for the speed")
    args = parser.parse_args()
    runs = 10 if args.quick else args.runs
    false_positives(runs)
    sensitivity()
    speed(20 if args.quick else 100)


if __name__ == "__main__":
    main()
