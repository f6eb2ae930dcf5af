"""Benchmark the figures: what the PNGs add to a command, and what each figure costs.

1. Whole process, paired: each command (scan of the DCGAN sample, probe with its defaults,
   compare --fit 50 on the bundled photograph) runs as the real CLI with its PNGs and with
   ``--no-png``, alternately, ``--repeats`` times; the ratio of the medians (and the median of
   the per-pair ratios) cancels most of the load that other processes put on the machine.
   ``--tree PATH`` (repeatable) adds another checkout of upscope, run interleaved with this one
   (for example main, as a before/after in one run).
2. Per figure, in this process: each command's result computed once, then its figures drawn and
   saved one after another (``UPSCOPE_FIGURE_WORKERS=1``), the time from one saved file to the
   next (build + draw + PNG encode), median of ``--repeats``.

    python bench/bench_figures.py                       # about 3 minutes on 2 cores
    python bench/bench_figures.py --repeats 3 --serial --tree /tmp/main-checkout
    python bench/bench_figures.py --only probe --env UPSCOPE_GLYPH_CACHE=0   # a setting's share
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

ROOT = Path(__file__).resolve().parent.parent

COMMANDS = {
    "scan DCGAN": ["scan", "upscope.samples.models:DCGANGenerator"],
    "probe": ["probe"],
    "compare --fit 50": ["compare", "--fit", "50"],
}


#: a configuration: its label, the checkout it runs, extra environment
Config = tuple[str, Path, dict[str, str]]


def run(config: Config, args: list[str]) -> float:
    """Wall seconds of ``python -m upscope ARGS`` run in the configuration's checkout (its
    upscope first on the path)."""
    _, tree, env = config
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "upscope", *args],
        cwd=tree,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(tree), **env},
        check=False,
    )
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"upscope {' '.join(args)} in {tree} failed: {proc.stderr[-800:]}")
    return wall


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):6.2f} ({min(values):.2f}-{max(values):.2f})"


def whole_process(trees: list[Config], repeats: int, names: list[str]) -> None:
    print(f"whole process, {repeats} alternating pairs per tree: median (min-max) seconds")
    print(f"{'command':18s} {'tree':34s} {'--no-png':>20s} {'with PNGs':>20s} "
          f"{'ratio':>6s} {'pair ratios':>18s}")  # fmt: skip
    for name in names:
        args = COMMANDS[name]
        times: dict[str, tuple[list[float], list[float]]] = {t[0]: ([], []) for t in trees}
        with tempfile.TemporaryDirectory() as tmp:
            for n in range(repeats):
                for tree in trees:
                    plain, pngs = times[tree[0]]
                    order = [False, True] if n % 2 == 0 else [True, False]
                    for with_png in order:
                        out = Path(tmp) / f"out{n}"
                        extra = ["--out", str(out)] if with_png else ["--no-png"]
                        (pngs if with_png else plain).append(run(tree, [*args, *extra]))
        for label, _, _ in trees:
            plain, pngs = times[label]
            ratios = [b / a for a, b in zip(plain, pngs, strict=True)]
            print(
                f"{name:18s} {label[:34]:34s} {spread(plain):>20s} {spread(pngs):>20s} "
                f"{statistics.median(pngs) / statistics.median(plain):6.2f} "
                f"{min(ratios):5.2f}-{max(ratios):5.2f} (med {statistics.median(ratios):.2f})",
                flush=True,
            )


def results() -> dict[str, object]:
    import upscope

    return {
        "scan DCGAN": upscope.scan("upscope.samples.models:DCGANGenerator"),
        "probe": upscope.probe(),
        "compare --fit 50": upscope.compare(fit=50),
    }


def per_figure(repeats: int, names: list[str]) -> None:
    from matplotlib.figure import Figure

    from upscope import present

    os.environ["UPSCOPE_FIGURE_WORKERS"] = "1"
    marks: list[float] = []
    savefig = Figure.savefig

    def timed(self: Figure, *args: object, **kwargs: object) -> None:
        savefig(self, *args, **kwargs)  # type: ignore[arg-type]
        marks.append(time.perf_counter())

    Figure.savefig = timed  # type: ignore[method-assign]
    print("\nper figure (this tree, one process, one after another): median (min-max) seconds")
    computed = results()
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            per: dict[str, list[float]] = {}
            for n in range(repeats):
                marks.clear()
                start = time.perf_counter()
                paths = present.figures(computed[name], Path(tmp) / f"{n}")
                ends = [start, *marks]
                for path, a, b in zip(paths, ends[:-1], ends[1:], strict=True):
                    per.setdefault(path.name, []).append(b - a)
            for figure, values in per.items():
                print(f"{name:18s} {figure:28s} {spread(values)}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--tree", type=Path, action="append", default=[])
    parser.add_argument("--only", choices=list(COMMANDS), action="append")
    parser.add_argument("--no-per-figure", action="store_true")
    parser.add_argument(
        "--serial", action="store_true", help="also this tree with UPSCOPE_FIGURE_WORKERS=1"
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE[,NAME=VALUE]",
        help="also this tree with these environment variables (e.g. UPSCOPE_GLYPH_CACHE=0)",
    )
    opts = parser.parse_args()
    names = opts.only or list(COMMANDS)
    trees: list[Config] = [("this tree", ROOT, {})]
    if opts.serial:
        trees.append(("this tree, 1 worker", ROOT, {"UPSCOPE_FIGURE_WORKERS": "1"}))
    for spec in opts.env:
        pairs = dict(item.split("=", 1) for item in spec.split(","))
        trees.append((f"this tree, {spec}", ROOT, pairs))
    trees += [(str(t), t.resolve(), {}) for t in opts.tree]
    whole_process(trees, opts.repeats, names)
    if not opts.no_per_figure:
        sys.path.insert(0, str(ROOT))
        per_figure(opts.repeats, names)


if __name__ == "__main__":
    main()
