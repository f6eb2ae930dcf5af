"""``upscope overlap`` through the CLI: JSON, terminal view, PNG, errors."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from upscope.overlap_map import convt_overlap


@pytest.fixture(autouse=True, scope="module")
def _no_grad():
    """torch is only an oracle here: no autograd, and the global mode is restored afterwards."""
    with torch.no_grad():
        yield


def _torch_convt(
    size: tuple[int, ...], k: tuple[int, ...], s: tuple[int, ...], p=0, op=0, d=1, layers=1
) -> np.ndarray:
    x = torch.ones((1, 1, *size), dtype=torch.float64)
    w = torch.ones((1, 1, *k), dtype=torch.float64)
    fn = F.conv_transpose2d if len(size) == 2 else F.conv_transpose1d
    for _ in range(layers):
        x = fn(x, w, stride=s, padding=p, output_padding=op, dilation=d)
    return x[0, 0].numpy().astype(np.int64)


def _json(run_cli, *args: str) -> dict:
    result = run_cli("overlap", *args, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_json_document_k4_s2(run_cli) -> None:
    doc = _json(run_cli, "--k", "4", "--s", "2", "--p", "1", "--no-png")
    assert {"map", "min", "max", "interior", "period", "verdict", "png"} <= doc.keys()
    expected = _torch_convt((8, 8), (4, 4), (2, 2), p=1)
    assert np.array_equal(np.array(doc["map"]), expected)
    assert (doc["min"], doc["max"]) == (expected.min(), expected.max())
    assert doc["verdict"] == "even" and doc["period"] == [1, 1]
    assert doc["interior"]["min"] == doc["interior"]["max"] == 4
    assert doc["interior"]["ratio"] == 1.0
    assert doc["png"] is None


def test_json_k3_s2_is_a_checkerboard(run_cli) -> None:
    doc = _json(run_cli, "--k", "3", "--s", "2", "--no-png")
    inner = doc["interior"]
    block = np.array(doc["map"])[inner["start"][0] : inner["stop"][0], inner["start"][1] :]
    assert sorted(np.unique(block).tolist()) == [1, 2, 4] == sorted({inner["min"], 2, 4})
    assert doc["verdict"] == "checkerboard" and doc["period"] == [2, 2]
    assert inner["ratio"] == 4.0


def test_holes_have_a_null_ratio(run_cli) -> None:
    doc = _json(run_cli, "--k", "3", "--s", "2", "--d", "2", "--no-png")
    assert doc["verdict"] == "holes"
    assert doc["interior"]["min"] == 0 and doc["interior"]["ratio"] is None


def test_dims_1_gives_a_flat_map(run_cli) -> None:
    doc = _json(run_cli, "--k", "3", "--s", "2", "--p", "1", "--op", "1", "--dims", "1", "--no-png")
    expected = _torch_convt((8,), (3,), (2,), p=1, op=1)
    assert doc["map"] == expected.tolist()
    assert isinstance(doc["interior"]["start"], int) and len(doc["period"]) == 1


def test_per_axis_values_and_layers(run_cli) -> None:
    doc = _json(
        run_cli,
        *("--k", "4x3", "--s", "2x3", "--p", "1x0", "--input", "6x5", "--layers", "2"),
        "--no-png",
    )
    expected = _torch_convt((6, 5), (4, 3), (2, 3), p=(1, 0), layers=2)
    assert np.array_equal(np.array(doc["map"]), expected)
    assert doc["output"] == list(expected.shape)


def test_mixed_stack(run_cli) -> None:
    doc = _json(
        run_cli,
        *("--layer", "upsample scale=2", "--layer", "conv k=3 p=1"),
        *("--layer", "convT k=3 s=2 p=1 op=1", "--input", "5", "--no-png"),
    )
    x = torch.ones((1, 1, 5, 5), dtype=torch.float64)
    x = torch.nn.Upsample(scale_factor=2.0, mode="nearest")(x)
    x = F.conv2d(x, torch.ones((1, 1, 3, 3), dtype=torch.float64), padding=1)
    x = F.conv_transpose2d(
        x, torch.ones((1, 1, 3, 3), dtype=torch.float64), stride=2, padding=1, output_padding=1
    )
    assert np.array_equal(np.array(doc["map"]), x[0, 0].numpy().astype(np.int64))
    assert doc["verdict"] == "checkerboard" and len(doc["layers"]) == 3


def test_terminal_grid_table_and_verdict(run_cli) -> None:
    result = run_cli("overlap", "--k", "3", "--s", "2", "--no-png")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "1 1 2 1 2 1 2" in out  # the first row of the grid
    assert "checkerboard" in out and "1, 2 or 4" in out
    assert "interior" in out and "period" in out and "2x2" in out
    assert "downsampled" not in out and result.stderr == ""


def test_terminal_downsamples_a_large_map(run_cli) -> None:
    result = run_cli("overlap", "--k", "4", "--s", "2", "--p", "1", "--input", "300", "--no-png")
    assert result.exit_code == 0, result.stderr
    assert "downsampled" in result.stdout and "600x600" in result.stdout
    assert "full resolution" in result.stdout and "even" in result.stdout


def test_png_is_written_atomically_and_reported(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "figs"
    result = run_cli("overlap", "--k", "3", "--s", "2", "--out", str(out), "--json")
    assert result.exit_code == 0, result.stderr
    png = Path(json.loads(result.stdout)["png"])
    assert png.parent == out and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in out.iterdir()) == [png.name]  # no temporary file left
    shown = run_cli("overlap", "--k", "3", "--s", "2", "--dims", "1", "--out", str(out))
    assert shown.exit_code == 0 and "wrote " in shown.stdout
    assert len(list(out.glob("*.png"))) == 2


def test_no_png_writes_nothing(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "none"
    assert run_cli("overlap", "--k", "3", "--s", "2", "--out", str(out), "--no-png").exit_code == 0
    assert not out.exists()


def test_unwritable_out_is_a_clear_error(run_cli, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = run_cli("overlap", "--k", "3", "--s", "2", "--out", str(blocker / "figs"))
    assert result.exit_code == 2
    assert result.stderr.startswith("upscope: error: ") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--k", "0", "--s", "2"), "kernel size"),
        (("--k", "3", "--s", "two"), "--s"),
        (("--k", "3", "--s", "2", "--op", "2"), "output padding"),
        (("--k", "3", "--s", "2", "--dims", "3"), "--dims"),
        (("--k", "3", "--input", "8x8", "--dims", "1"), "--input"),
        (("--k", "4x3", "--dims", "1"), "--k"),
        (("--k", "3", "--layers", "0"), "--layers"),
        (("--s", "2"), "--k is required"),
        (("--k", "3", "--layer", "convT k=3 s=2"), "--k describes one layer"),
        (("--s", "3", "--layer", "convT k=3 s=2"), "--s describes one layer"),
        (("--layer", "pixelunshuffle r=2"), "pixelunshuffle"),
        (("--layer", "upsample scale=2 mode=bilinear"), "bilinear"),
        (("--layer", "convT k=3x3x3 s=2"), "axes"),
        (("--k", "4", "--s", "2", "--input", "9000"), "pixels"),
        (("--k", "3", "--s", "2", "--p", "9", "--input", "2"), "output size"),
    ],
)
def test_bad_input_is_one_line_exit_2(run_cli, args: tuple[str, ...], needle: str) -> None:
    result = run_cli("overlap", *args, "--no-png")
    assert result.exit_code == 2, result.stdout
    assert result.stderr.startswith("upscope: error: ") and result.stderr.count("\n") == 1
    assert needle in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""


# ---------------------------------------------------------------- terminal view without colour


def _render(result, **console_args) -> str:
    from rich.console import Console

    from upscope.render.overlap_view import show

    console = Console(record=True, width=100, file=io.StringIO(), **console_args)
    show(result, None, console)
    return console.export_text()


def _block_rows(text: str) -> list[list[int]]:
    """The digit rows of the downsampled view (between its caption and the level legend)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("downsampled"))
    stop = next(i for i, line in enumerate(lines) if line.startswith("digit = "))
    body = [line for line in lines[start + 1 : stop] if re.fullmatch(r"(\d )+", line)]
    return [[int(c) for c in line.split()] for line in body]


