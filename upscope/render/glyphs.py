"""Figure text from cached glyphs: the same pixels as matplotlib's Agg, at about half the cost.

matplotlib 3.11 draws text one glyph at a time: for each glyph of each string it lays the string
out again (``FT2Font._layout``, about 0.4 ms a string), loads and renders the glyph with FreeType
(about 50 microseconds) and blends the bitmap into the canvas. Text was half of the time of
upscope's figures (probe-spectra: 205 strings, 2000 glyphs; a scan figure's 256 cell counts).
Most of it repeats: the same tick labels on every panel, the same digits in every cell.

:class:`canvas` returns a canvas whose renderer does the same with two caches: the layout of a
string (per font, size and features) and the bitmap of a glyph (per font, size, rotation, hinting
and its position's fraction of a pixel, in FreeType's 1/64 units: a glyph at the same fraction
renders to the same bitmap, shifted by whole pixels). Each bitmap is blended exactly as matplotlib
blends it, so the PNG is the same byte for byte (tests/test_glyphs.py draws every figure both
ways). Measured on probe's two figures: 0.89 s of CPU without, 0.50 s with; a DCGAN scan's four:
1.23 s and 0.91 s.

It sits on matplotlib's internals (``_layout``, ``_set_transform``, ``_render_glyph``, the Agg
renderer's ``draw_text_image``), so it is used only where they are there and a self-check passes:
the first time, strings at several sizes, angles and fractions of a pixel are drawn both ways, and
any difference in a pixel turns it off for the process (then every figure is drawn by matplotlib's
own path: slower, never different). ``UPSCOPE_GLYPH_CACHE=0`` turns it off too. Mathtext, and
everything but :meth:`draw_text`, goes through matplotlib unchanged.
"""

from __future__ import annotations

import functools
import math
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

__all__ = ["canvas", "enabled"]

#: cached glyph bitmaps kept per process at most (a figure uses a few thousand; each is small)
MAX_GLYPHS = 50_000
#: cached string layouts kept per process at most
MAX_LAYOUTS = 20_000


def canvas(fig: Figure) -> FigureCanvasAgg:
    """Attach an Agg canvas to ``fig``: one that draws text from cached glyphs where
    :func:`enabled`, matplotlib's own otherwise."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if enabled():
        return _classes()[1](fig)
    return FigureCanvasAgg(fig)


def enabled() -> bool:
    """True where the cached path draws text: not turned off (``UPSCOPE_GLYPH_CACHE=0``), the
    matplotlib internals it uses are there, and the self-check gave the same pixels."""
    if os.environ.get("UPSCOPE_GLYPH_CACHE", "").strip() == "0":
        return False
    return _checked()


@functools.cache
def _checked() -> bool:
    """The self-check, once per process."""
    try:
        return _same_pixels()
    except Exception:  # noqa: BLE001 - an internal that is not there or works otherwise: off
        return False


#: what the self-check draws: (text, font size, angle, colour, alpha, antialiased)
_SAMPLES = (
    ("fx (cycles/px) -0.5 0.0 ±", 7.0, 0.0, "black", None, True),
    ("convT-uneven (k=3 s=2)\ncheckerbd 1.76±0.31", 9.0, 0.0, "0.25", None, True),
    ("constant input\nmean energy", 9.0, 90.0, "black", None, True),
    ("16 12 9 4 3 1", 8.0, 0.0, "white", None, True),
    ("Wg / RMS 0.07 grey levels", 10.0, 0.0, "tab:red", 0.6, False),
    ("tilted 45° \\u2192 ĳ", 8.0, 45.0, "black", 0.85, True),
)


def _same_pixels() -> bool:
    """Draw :data:`_SAMPLES` at several fractions of a pixel with matplotlib's canvas and with
    the cached one (twice: from empty caches, then from full ones); True if every pixel agrees."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    def draw(cached: bool) -> list[np.ndarray]:
        shots = []
        for _ in range(2 if cached else 1):  # the second from full caches
            fig = Figure(figsize=(3.1, 2.3), dpi=100)
            agg = (_classes()[1] if cached else FigureCanvasAgg)(fig)
            for k, (text, size, angle, colour, alpha, aa) in enumerate(_SAMPLES):
                for j, shift in enumerate((0.0, 0.0037, 0.0113, 0.0271)):
                    fig.text(
                        0.03 + 0.23 * j + shift,
                        0.05 + 0.15 * k + shift / 2,
                        text,
                        fontsize=size,
                        rotation=angle,
                        color=colour,
                        alpha=alpha,
                        antialiased=aa,
                    )
            agg.draw()
            shots.append(np.asarray(agg.buffer_rgba()).copy())
        return shots

    plain = draw(False)[0]
    return all(np.array_equal(plain, shot) for shot in draw(True))


