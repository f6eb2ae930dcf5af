"""`upscope size` through the command line: outputs, JSON, errors, and no heavy imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_one_layer_shows_formula_and_verdict(run_cli) -> None:
    r = run_cli("size", "--input", "14", "--k", "4", "--s", "2", "--p", "1")
    assert r.exit_code == 0, r.stderr
    assert "O = (14-1)*2 - 2*1 + 1*(4-1) + 0 + 1 = 28" in r.stdout
    assert "even" in r.stdout
    r = run_cli("size", "-i", "14", "--k", "3", "--s", "2", "--p", "1", "--op", "1")
    assert r.exit_code == 0
    assert "= 28" in r.stdout and "checkerboard" in r.stdout


def test_one_layer_json(run_cli) -> None:
    r = run_cli("size", "-i", "14x20", "--k", "4x3", "--s", "2", "--p", "1", "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["output"] == [28, 39]
    (layer,) = doc["layers"]
    assert layer["kind"] == "convT"
    assert layer["kernel"] == [4, 3] and layer["stride"] == 2
    assert layer["input"] == [14, 20] and layer["output"] == [28, 39]
    assert layer["even_overlap"] is False and layer["verdict"] == "checkerboard"


def test_stack_table_and_json(run_cli) -> None:
    layers = ["convT k=4 s=2 p=1"] * 3
    args = ["size", "--input", "4"]
    for spec in layers:
        args += ["--layer", spec]
    r = run_cli(*args)
    assert r.exit_code == 0, r.stderr
    assert "4 -> 8 -> 16 -> 32" in r.stdout
    r = run_cli(*args, "--json")
    doc = json.loads(r.stdout)
    assert doc["output"] == [32]
    assert [x["output"] for x in doc["layers"]] == [[8], [16], [32]]


def test_mixed_stack(run_cli) -> None:
    r = run_cli(
        "size", "-i", "16", "--json",
        "--layer", "conv k=3 s=2 p=1",
        "--layer", "pool k=2 type=avg ceil=1",
        "--layer", "upsample scale=2",
        "--layer", "pixelshuffle r=2",
        "--layer", "pixelunshuffle r=2",
        "--layer", "upsample size=5",
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert [x["output"][0] for x in doc["layers"]] == [8, 4, 8, 16, 8, 5]
    assert doc["layers"][1]["ceil_mode"] is True and doc["layers"][1]["type"] == "avg"


def test_solver_json(run_cli) -> None:
    r = run_cli("size", "--input", "14", "--target", "28", "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["input"] == 14 and doc["target"] == 28
    keys = {"kernel", "stride", "padding", "output_padding", "dilation", "even_overlap"}
    keys |= {"interior", "interior_share"}
    assert all(set(s) == keys for s in doc["solutions"])
    assert doc["recommended"] == doc["solutions"][0]
    assert doc["solutions"][0]["even_overlap"] is True
    for s in doc["solutions"]:
        out = 13 * s["stride"] - 2 * s["padding"] + s["dilation"] * (s["kernel"] - 1)
        assert out + s["output_padding"] + 1 == 28


def test_solver_per_axis_gives_lists(run_cli) -> None:
    r = run_cli("size", "--input", "14x7", "--target", "28x14", "--json", "--max-k", "4")
    doc = json.loads(r.stdout)
    assert doc["input"] == [14, 7] and doc["target"] == [28, 14]
    assert all(len(s["kernel"]) == 2 for s in doc["solutions"])
    r = run_cli("size", "--input", "14x7", "--target", "28x14")
    assert r.exit_code == 0 and "recommended" in r.stdout


def test_solver_table_marks_recommended(run_cli) -> None:
    r = run_cli("size", "--input", "14", "--target", "28")
    assert r.exit_code == 0
    assert "recommended: nn.ConvTranspose2d" in r.stdout and "kernel_size=4" in r.stdout


def test_solver_with_no_solution(run_cli) -> None:
    r = run_cli("size", "--input", "14", "--target", "200", "--max-s", "2")
    assert r.exit_code == 0
    assert "No transposed convolution maps 14 to 200" in r.stdout


def test_keras_same_and_its_torch_equivalent(run_cli) -> None:
    r = run_cli("size", "-i", "14", "--k", "3", "--s", "2", "--p", "same", "--framework", "keras")
    assert r.exit_code == 0, r.stderr
    assert "28" in r.stdout and "padding=1, output_padding=1" in r.stdout
    r = run_cli(
        "size", "-i", "14", "--k", "4", "--s", "2", "--p", "same", "--op", "0",
        "--framework", "keras", "--json",
    )  # fmt: skip
    assert json.loads(r.stdout)["output"] == [26]
    r = run_cli("size", "-i", "14", "--k", "5", "--s", "2", "--p", "valid", "--framework", "jax")
    assert r.exit_code == 0 and "31" in r.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--input", "14", "--k", "0"], "k must be at least 1, got 0"),
        (["--input", "14", "--k", "3", "--s", "-1"], "stride s must be at least 1, got -1"),
        (["--input", "abc", "--k", "3"], "--input"),
        (["--input", "14", "--k", "3", "--op", "2", "--s", "2"], "output padding op=2"),
        (["--input", "14", "--layer", "convT k=4 q=1"], "'q'"),
        (["--input", "1", "--k", "1", "--p", "3"], "output size would be -5"),
        (["--input", "14", "--k", "4x3x2", "--s", "2x2"], "disagree"),
        (["--k", "3"], "--input is required"),
        (["--input", "14"], "--k is required"),
        (["--input", "14", "--target", "0"], "target size"),
        (["--input", "14", "--k", "3", "--p", "same", "--framework", "keras", "--s", "x"], "--s"),
        (["--input", "14", "--k", "3", "--p", "middle", "--framework", "keras"], "same, valid"),
        (["--input", "14", "--max-k", "x"], "--max-k"),
        (["--input", "3", "--layer", "conv k=5"], "layer 1"),
        (["-i", "4", "--layer", "convT k=4 s=2", "--s", "3", "--p", "5"], "--s/--p describe"),
        (["-i", "14", "--target", "28", "--k", "3"], "drop --k"),
        (["-i", "14", "--k", "4", "--max-k", "3"], "--max-k only work with --target"),
        (["-i", "14", "--target", "28", "--max-k", "1000"], "--max-k"),
        (["-i", "14", "--layer", "upsample scale=1e308"], "too large"),
        (["-i", "14x14x14x14", "--target", "28x28x28x28"], "combinations"),
    ],
)
def test_bad_input_is_one_line_exit_2(run_cli, args: list[str], needle: str) -> None:
    r = run_cli("size", *args)
    assert r.exit_code == 2
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("upscope: error:")
    assert needle in lines[0]
    assert "Traceback" not in r.stderr


def test_size_imports_no_torch_or_matplotlib() -> None:
    code = (
        "import sys\n"
        "from upscope.cli import main\n"
        "try:\n"
        "    main(['size', '--input', '14', '--k', '4', '--s', '2', '--p', '1', '--json'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = sorted(m for m in ('torch', 'matplotlib', 'PIL', 'numpy') if m in sys.modules)\n"
        "sys.stderr.write('HEAVY=' + ','.join(heavy))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert json.loads(proc.stdout)["output"] == [28]
    assert proc.stderr.strip().endswith("HEAVY="), proc.stderr


def test_import_upscope_is_light() -> None:
    code = "import sys, upscope, upscope.arith; print('torch' in sys.modules)"
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert proc.stdout.strip() == "False"


def test_python_dash_m_and_version() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "upscope", "--version"], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0 and proc.stdout.startswith("upscope ")
    proc = subprocess.run(
        [sys.executable, "-m", "upscope", "--help"], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0 and "size" in proc.stdout and "Example" in proc.stdout
