"""Wall time of `upscope size` and `import upscope` against `python -c "import typer, rich"`,
measured side by side.

Runs both commands alternately, N times each, and prints the medians and their ratio.
Usage: python bench/bench_size.py [N]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

COMMANDS = {
    "import typer, rich": [sys.executable, "-c", "import typer, rich"],
    "minimal typer app": [sys.executable, str(ROOT / "bench" / "_typer_hello.py"), "size"],
    "import upscope": [sys.executable, "-c", "import upscope"],
    "upscope size (one layer)": [
        sys.executable, "-m", "upscope", "size", "-i", "14", "--k", "4", "--s", "2", "--p", "1",
    ],
    "upscope size --target": [
        sys.executable, "-m", "upscope", "size", "-i", "14", "--target", "28",
    ],
    "upscope size --json stack": [
        sys.executable, "-m", "upscope", "size", "-i", "4", "--json",
        "--layer", "convT k=4 s=2 p=1", "--layer", "convT k=3 s=2 p=1 op=1",
    ],
}  # fmt: skip


def main(n: int = 15) -> None:
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(n):
        for name, cmd in COMMANDS.items():
            start = time.perf_counter()
            subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
            times[name].append(time.perf_counter() - start)
    base = statistics.median(times["import typer, rich"])
    print(f"{'command':<28} {'median s':>9} {'ratio':>6}   ({n} runs each, interleaved)")
    for name, values in times.items():
        med = statistics.median(values)
        print(f"{name:<28} {med:9.3f} {med / base:6.2f}x")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 15)
