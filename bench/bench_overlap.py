"""Overlap-count map: upscope.overlap_map (numpy, exact ints) vs torch's conv_transpose2d.

Both compute the same map: a stack of ConvTranspose2d(k=4, s=2, p=1) applied to an all-ones
image with all-ones kernels, at output sizes 1024 and 4096 and 1 and 3 layers. Ours is the full
``convt_overlap`` call (map, interior, figures, verdict); torch's is the float32 convolutions
alone. Both are timed in the same run; the script prints the median of a few repeats and the
ratio torch / ours (above 1: ours is faster), and checks that the maps are equal.

    python bench/bench_overlap.py
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from upscope.overlap_map import convt_overlap  # noqa: E402

K, S, P = 4, 2, 1


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def torch_map(size: int, layers: int) -> torch.Tensor:
    x = torch.ones((1, 1, size, size))
    w = torch.ones((1, 1, K, K))
    with torch.no_grad():
        for _ in range(layers):
            x = F.conv_transpose2d(x, w, stride=S, padding=P)
    return x


def main() -> None:
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; numpy {np.__version__}")
    print(f"ConvTranspose2d k={K} s={S} p={P}, ones input, ones kernel")
    print(f"{'output':>10} {'layers':>6} {'ours ms':>9} {'torch ms':>9} {'torch/ours':>10}")
    for output in (1024, 4096):
        for layers in (1, 3):
            size = output // S**layers
            ours = convt_overlap((K,), (S,), (P,), (0,), (1,), (size, size), layers)
            theirs = torch_map(size, layers)[0, 0].numpy()
            assert ours.map.shape == theirs.shape == (output, output)
            assert np.array_equal(ours.map, theirs.astype(np.int64)), "maps differ"
            repeats = 7 if output <= 1024 else 3
            t_ours = median_seconds(
                lambda s=size, n=layers: convt_overlap((K,), (S,), (P,), (0,), (1,), (s, s), n),
                repeats,
            )
            t_torch = median_seconds(lambda s=size, n=layers: torch_map(s, n), repeats)
            print(
                f"{output:>5}x{output:<4} {layers:>6} {t_ours * 1e3:>9.1f} {t_torch * 1e3:>9.1f} "
                f"{t_torch / t_ours:>9.1f}x"
            )


if __name__ == "__main__":
    main()
