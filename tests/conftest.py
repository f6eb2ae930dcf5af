"""Shared test fixtures: run the CLI in-process and capture what a user would see."""

from __future__ import annotations

import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# "default" (CI and the README's test command): the same pseudo-random cases on every run, so a
# red run is reproducible and a green one is not luck. "explore": fresh random cases on each run,
# for hunting new counterexamples (HYPOTHESIS_PROFILE=explore python -m pytest, run it often);
# a counterexample it finds becomes an @example on the test it broke.
_COMMON = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}
settings.register_profile("default", derandomize=True, **_COMMON)
settings.register_profile("explore", **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

ROOT = Path(__file__).resolve().parent.parent


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite tests/golden/*.txt from the current output (after a deliberate change)",
    )


@pytest.fixture
def golden(request: pytest.FixtureRequest):
    """Compare text with tests/golden/NAME.txt; ``pytest --update-golden`` rewrites the file."""
    folder = Path(__file__).parent / "golden"

    def check(name: str, text: str) -> None:
        path = folder / f"{name}.txt"
        if request.config.getoption("--update-golden"):
            folder.mkdir(exist_ok=True)
            path.write_text(text)
            return
        assert path.exists(), f"no golden file {path}; run pytest --update-golden"
        assert text == path.read_text(), f"output differs from {path} (pytest --update-golden)"

    return check


@pytest.fixture
def installed_samples(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``upscope.samples`` importable as ``pip install`` does (samples/ is mapped to it).

    In a checkout that is not installed (the development venv) the package does not exist; the
    docs name the installed module form (``upscope.samples.models:UNet``), which works from any
    directory, so the examples run the way a user who installed upscope runs them.
    """
    if importlib.util.find_spec("upscope.samples") is not None:
        return
    spec = importlib.util.spec_from_file_location(
        "upscope.samples",
        ROOT / "samples" / "__init__.py",
        submodule_search_locations=[str(ROOT / "samples")],
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setitem(sys.modules, "upscope.samples", module)
    for name in [n for n in sys.modules if n.startswith("upscope.samples.")]:
        monkeypatch.delitem(sys.modules, name)


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    """Call ``upscope.cli.main(args)`` as the console script does; return exit code and output."""
    from upscope.cli import main

    monkeypatch.setenv("COLUMNS", "120")

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        else:
            code = 0
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run