@functools.cache
def _classes() -> tuple[type, type]:
    """The renderer and the canvas classes (made on first use: matplotlib is imported then)."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg, get_hinting_flag
    from matplotlib.ft2font import RenderMode

    layouts: dict[tuple[Any, ...], list[tuple[Any, int, float, float]]] = {}
    glyphs: dict[tuple[Any, ...], tuple[np.ndarray, int, int]] = {}

    class CachedTextRenderer(RendererAgg):  # type: ignore[misc]
        """RendererAgg whose :meth:`draw_text` reuses layouts and glyph bitmaps."""

        def draw_text(
            self,
            gc: Any,
            x: float,
            y: float,
            s: str,
            prop: Any,
            angle: float,
            ismath: Any = False,
            mtext: Any = None,
        ) -> None:
            if ismath:  # mathtext: matplotlib's own path
                super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)
                return
            # as RendererAgg.draw_text and _draw_text_glyphs_and_boxes (matplotlib 3.11)
            font = self._prepare_font(prop)
            flags = get_hinting_flag()
            features = mtext.get_fontfeatures() if mtext is not None else None
            language = mtext.get_language() if mtext is not None else None
            size = prop.get_size_in_points()
            key = (s, font, size, self.dpi, flags, features, language)
            items = layouts.get(key)
            if items is None:
                if len(layouts) >= MAX_LAYOUTS:
                    layouts.clear()
                laid = font._layout(s, flags=flags, features=features, language=language)
                items = [(item.ft_object, item.glyph_index, item.x, item.y) for item in laid]
                layouts[key] = items
            cos = math.cos(math.radians(angle))
            sin = math.sin(math.radians(angle))
            antialiased = gc.get_antialiased()
            height = self.height
            for ft_object, index, dx, dy in items:
                px = round(0x40 * (x + dx * cos - dy * sin))
                py = round(0x40 * (height - y + dx * sin + dy * cos))  # FreeType's y is upwards
                glyph_key = (ft_object, size, self.dpi, index, angle, px & 63, py & 63,
                             antialiased, flags)  # fmt: skip
                glyph = glyphs.get(glyph_key)
                if glyph is None:
                    if len(glyphs) >= MAX_GLYPHS:
                        glyphs.clear()
                    ft_object.set_size(size, self.dpi)
                    rotation = (0x10000 * np.array([[cos, -sin], [sin, cos]])).round().astype(int)
                    ft_object._set_transform(rotation, [px, py])
                    bitmap = ft_object._render_glyph(
                        index, flags, RenderMode.NORMAL if antialiased else RenderMode.MONO
                    )
                    buffer = bitmap.buffer
                    if not antialiased:
                        buffer = buffer * 0xFF
                    # the bitmap at this fraction of a pixel, and its corner relative to the
                    # whole pixel of the glyph's origin: the same wherever that pixel is
                    glyph = (np.ascontiguousarray(buffer), bitmap.left - (px >> 6),
                             bitmap.top - (py >> 6))  # fmt: skip
                    glyphs[glyph_key] = glyph
                buffer, left, top = glyph
                # draw_text_image's y is downwards and the bitmap's bottom side
                self._renderer.draw_text_image(
                    buffer,
                    (px >> 6) + left,
                    int(height) - ((py >> 6) + top) + buffer.shape[0],
                    0,
                    gc,
                )

    class CachedTextCanvas(FigureCanvasAgg):  # type: ignore[misc]
        """FigureCanvasAgg that draws with :class:`CachedTextRenderer`."""

        def get_renderer(self) -> Any:
            w, h = self.get_width_height(physical=True)
            key = w, h, self.figure.dpi
            if self._lastKey != key:
                self.renderer = CachedTextRenderer(w, h, self.figure.dpi)
                self._lastKey = key  # type: ignore[assignment]
            return self.renderer

    return CachedTextRenderer, CachedTextCanvas
