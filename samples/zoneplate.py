"""The zone plate: the classic aliasing test image, generated here (``zoneplate.png``).

``I(x, y) = 1/2 + 1/2 cos(pi (x^2 + y^2) / N)`` with (x, y) measured from the image centre: the
local frequency ``r / N`` cycles per pixel grows linearly with the radius and reaches the Nyquist
limit 1/2 at the middle of each edge, so every frequency up to Nyquist (and beyond it in the
corners) appears once, in every orientation. Any upsampler that replicates or folds the spectrum
draws false rings. Regenerate the PNG with ``python samples/zoneplate.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SIZE = 512


def zone_plate(size: int = SIZE) -> np.ndarray:
    """(size, size) float64 values in [0, 1].

    >>> z = zone_plate(8)
    >>> z.shape, float(z[4, 4])
    ((8, 8), 1.0)
    """
    t = np.arange(size, dtype=np.float64) - size / 2
    r2 = t[:, None] ** 2 + t[None, :] ** 2
    return 0.5 + 0.5 * np.cos(np.pi * r2 / size)


def zone_plate_uint8(size: int = SIZE) -> np.ndarray:
    """The zone plate as 8-bit grey levels (what ``zoneplate.png`` stores)."""
    return np.round(zone_plate(size) * 255.0).astype(np.uint8)


def main() -> None:
    from PIL import Image

    path = Path(__file__).with_name("zoneplate.png")
    Image.fromarray(zone_plate_uint8()).save(path, format="PNG", optimize=True)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
