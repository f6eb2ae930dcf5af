"""Benchmark ``upscope compare``: 512x512 and 1024x1024 RGB, --fit 0 and the default fit.

Each configuration runs in a fresh subprocess (the real CLI, ``--no-png --json`` plus one run
with the PNGs), so its peak resident memory (``ru_maxrss`` of that child, from wait4) is its
own. Prints wall times, peak memory and the ratios between configurations measured side by side
in this run, plus where the time goes (the methods' fit + inference, the figures, the rest).

    python bench/bench_compare.py            # all configurations (a few minutes on 2 cores)
    python bench/bench_compare.py --quick    # 512x512 only
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def make_image(size: int, folder: Path) -> Path:
    """The bundled photograph, tiled/cropped to ``size`` x ``size`` (real content, RGB)."""
    from PIL import Image

    src = Image.open(ROOT / "samples" / "astronaut.png").convert("RGB")
    canvas = Image.new("RGB", (size, size))
    for top in range(0, size, src.height):
        for left in range(0, size, src.width):
            canvas.paste(src, (left, top))
    path = folder / f"photo{size}.png"
    canvas.save(path)
    return path


def run(args: list[str]) -> tuple[float, float, dict | None]:
    """Wall seconds, peak RSS (MiB, this child's own ``ru_maxrss`` via wait4) and the JSON."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "upscope", "compare", *args],
            cwd=ROOT,
            stdout=out,
            stderr=err,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise SystemExit(f"upscope compare {' '.join(args)} failed: {err.read()}")
        out.seek(0)
        text = out.read()
    doc = json.loads(text) if "--json" in args else None
    return wall, usage.ru_maxrss / 1024, doc


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="512x512 only")
    opts = parser.parse_args()
    sizes = [512] if opts.quick else [512, 1024]
    rows: dict[tuple[int, str], tuple[float, float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for size in sizes:
            image = make_image(size, folder)
            for fit in ("0", "200"):
                wall, rss, doc = run([str(image), "--fit", fit, "--no-png", "--json"])
                methods = sum(r["seconds"] for r in doc["results"]) if doc else 0.0
                rows[(size, fit)] = (wall, rss, methods)
                print(
                    f"{size}x{size} --fit {fit:>3}: {wall:6.1f} s wall, "
                    f"{methods:6.1f} s in the methods (fit + inference), peak RSS {rss:6.0f} MiB",
                    flush=True,
                )
            wall_png, _, _ = run([str(image), "--fit", "0", "--out", str(folder / "o")])
            print(
                f"{size}x{size} --fit   0 with PNGs: {wall_png:6.1f} s wall "
                f"(figures: ~{wall_png - rows[(size, '0')][0]:.1f} s)",
                flush=True,
            )
            rows[(size, "png")] = (wall_png, 0.0, 0.0)
        t1, _, _ = run([str(make_image(512, folder)), "-m", "convT-even", "--no-png",
                        "--threads", "1"])  # fmt: skip
        t2, _, _ = run([str(make_image(512, folder)), "-m", "convT-even", "--no-png",
                        "--threads", "2"])  # fmt: skip
    print("\nratios (same run):")
    for size in sizes:
        base, fitted = rows[(size, "0")], rows[(size, "200")]
        print(f"  {size}: default fit / fit 0 = {fitted[0] / base[0]:.1f}x wall")
    if len(sizes) == 2:
        for fit in ("0", "200"):
            big, small = rows[(1024, fit)], rows[(512, fit)]
            print(
                f"  --fit {fit}: 1024 / 512 = {big[0] / small[0]:.2f}x wall "
                f"(4x the pixels), {big[1] / small[1]:.2f}x peak RSS"
            )
    print(f"  convT-even alone, --threads 2 / --threads 1 = {t2 / t1:.2f}x wall")
    default = rows[(512, "200")][0]
    print(f"\ndefault run on 512x512 (no PNGs): {default:.1f} s; aim < 60 s")


if __name__ == "__main__":
    main()
