"""The probe: expected findings, determinism, gradients, and the CLI (errors, JSON, PNGs)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from upscope import arith, metrics, upsamplers
from upscope.probing import ProbeConfig, grad_pairs, run_probe

SMALL = {"size": 12, "seeds": 2, "channels": 2}


def _coverage_imbalance(k: int, s: int) -> float:
    cov = np.array(arith.phase_coverage(k, s), dtype=float)
    energies = np.outer(cov, cov) ** 2
    return float((energies.max() - energies.min()) / energies.mean())


@pytest.fixture(scope="module")
def reports() -> dict[int, object]:
    return {s: run_probe(ProbeConfig(scale=s, grad=True, **SMALL)) for s in (2, 3)}


@pytest.mark.parametrize("scale", [2, 3])
def test_expected_findings_on_a_constant_input(reports: dict, scale: int) -> None:
    report = reports[scale]
    constant = {m.method: m for m in report.results if m.input == "constant"}
    assert set(constant) == set(ProbeConfig().methods)
    # convT-uneven: structure from the overlap alone (all weights equal)
    k, s = 2 * scale - 1, scale
    assert constant["convT-uneven"].uniform_checkerboard == pytest.approx(_coverage_imbalance(k, s))
    assert constant["convT-uneven"].verdict == "checkerboard"
    assert constant["convT-uneven"].checkerboard > 0.1
    # convT-even and pixelshuffle: none from the geometry, but from random weights
    for name in ("convT-even", "pixelshuffle"):
        assert constant[name].uniform_checkerboard < 1e-9
        assert constant[name].checkerboard > 0.1
        assert constant[name].spectral_peak_db > 20.0
        assert constant[name].note.startswith("grid")
    assert constant["convT-even"].verdict == "even"
    for name in (
        "pixelshuffle-icnr",
        "resize-nearest-conv",
        "resize-bilinear-conv",
        "nearest",
        "bilinear",
        "bicubic",
    ):
        assert constant[name].checkerboard < 1e-5, name
        assert constant[name].spectral_peak_db < 0.5, name
        assert constant[name].note.startswith("flat"), name
        assert constant[name].verdict is None
    assert constant["convT-even"].weight_imbalance > 0
    assert constant["nearest"].weight_imbalance is None


def test_icnr_and_nearest_are_phase_balanced_on_noise(reports: dict) -> None:
    noise = {m.method: m for m in reports[2].results if m.input == "noise"}
    assert noise["pixelshuffle-icnr"].checkerboard < 1e-9
    assert noise["nearest"].checkerboard < 1e-9
    assert noise["pixelshuffle"].spectral_peak_db > noise["pixelshuffle-icnr"].spectral_peak_db


@pytest.mark.parametrize("scale", [2, 3])
def test_gradients_of_strided_convs_reproduce_the_overlap(reports: dict, scale: int) -> None:
    grad = [m for m in reports[scale].grad if m.input == "constant"]
    assert [(m.kernel, m.stride) for m in grad] == grad_pairs(scale)
    assert grad_pairs(2) == [(3, 2), (4, 2), (2, 2), (5, 2)]
    for m in grad:
        assert m.uniform_checkerboard == pytest.approx(_coverage_imbalance(m.kernel, m.stride))
        assert m.verdict == arith.overlap_verdict(m.kernel, m.stride)
        assert m.checkerboard > 0.1  # random weights make one anyway


def _interior(m, scale: int) -> np.ndarray:
    b = metrics.default_border(scale)
    return m.energy[b:-b, b:-b]


@pytest.mark.parametrize("scale", [2, 3])
def test_mean_energy_map_on_a_constant_input(reports: dict, scale: int) -> None:
    """convT-uneven: a period-S pattern, not flat; ICNR and the interpolations: flat (1)."""
    constant = {m.method: m for m in reports[scale].results if m.input == "constant"}
    e = _interior(constant["convT-uneven"], scale)
    np.testing.assert_allclose(e[scale:], e[:-scale], rtol=1e-9)  # period S down ...
    np.testing.assert_allclose(e[:, scale:], e[:, :-scale], rtol=1e-9)  # ... and across
    assert e.max() / e.min() > 1.5
    assert np.abs(e[1:] - e[:-1]).max() > 0.1 and np.abs(e[:, 1:] - e[:, :-1]).max() > 0.1
    for name in ("pixelshuffle-icnr", "nearest", "bilinear"):
        e = _interior(constant[name], scale)
        assert e.max() / e.min() - 1 < 1e-5, name
        np.testing.assert_allclose(e, 1.0, atol=1e-5)


@pytest.mark.parametrize("scale", [2, 3])
def test_mean_energy_map_is_the_seed_mean_of_the_metrics_phase_energies(
    reports: dict, scale: int
) -> None:
    """Mean 1 over the crop; its phase means are the seeds' mean E_ac / mean E; so its imbalance
    is at most the mean of the per-seed imbalances (the table's checkerbd)."""
    report = reports[scale]
    for m in report.results + report.grad:
        assert m.energy.shape == (12 * scale, 12 * scale)
        assert _interior(m, scale).mean() == pytest.approx(1.0, rel=1e-12), m.method
        assert m.energy_imbalance <= m.checkerboard + 1e-9, (m.method, m.input)
    # the seeds' own outputs, recomputed: phase means of the map = mean of E / mean E
    want = []
    for i in range(SMALL["seeds"]):
        torch.manual_seed(i)
        layer = upsamplers.create("pixelshuffle", SMALL["channels"], scale)
        with torch.no_grad():
            y = layer(torch.ones(1, SMALL["channels"], 12, 12))[0].double().numpy()
        energies = metrics.phase_energies(y, scale)
        want.append(energies / energies.mean())
    m = next(x for x in report.results if (x.method, x.input) == ("pixelshuffle", "constant"))
    got = metrics.phase_energies(np.sqrt(m.energy), scale)
    np.testing.assert_allclose(got, np.mean(want, axis=0), rtol=1e-9)


@pytest.mark.parametrize("scale", [2, 3])
def test_mean_energy_map_keeps_the_overlap_and_fades_random_grids(scale: int) -> None:
    """Over 32 seeds the mean map of convT-uneven has its strong and weak phases where the
    all-ones layer has them (the overlap); the grids of convT-even and pixelshuffle, whose strong
    phase changes with the seed, fade to well under their per-seed imbalance."""
    config = ProbeConfig(
        scale=scale,
        methods=("convT-uneven", "convT-even", "pixelshuffle"),
        inputs=("constant",),
        seeds=32,
        size=12,
        channels=4,
    )
    by_name = {m.method: m for m in run_probe(config).results}
    layer = upsamplers.create("convT-uneven", 4, scale)
    with torch.no_grad():
        layer.weight.fill_(1.0)
        layer.bias.zero_()
        ones = layer(torch.ones(1, 4, 12, 12))[0].double().numpy()
    ref = metrics.phase_energies(ones, scale).ravel()
    got = metrics.phase_energies(np.sqrt(by_name["convT-uneven"].energy), scale).ravel()
    assert ref[got.argmax()] == ref.max() and ref[got.argmin()] == ref.min()
    assert np.corrcoef(got, ref)[0, 1] > 0.7
    for name in ("convT-even", "pixelshuffle"):
        m = by_name[name]
        assert m.checkerboard > 1.0
        assert m.energy_imbalance < 0.4 * m.checkerboard, name


def test_same_seed_same_numbers_other_seed_other_numbers() -> None:
    config = ProbeConfig(methods=("convT-even", "bilinear"), **SMALL)
    a, b = run_probe(config), run_probe(config)
    c = run_probe(ProbeConfig(methods=("convT-even", "bilinear"), seed=7, **SMALL))
    key = [(m.checkerboard, m.spectral_peak_db, m.checkerboard_std) for m in a.results]
    assert key == [(m.checkerboard, m.spectral_peak_db, m.checkerboard_std) for m in b.results]
    assert key != [(m.checkerboard, m.spectral_peak_db, m.checkerboard_std) for m in c.results]
    np.testing.assert_array_equal(a.results[0].response, b.results[0].response)
    np.testing.assert_array_equal(a.results[0].energy, b.results[0].energy)
    assert not np.array_equal(a.results[0].energy, c.results[0].energy)


def test_cli_json_document(run_cli) -> None:
    result = run_cli(
        "probe", "--json", "--no-png", "--seeds", "2", "--size", "12", "--methods",
        "convT-uneven,nearest", "--channels", "2", "--grad",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["scale"] == 2 and doc["png"] == []
    assert [(r["method"], r["input"]) for r in doc["results"]] == [
        ("convT-uneven", "constant"),
        ("convT-uneven", "noise"),
        ("nearest", "constant"),
        ("nearest", "noise"),
    ]
    keys = {
        "method", "input", "checkerboard", "checkerboard_std", "spectral_peak_db",
        "spectral_peak_db_std", "uniform_checkerboard", "weight_imbalance", "verdict", "note",
    }  # fmt: skip
    params = {"kernel", "stride", "padding"}  # a zoo transposed conv names its K, S, P
    assert [set(r) for r in doc["results"]] == [keys | params] * 2 + [keys] * 2
    assert (doc["results"][0]["kernel"], doc["results"][0]["stride"]) == (3, 2)
    assert doc["results"][0]["verdict"] == "checkerboard"
    assert doc["results"][2]["verdict"] is None and doc["results"][2]["weight_imbalance"] is None
    assert len(doc["grad"]) == 8
    assert set(doc["grad"][0]) == keys | {"kernel", "stride", "padding"}


def test_cli_table_and_pngs(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "figs"
    result = run_cli(
        "probe", "--seeds", "1", "--channels", "1", "--scale", "3",
        "--size", "8", "--methods", "convT-even,pixelshuffle-icnr", "--out", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "convT-even" in result.stdout and "pixelshuffle-icnr" in result.stdout
    names = sorted(p.name for p in out.iterdir())
    assert names == ["probe-responses.png", "probe-spectra.png"]
    for name in names:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--methods", "convT-odd"), "convT-odd"),
        (("--methods", "nearest,convT-odd"), "known: convT-uneven, convT-even,"),
        (("--inputs", "ramp"), "known: constant, noise"),
        (("--scale", "0"), "scale"),
        (("--scale", "5"), "scale"),
        (("--size", "5"), "--size 5"),
        (("--inputs", "constant,ramp"), "ramp"),
        (("--seeds", "0"), "--seeds"),
        (("--channels", "0"), "--channels"),
        (("--methods", ","), "--methods is empty"),
        (("--methods", ""), "--methods is empty"),
        (("--methods", "nearest,,bicubic"), "empty item"),
        (("--inputs", "constant,"), "empty item"),
    ],
)
def test_cli_bad_input_is_one_line_exit_2(run_cli, args: tuple[str, ...], needle: str) -> None:
    result = run_cli("probe", "--no-png", *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("upscope: error: ")
    assert needle in lines[0]


def test_cli_unwritable_out_is_exit_2(run_cli, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run_cli("probe", "--seeds", "1", "--size", "8", "--out", str(blocker / "sub"))
    assert result.exit_code == 2
    assert result.stderr.startswith("upscope: error: ")
    assert blocker.read_text() == "x"


def test_cli_start_loads_no_torch() -> None:
    code = "import sys, upscope.cli; assert 'torch' not in sys.modules, 'torch'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[1])


def test_bad_words_and_sizes_are_refused_before_torch_loads() -> None:
    """A fresh interpreter: an unknown method or input, an empty list, a too small --size are
    each exit 2 with one line, and torch (and matplotlib) never imported."""
    cases = [
        ["--methods", "convT-even,foo"],
        ["--inputs", "constant,ramp"],
        ["--methods", ","],
        ["--size", "5"],
    ]
    code = (
        "import sys\nfrom upscope.cli import main\n"
        f"for args in {cases!r}:\n"
        "    try:\n        main(['probe', '--no-png', *args])\n"
        "    except SystemExit as e:\n        print(e.code)\n"
        "print(sorted(m for m in ('torch', 'matplotlib', 'PIL') if m in sys.modules))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).parents[1],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.stdout.split("\n")[:5] == ["2", "2", "2", "2", "[]"], (proc.stdout, proc.stderr)
    errors = proc.stderr.strip().splitlines()
    assert len(errors) == 4 and all(e.startswith("upscope: error: ") for e in errors)
    for needle, line in zip(["'foo'", "'ramp'", "is empty", "--size 5"], errors, strict=True):
        assert needle in line


@pytest.mark.parametrize(
    "shape", [(6, 5), (8, 8), (7, 4), (56, 56), (4, 5), (5, 4), (7, 7), (1, 2)]
)
def test_spectrum_panel_puts_every_pixel_on_its_frequency(shape: tuple[int, int]) -> None:
    """Each drawn pixel, located through the extent, shows the bin of its frequency (mod 1)."""
    from upscope.render.plots import centred_panel  # probe's and compare's spectra panels

    spectrum = np.random.default_rng(0).random(shape)
    data, (left, right, bottom, top) = centred_panel(spectrum)
    rows, cols = data.shape
    assert right == pytest.approx(-left) and bottom == pytest.approx(-top)  # symmetric: no strip
    assert left <= -0.5 and top <= -0.5
    for i in range(rows):
        fy = top + (i + 0.5) * (bottom - top) / rows
        for j in range(cols):
            fx = left + (j + 0.5) * (right - left) / cols
            u, v = round(fy * shape[0]) % shape[0], round(fx * shape[1]) % shape[1]
            assert abs(fy * shape[0] - round(fy * shape[0])) < 1e-9  # a pixel centre is a bin
            assert data[i, j] == spectrum[u, v]


@pytest.mark.parametrize(("shape", "scale"), [((8, 8), 2), ((56, 56), 4), ((84, 84), 3)])
def test_every_grid_frequency_on_the_panel_is_circled(shape: tuple[int, int], scale: int) -> None:
    from upscope.render.probe_view import peak_positions

    grid = [k / scale for k in range(-scale, scale + 1) if abs(k / scale) <= 0.5]
    expected = {(x, y) for x in grid for y in grid if (x, y) != (0, 0)}
    got = {(round(x, 9), round(y, 9)) for x, y in peak_positions(shape, scale)}
    assert got == {(round(x, 9), round(y, 9)) for x, y in expected}


def test_mean_energy_map_with_a_zero_seed_keeps_mean_one_and_at_most_the_mean_score() -> None:
    from upscope.probing import mean_energy_map

    scale, side = 2, 24
    grid = np.tile([[2.0, 1.0], [1.0, 1.0]], (side // 2, side // 2))
    ys = [np.zeros((1, side, side)), grid[None]]
    mean_map = mean_energy_map(ys, scale)
    crop = mean_map[2 * scale : -2 * scale, 2 * scale : -2 * scale]
    assert crop.mean() == pytest.approx(1.0)
    mean_score = np.mean([metrics.phase_imbalance(y, scale) for y in ys])
    assert 0 < metrics.phase_imbalance(np.sqrt(mean_map), scale) <= mean_score + 1e-12
