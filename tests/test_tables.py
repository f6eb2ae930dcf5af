"""The probe and compare tables at 50 to 120 columns: every number whole, nothing cut with "…"."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from upscope import comparison as compare
from upscope.render import cells, compare_view, probe_view

WIDTHS = [50, 80, 100, 120]


def _recording(monkeypatch: pytest.MonkeyPatch, module: object, width: int) -> Console:
    console = Console(record=True, width=width, color_system=None, highlight=False)
    monkeypatch.setattr(module, "out_console", lambda: console)
    return console


def _lines_fit(text: str, width: int) -> bool:
    return all(len(line.rstrip()) <= width for line in text.splitlines())


def _result(method: str, learned: bool, **values: float) -> compare.MethodResult:
    return compare.MethodResult(
        method=method, learned=learned, params=0, output=np.zeros((1, 1, 1)), **values
    )


# awkward values on purpose: long names, 3-digit dB, negative peaks, a near-zero negative
RESULTS = [
    _result("resize-bilinear-conv", True, psnr=123.456, ssim=0.93821, checkerboard=0.00352,
            checkerboard_error=0.11894, spectral_peak_db=-12.345, seconds=123.45),
    _result("pixelshuffle-icnr", True, psnr=8.7985, ssim=0.34391, checkerboard=0.2169,
            checkerboard_error=0.41234, spectral_peak_db=25.01, seconds=0.0912),
    _result("nearest", False, psnr=float("inf"), ssim=1.0, checkerboard=0.0,
            checkerboard_error=0.0, spectral_peak_db=-0.0004, seconds=0.001),
]  # fmt: skip
#: what each row must show, written out by hand: (method, PSNR, SSIM, checker, error, peak, s)
#: ``*`` marks the best finite value of each column (it survives NO_COLOR; inf is not a best)
EXPECTED = [
    ("123.46*", "0.9382", "0.0035", "0.1189", "-12.3*", "123.45"),
    ("8.80", "0.3439", "0.2169", "0.4123", "25.0", "0.09"),
    ("inf", "1.0000*", "0.0000*", "0.0000*", "0.0", "0.00*"),
]


@pytest.mark.parametrize("width", WIDTHS)
def test_compare_table_keeps_every_number(monkeypatch: pytest.MonkeyPatch, width: int) -> None:
    console = _recording(monkeypatch, compare_view, width)
    comparison = compare.Comparison(
        original=np.zeros((3, 130, 100)), low=np.zeros((3, 65, 50)),
        settings=compare.Settings(fit=200), results=RESULTS,
    )  # fmt: skip
    doc = {"image": "photo.png", "size": [130, 100], "channels": 3, "alpha": "none", "png": []}
    compare_view.show(comparison, doc, "psnr")
    text = console.export_text()
    assert "…" not in text
    for name, expected in zip(("resize-", "pixelshuffle-", "nearest"), EXPECTED, strict=True):
        row = next(line.split() for line in text.splitlines() if line.startswith(name))
        assert tuple(row[-6:]) == expected, row
    assert "-0.0" not in text
    assert "100x130 pixels (WxH)" in text
    if width >= 80:
        assert _lines_fit(text, width)
        assert "resize-bilinear-conv" in text  # names wrap only when they must
    else:  # 50 columns: the long names wrap after a hyphen, the numbers overflow the line
        assert any(line.startswith("bilinear-conv ") for line in text.splitlines())
        assert not _lines_fit(text, width)


def _probe_report(method: str, **values: float) -> object:
    from upscope.probing import Measurement, ProbeConfig, ProbeReport

    def row(kind: str) -> Measurement:
        return Measurement(
            method=method, input=kind, weight_imbalance=None, verdict="checkerboard",
            note="why", energy=np.ones((1, 1)), energy_imbalance=0.0,
            response=np.zeros((1, 1)), spectrum=np.zeros((1, 1)), **values,
        )  # fmt: skip

    return ProbeReport(ProbeConfig(), [row("constant"), row("noise")], None)


@pytest.mark.parametrize("width", WIDTHS)
def test_probe_table_keeps_every_number(monkeypatch: pytest.MonkeyPatch, width: int) -> None:
    console = _recording(monkeypatch, probe_view, width)
    report = _probe_report(
        "resize-bilinear-conv", checkerboard=12.346, checkerboard_std=10.004,
        spectral_peak_db=-123.46, spectral_peak_db_std=12.34, uniform_checkerboard=-0.001,
    )  # fmt: skip
    probe_view.show(report, [])
    text = console.export_text()
    assert "…" not in text
    row = next(line.split() for line in text.splitlines() if line.startswith("resize-"))
    assert row[-5:] == ["0.00", "12.35±10.00", "-123.5±12.3", "12.35±10.00", "-123.5±12.3"]
    assert "-0.00" not in text
    if width >= 80:
        assert _lines_fit(text, width)
        assert row[0] == "resize-bilinear-conv"


def test_cli_tables_at_80_columns(run_cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The real commands, as piped (rich then assumes 80 columns): numbers as in --json."""
    monkeypatch.setenv("COLUMNS", "80")
    image = tmp_path / "in.png"
    from PIL import Image

    Image.fromarray((np.random.default_rng(0).random((40, 36, 3)) * 255).astype(np.uint8)).save(
        image
    )
    args = ["compare", str(image), "-m", "resize-bilinear-conv,nearest", "--fit", "2",
            "--channels", "2", "--no-png"]  # fmt: skip
    doc = json.loads(run_cli(*args, "--json").stdout)
    table = run_cli(*args)
    assert table.exit_code == 0, table.stderr
    assert "…" not in table.stdout and _lines_fit(table.stdout, 80)
    for r in doc["results"]:
        row = next(line for line in table.stdout.splitlines() if line.startswith(r["method"]))
        for key, decimals in (("psnr", 2), ("ssim", 4), ("checkerboard_error", 4)):
            assert f"{r[key]:.{decimals}f}" in row.replace("*", "").split(), (key, row)
    marked = [line for line in table.stdout.splitlines() if "*" in line and "fixed" in line]
    assert marked  # the winners carry a text marker without colour

    args = ["probe", "--seeds", "1", "--size", "12", "--channels", "1", "--no-png"]
    doc = json.loads(run_cli(*args, "--json").stdout)
    table = run_cli(*args)
    assert table.exit_code == 0, table.stderr
    assert "…" not in table.stdout and _lines_fit(table.stdout, 80)
    for r in doc["results"]:
        row = next(line for line in table.stdout.splitlines() if line.startswith(r["method"]))
        assert f"{abs(r['checkerboard']):.2f}±" in row


def test_fixed_drops_the_sign_of_zero() -> None:
    assert [cells.fixed(v, 2) for v in (-0.004, -0.0, 0.0, -0.005001, 1.5)] == [
        "0.00", "0.00", "0.00", "-0.01", "1.50"
    ]  # fmt: skip
    assert cells.fixed(float("-inf"), 1) == "-inf"


@pytest.mark.parametrize("command", ["probe", "compare"])
def test_every_option_help_is_shown_whole(run_cli, monkeypatch, command: str) -> None:
    """rich markup would eat a help text's [brackets]: each help must appear as written."""
    import typer

    from upscope.cli import app

    monkeypatch.setenv("COLUMNS", "400")
    helps = [p.help for p in typer.main.get_command(app).commands[command].params if p.help]
    shown = run_cli(command, "--help").stdout
    assert len(helps) >= 10
    for text in helps:
        assert " ".join(text.split()) in " ".join(shown.split()), text
