"""Does ``upscope scan``'s output grid follow what trained models really show? (issue 16)

Small x2 super-resolution nets (two 3x3 convs of 16 channels, ReLU, then the upsampler), one per
upsampler, are trained with Adam on random crops of the bundled astronaut image (grey, 0..1;
the low-resolution input is the 2x2 average of the high-resolution crop, the loss the MSE):

- ``convT-k3``: ConvTranspose2d K=3 S=2 (uneven overlap), PyTorch's default init;
- ``convT-k4-zoh``: ConvTranspose2d K=4 S=2 with the zero-order-hold init (balanced at init);
- ``shuffle-icnr``: conv + PixelShuffle(2) with ICNR init (balanced at init);
- ``nearest-conv``, ``bilinear-conv``: resize then conv (cannot make a grid).

Each trained model is scanned (``upscope.scan``, range 0..1) and its grid measured again,
independently of scan's code, on its outputs:

- constant: inputs of 0.1, 0.5, 0.9 on a 48x48 map (scan uses the example's 32x32), the RMS
  over the 2x2 phases of the per-phase means of the output minus their mean, 12 pixels of
  border dropped, worst over levels, times 255;
- image: the whole 512x512 image as the high-resolution truth, its 2x2 average as the input;
  the per-phase means of (output - truth), minus their mean, RMS over phases, times 255. The
  truth has no phase structure, so this is the grid the model adds to a natural image.

It prints every model's numbers, the Spearman rank correlation between scan's grid and each
independent one (over all models and over the three learned upsamplers), and the statuses that
were wrong: ``ok`` with an independent grid above the threshold, ``artifact`` with one below it.

    python bench/bench_scan_training.py [--steps 300] [--seeds 0 1]

One thread (the machine is shared); about 5 seconds per model at 300 steps here.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import upscope  # noqa: E402
from upscope.scanning.fix import HELPERS  # noqa: E402
from upscope.scanning.judge import GRID_THRESHOLD  # noqa: E402

KINDS = ("convT-k3", "convT-k4-zoh", "shuffle-icnr", "nearest-conv", "bilinear-conv")
LEARNED = KINDS[:3]


def helper(name: str):
    scope = {"nn": nn, "torch": torch}
    exec(HELPERS[name], scope)  # noqa: S102 - upscope's own helper code
    return scope[name]


def upsampler(kind: str) -> nn.Module:
    if kind == "convT-k3":
        return nn.ConvTranspose2d(16, 1, 3, 2, 1, 1)
    if kind == "convT-k4-zoh":
        layer = nn.ConvTranspose2d(16, 1, 4, 2, 1)
        helper("zoh_init_")(layer)
        return layer
    if kind == "shuffle-icnr":
        conv = nn.Conv2d(16, 4, 3, padding=1)
        helper("icnr_")(conv, 2)
        return nn.Sequential(conv, nn.PixelShuffle(2))
    mode = "nearest" if kind == "nearest-conv" else "bilinear"
    align = None if mode == "nearest" else False
    return nn.Sequential(
        nn.Upsample(scale_factor=2, mode=mode, align_corners=align), nn.Conv2d(16, 1, 3, padding=1)
    )


def network(kind: str, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 16, 3, padding=1),
        nn.ReLU(),
        upsampler(kind),
    )


def image() -> torch.Tensor:
    grey = Image.open(ROOT / "samples" / "astronaut.png").convert("L")
    return torch.from_numpy(np.asarray(grey, dtype=np.float32) / 255.0)[None, None]


def train(model: nn.Module, hr: torch.Tensor, steps: int, seed: int) -> float:
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    size, batch = 32, 16
    loss = torch.tensor(0.0)
    for _ in range(steps):
        ys = torch.randint(0, hr.shape[2] - size, (batch,), generator=gen)
        xs = torch.randint(0, hr.shape[3] - size, (batch,), generator=gen)
        crops = torch.cat(
            [hr[:, :, y : y + size, x : x + size] for y, x in zip(ys, xs, strict=True)]
        )
        loss = F.mse_loss(model(F.avg_pool2d(crops, 2)), crops)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return float(loss.detach())


def phase_rms(y: np.ndarray, border: int) -> float:
    """RMS over the 2x2 phases of the per-phase means of y (H, W) minus their mean."""
    crop = y[border : y.shape[0] - border, border : y.shape[1] - border]
    first = border % 2  # keep the phases of the whole output
    means = np.array(
        [crop[(a - first) % 2 :: 2, (b - first) % 2 :: 2].mean() for a in (0, 1) for b in (0, 1)]
    )
    return float(np.sqrt(((means - means.mean()) ** 2).mean()))


def independent(model: nn.Module, hr: torch.Tensor) -> tuple[float, float]:
    model.eval()
    with torch.no_grad():
        constant = max(
            phase_rms(model(torch.full((1, 1, 48, 48), level))[0, 0].numpy(), 12)
            for level in (0.1, 0.5, 0.9)
        )
        out = model(F.avg_pool2d(hr, 2))[0, 0].numpy()
    natural = phase_rms(out - hr[0, 0].numpy(), 16)
    return 255 * constant, 255 * natural


def ranks(values: list[float]) -> np.ndarray:
    """Ranks with ties averaged (values equal to 1e-9 relative count as tied)."""
    arr = np.asarray(values, dtype=np.float64)
    order = np.argsort(arr, kind="stable")
    result = np.empty(len(arr))
    i = 0
    while i < len(arr):
        j = i
        while j + 1 < len(arr) and math.isclose(arr[order[j + 1]], arr[order[i]], abs_tol=1e-6):
            j += 1
        result[order[i : j + 1]] = (i + j) / 2
        i = j + 1
    return result


def spearman(a: list[float], b: list[float]) -> float:
    ra, rb = ranks(a), ranks(b)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denom = math.sqrt(float((ra**2).sum() * (rb**2).sum()))
    return float((ra * rb).sum() / denom) if denom else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    args = parser.parse_args()
    torch.set_num_threads(1)
    hr = image()
    rows = []
    print(f"{args.steps} Adam steps, seeds {args.seeds}, threshold {GRID_THRESHOLD} grey levels")
    header = f"{'model':<15}{'seed':>5}{'loss':>9}{'scan grid':>11}{'status':>10}"
    print(header + f"{'constant':>10}{'image':>8}{'s':>6}")
    for kind in KINDS:
        for seed in args.seeds:
            start = time.perf_counter()
            model = network(kind, seed)
            loss = train(model, hr, args.steps, seed)
            result = upscope.scan(model, input_shape=(1, 1, 32, 32), value_range=(0, 1))
            assert result.grid is not None
            (op,) = [f for f in result.findings if f.op.kind != "interpolate"] or [
                result.findings[0]
            ]
            scan_grid = result.grid.grey_levels
            constant, natural = independent(model, hr)
            took = time.perf_counter() - start
            rows.append((kind, seed, scan_grid, op.status, constant, natural))
            print(
                f"{kind:<15}{seed:>5}{loss:>9.5f}{scan_grid:>11.3f}{op.status:>10}"
                f"{constant:>10.3f}{natural:>8.3f}{took:>6.0f}"
            )
    for label, chosen in (("all models", KINDS), ("learned upsamplers", LEARNED)):
        picked = [r for r in rows if r[0] in chosen]
        scan = [r[2] for r in picked]
        print(
            f"Spearman, {label} ({len(picked)}): scan vs constant "
            f"{spearman(scan, [r[4] for r in picked]):.2f}, scan vs image "
            f"{spearman(scan, [r[5] for r in picked]):.2f}, constant vs image "
            f"{spearman([r[4] for r in picked], [r[5] for r in picked]):.2f}"
        )
    wrong = [
        f"{r[0]} seed {r[1]}: {r[3]} with an independent grid of {r[4]:.3f} grey levels"
        for r in rows
        if (r[3] == "ok" and r[4] > GRID_THRESHOLD)
        or (r[3] == "artifact" and r[4] <= GRID_THRESHOLD)
    ]
    print("wrong statuses: " + ("; ".join(wrong) if wrong else "none"))


if __name__ == "__main__":
    main()