@pytest.mark.parametrize(
    "console_args",
    [{"color_system": None}, {"no_color": True, "force_terminal": True}],
    ids=["piped", "NO_COLOR"],
)
def test_downsampled_map_is_digits_without_colour(console_args) -> None:
    result = convt_overlap((3,), (2,), (1,), (1,), (1,), (100, 100))
    text = _render(result, **console_args)
    rows = _block_rows(text)
    assert len(rows) >= 8 and all(len(row) == len(rows[0]) for row in rows)
    assert "0 = 1 (map min), 9 = 4 (map max)" in text
    # the interior (rows and cols 0-198 of 200) holds whole periods in every block but the last
    # row and column, which hold the border: one value inside, and no stripes
    inner = np.array(rows)[:-1, :-1]
    assert np.unique(inner).size == 1, text
    assert "dimmed" not in text or console_args.get("no_color")


def test_plain_block_means_would_have_invented_stripes() -> None:
    """The reason for whole-period blocks: 13x13 means of this period-2 map are striped."""
    from upscope.render.overlap_view import _downsample, _window_means, _windows

    result = convt_overlap((3,), (2,), (1,), (1,), (1,), (100, 100))
    naive = _window_means(result.map, _windows(198, 13, 0), _windows(198, 13, 0))
    assert np.unique(naive.round(9)).size > 1
    means, f, whole = _downsample(result, result.map, result.interior, 16, 49)
    assert whole and f % 2 == 0 and f >= 13


