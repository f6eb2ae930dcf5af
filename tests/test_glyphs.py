"""Figure text from cached glyphs (upscope.render.glyphs) gives matplotlib's own pixels: every
figure of every command, drawn with the cache and without it (``UPSCOPE_GLYPH_CACHE=0``), is the
same PNG byte for byte; and the self-check that guards the cache turns it off when it draws
differently."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from upscope import present
from upscope.render import glyphs
from upscope.render.plots import new_figure


@pytest.fixture(scope="module")
def results() -> dict[str, object]:
    from tests.test_results_torch_free import _results

    return {kind: r for kind, r in _results().items() if kind != "size"}  # size: no figures


def test_the_cache_is_on_here() -> None:
    """This matplotlib has the internals the cache uses and passes its self-check (otherwise the
    comparisons below would compare matplotlib with itself)."""
    assert glyphs.enabled()
    assert type(new_figure(1.0, 1.0).canvas) is not FigureCanvasAgg


def test_every_figure_is_the_same_png_with_the_glyph_cache(
    results: dict[str, object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UPSCOPE_FIGURE_WORKERS", "1")
    drawn: dict[str, list[Path]] = {}
    for setting in ("0", "1"):
        monkeypatch.setenv("UPSCOPE_GLYPH_CACHE", setting)
        for kind, result in results.items():
            drawn.setdefault(kind, []).extend(present.figures(result, tmp_path / setting / kind))
    total = 0
    for kind, paths in drawn.items():
        half = len(paths) // 2
        assert half >= 1, kind
        for plain, cached in zip(paths[:half], paths[half:], strict=True):
            assert plain.name == cached.name
            assert plain.read_bytes() == cached.read_bytes(), f"{kind}: {plain.name}"
            total += 1
    assert total >= 12


def test_the_self_check_turns_a_cache_that_draws_otherwise_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    renderer = glyphs._classes()[0]
    draw_text = renderer.draw_text

    def shifted(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):  # type: ignore[no-untyped-def]
        draw_text(self, gc, x + 1 / 64, y, s, prop, angle, ismath, mtext)  # a 64th of a pixel

    assert glyphs._same_pixels()
    monkeypatch.setattr(renderer, "draw_text", shifted)
    assert not glyphs._same_pixels()
    glyphs._checked.cache_clear()
    try:
        assert not glyphs.enabled()
        assert type(new_figure(1.0, 1.0).canvas) is FigureCanvasAgg
    finally:
        monkeypatch.undo()
        glyphs._checked.cache_clear()
    assert glyphs.enabled()


def test_upscope_glyph_cache_0_draws_with_matplotlibs_canvas(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("UPSCOPE_GLYPH_CACHE", "0")
    assert not glyphs.enabled()
    assert type(new_figure(1.0, 1.0).canvas) is FigureCanvasAgg


def test_a_glyph_at_the_same_fraction_of_a_pixel_is_drawn_from_the_cache() -> None:
    """Repeated labels hit the cache: the same strings on a grid of whole-pixel steps render
    each glyph once per fraction, and the pixels are those of the plain canvas."""
    images = []
    for cached in (False, True):
        fig = new_figure(3.0, 3.0, layout=None)
        if not cached:
            FigureCanvasAgg(fig)
        for row in range(8):
            for col in range(8):
                fig.text(0.05 + col * 0.12, 0.05 + row * 0.12, "16", fontsize=8)
        fig.canvas.draw()
        images.append(np.asarray(fig.canvas.buffer_rgba()).copy())
    assert np.array_equal(images[0], images[1])
    assert (images[0][..., :3] < 128).any()  # the labels are there