@settings(max_examples=40)
@given(
    k=st.integers(1, 7),
    s=st.integers(1, 4),
    p=st.integers(0, 2),
    n=st.integers(40, 90),
    rows=st.integers(4, 16),
    cols=st.integers(4, 30),
)
def test_blocks_inside_the_interior_are_all_alike(k, s, p, n, rows, cols) -> None:
    from upscope.render.overlap_view import _downsample, _windows

    if p >= k:
        p = 0
    result = convt_overlap((k,), (s,), (p,), (0,), (1,), (n, n + 7))
    means, f, whole = _downsample(result, result.map, result.interior, rows, cols)
    assert means.shape[0] <= rows and means.shape[1] <= cols
    assert whole  # these periods are short enough
    (r0, r1), (c0, c1) = result.interior
    wr, wc = _windows(result.map.shape[0], f, r0), _windows(result.map.shape[1], f, c0)
    inside = [
        means[i, j]
        for i, (a, b) in enumerate(wr)
        for j, (c, d) in enumerate(wc)
        if r0 <= a and b <= r1 and c0 <= c and d <= c1
    ]
    assert inside and np.ptp(inside) < 1e-9 * max(inside)
    # and that value is the mean over one period of the interior
    pr, pc = result.period
    period_mean = result.map[r0 : r0 + pr, c0 : c0 + pc].mean()
    assert inside[0] == pytest.approx(period_mean)


def test_small_grid_without_colour_names_the_interior() -> None:
    text = _render(convt_overlap((4,), (2,), (1,), (0,), (1,), (5, 5)), color_system=None)
    assert "interior (rows 1-8, cols 1-8); the rest is border" in text
    assert "dimmed" not in text


# ---------------------------------------------------------------- PNG title and labels


@pytest.mark.parametrize(
    ("args", "note"),
    [
        (((3,), (2,), (0,), (0,), (1,), (100, 100)), "red dashed: interior"),
        (((3,), (2,), (1,), (1,), (1,), (100, 100)), "the whole window is interior"),
        (((4,), (2,), (1,), (0,), (1,), (5, 5)), "red dashed: interior"),
        (((3,), (2,), (1,), (1,), (1,), (100,)), "the whole window is interior"),
    ],
)
def test_png_title_mentions_an_outline_only_when_one_is_drawn(args, note: str) -> None:
    from matplotlib.patches import Rectangle

    from upscope.render.overlap_view import figure

    result = convt_overlap(*args)
    fig = figure(result)
    heat = fig.axes[0]
    assert heat.get_title().endswith(note)
    outlines = [p for p in heat.patches if isinstance(p, Rectangle)]
    assert len(outlines) == (1 if note.startswith("red dashed") else 0)
    if outlines:  # and it can be seen: one of its edges lies inside the shown extent
        x0, x1 = sorted(heat.get_xlim())
        y0, y1 = sorted(heat.get_ylim())
        rx, ry = outlines[0].get_x(), outlines[0].get_y()
        rx1, ry1 = rx + outlines[0].get_width(), ry + outlines[0].get_height()
        assert any(x0 < v < x1 for v in (rx, rx1)) or any(y0 < v < y1 for v in (ry, ry1))


def test_png_profile_label_does_not_touch_the_colorbar_label() -> None:
    from upscope.render.overlap_view import figure

    fig = figure(convt_overlap((3,), (2,), (0,), (0,), (1,), (100, 100)))
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    heat, colorbar, profile = fig.axes
    assert colorbar.get_ylabel() == "contributions per output pixel"
    assert profile.get_ylabel() == "contributions"
    a = colorbar.yaxis.label.get_window_extent(renderer)
    b = profile.yaxis.label.get_window_extent(renderer)
    gap = max(b.x0 - a.x1, a.x0 - b.x1)
    assert gap > 20  # pixels at 100 dpi


def _profile_lines(fig) -> list:
    """The profile plot's lines (heatmap, colorbar, profile: the axes in that order)."""
    profile = fig.axes[2]
    return [line for line in profile.get_lines() if line.get_gid() == "profile"]


def _label_rows(label: str) -> list[int]:
    """``"row 8"`` -> [8], ``"rows 18, 20"`` -> [18, 20]."""
    word, _, rows = label.partition(" ")
    assert word in ("row", "rows"), label
    return [int(r) for r in rows.split(", ")]


@pytest.mark.parametrize(
    ("k", "s", "n", "layers", "period"),
    [(3, 2, 8, 1, 2), (3, 2, 8, 2, 4), (3, 2, 100, 1, 2), (4, 2, 8, 1, 1), (1, 5, 8, 1, 5)],
)
def test_png_profiles_are_one_period_of_middle_rows(k, s, n, layers, period) -> None:
    """The lines drawn are torch's map at rows mid..mid+period-1 (equal rows share a line),
    so every interior value appears: k=3, s=2's middle row alone lacks 1 or 4."""
    from upscope.render.overlap_view import figure

    result = convt_overlap((k,), (s,), (0,), (0,), (1,), (n, n), layers)
    oracle = _torch_convt((n, n), (k, k), (s, s), layers=layers)
    assert result.period == (period, period)
    fig = figure(result)
    lines = _profile_lines(fig)
    assert 1 <= len(lines) <= 4
    mid = oracle.shape[0] // 2
    drawn: list[int] = []
    values: set[int] = set()
    for line in lines:
        rows = _label_rows(line.get_label())
        cols = np.asarray(line.get_xdata()).astype(int)
        assert cols.size == min(oracle.shape[1], 64)
        for r in rows:  # one line stands for rows whose values are all equal
            assert np.array_equal(np.asarray(line.get_ydata()), oracle[r, cols])
        drawn += rows
        values |= set(oracle[rows[0], cols].tolist())
    assert sorted(drawn) == list(range(mid, mid + period))
    (r0, r1), (c0, c1) = result.interior
    assert set(oracle[r0:r1, c0:c1].ravel().tolist()) <= values
    styles = {(line.get_color(), line.get_linestyle(), line.get_marker()) for line in lines}
    assert len(styles) == len(lines)  # each line its own colour, dash and marker
    legend = fig.axes[2].get_legend()
    assert {t.get_text() for t in legend.get_texts()} >= {line.get_label() for line in lines}
    if k == 3 and s == 2 and layers == 1:
        assert len(set(oracle[mid, c0:c1].tolist())) == 2  # the old single row: 2 of 3 values
        assert f"rows {mid}-{mid + 1}" in fig.axes[2].get_title()


def test_png_profiles_past_four_rows_keep_the_most_values() -> None:
    """k=3, s=2, 3 layers: a period of 8 rows has 5 distinct rows; the 4 drawn cover no fewer
    values than any other 4 would, and the title says how many were left out."""
    import itertools

    from upscope.render.overlap_view import figure

    result = convt_overlap((3,), (2,), (0,), (0,), (1,), (8, 8), 3)
    oracle = _torch_convt((8, 8), (3, 3), (2, 2), layers=3)
    fig = figure(result)
    lines = _profile_lines(fig)
    cols = np.asarray(lines[0].get_xdata()).astype(int)
    mid = oracle.shape[0] // 2
    distinct = {oracle[r, cols].tobytes(): oracle[r, cols] for r in range(mid, mid + 8)}
    assert len(distinct) == 5 and len(lines) == 4
    drawn = [np.asarray(line.get_ydata()) for line in lines]
    assert all(any(np.array_equal(d, v) for v in distinct.values()) for d in drawn)

    def cover(rows) -> int:
        return len(set(np.concatenate(rows).tolist()))

    best = max(cover(c) for c in itertools.combinations(distinct.values(), 4))
    assert cover(drawn) == best
    assert "4 of their 5 distinct rows" in fig.axes[2].get_title()


def test_png_profile_of_a_1d_map_is_the_map() -> None:
    from upscope.render.overlap_view import figure

    for n in (8, 100):
        result = convt_overlap((3,), (2,), (0,), (0,), (1,), (n,))
        oracle = _torch_convt((n,), (3,), (2,))
        (line,) = _profile_lines(figure(result))
        cols = np.asarray(line.get_xdata()).astype(int)
        assert cols.size == min(oracle.size, 64)
        assert np.array_equal(np.asarray(line.get_ydata()), oracle[cols])
