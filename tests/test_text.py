"""Names from files and models are data (upscope/text.py), the API's refusals in the CLI's words,
allocation failures as the budget's refusal, and NaN as its own finding (issues 22, 23)."""

from __future__ import annotations

import io
import subprocess
import sys
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from upscope import limits
from upscope.errors import UpscopeError
from upscope.text import markup, printable

EVIL = "[link=https://example.org]up[/link]\x1b]0;title\x07\x1b[2J[reverse]"


@given(st.text(max_size=400), st.integers(min_value=5, max_value=300))
def test_printable_is_printable_and_short(text: str, limit: int) -> None:
    shown = printable(text, limit)
    assert len(shown) <= limit
    assert not any(unicodedata.category(ch) in ("Cc", "Cs") for ch in shown)


@given(st.text(max_size=200))
def test_rich_prints_markup_as_printable(text: str) -> None:
    from rich.console import Console

    console = Console(file=io.StringIO(), width=10_000, color_system=None, soft_wrap=True)
    console.print(markup(text, None) + "[bold]x[/bold]", end="")  # a tag right after it
    assert console.file.getvalue() == printable(text, None) + "x"  # type: ignore[attr-defined]


def test_a_hostile_model_name_prints_neither_escape_nor_markup() -> None:
    import torch
    from rich.console import Console

    import upscope

    model_type = type(EVIL, (torch.nn.Module,), {})
    model = model_type()
    model.up = torch.nn.ConvTranspose2d(2, 2, 3, stride=2)
    model.forward = lambda x: model.up(x)  # type: ignore[method-assign]
    result = upscope.scan(model, (1, 2, 4, 4))
    assert result.to_dict()["model"] == EVIL  # JSON keeps names exact
    console = Console(file=io.StringIO(), width=100, color_system=None, highlight=False)
    console.print(result)
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert "\x1b]0;" not in out and "\x1b[2J" not in out and "\x07" not in out
    assert "[link=https://example.org]up[/link]" in out
    assert "\\x1b]0;title\\x07\\x1b[2J[reverse]" in out


def test_allocation_failures_are_the_budgets_refusal() -> None:
    torch_error = RuntimeError(
        "[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: can't allocate memory: "
        "you tried to allocate 34359738368 bytes."
    )
    for exc in (MemoryError(), torch_error):
        refusal = limits.allocation_failure(exc)
        assert refusal is not None and "ran out of memory" in str(refusal)
    assert limits.allocation_failure(RuntimeError("shape mismatch")) is None


def test_an_allocation_failure_in_a_command_is_one_line() -> None:
    from upscope.commands._shell import guarded

    def work(max_memory: str | None = None) -> None:
        raise MemoryError

    import typer

    with pytest.raises(typer.Exit) as info:
        guarded(work)(max_memory="1G")
    assert info.value.exit_code == 2


def test_limits_after_import_upscope() -> None:
    code = "import upscope, sys; print(upscope.limits.max_memory('2G').__enter__())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(2 << 30)


def test_budget_reads_rlimit_as() -> None:
    code = (
        "import resource; resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30)); "
        "from upscope import limits; room, why = limits.memory_room(); "
        "print(why, limits.default_budget() <= (1 << 29))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "the process's RLIMIT_AS True"


@pytest.mark.parametrize(("seed", "words"), [(2**70, "at most 2147483647"), (-1, "0 or more")])
def test_scan_seed_in_the_clis_words(seed: int, words: str) -> None:
    import torch

    import upscope

    with pytest.raises(UpscopeError, match=f"--seed must be {words}"):
        upscope.scan(
            torch.nn.Sequential(torch.nn.Upsample(scale_factor=2)), (1, 2, 4, 4), seed=seed
        )


def test_api_refuses_none_and_meta() -> None:
    import torch

    import upscope

    with pytest.raises(TypeError, match="got None"):
        upscope.compare(None)
    with pytest.raises(UpscopeError, match="meta tensor"):
        upscope.compare(torch.zeros(1, 3, 8, 8, device="meta"))
    meta = torch.nn.Sequential(torch.nn.ConvTranspose2d(2, 2, 3, stride=2, device="meta"))
    with pytest.raises(UpscopeError, match="meta tensor"):
        upscope.scan(meta, (1, 2, 4, 4))


def test_nan_output_fails_the_assertion() -> None:
    import torch

    from upscope.testing import assert_no_checkerboard

    class NanOut(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.up = torch.nn.ConvTranspose2d(2, 2, 4, stride=2, padding=1)
            with torch.no_grad():  # balanced: the op itself passes
                self.up.weight.fill_(1.0)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.up(x) * float("nan")

    with pytest.raises(AssertionError, match="the model's output holds NaN"):
        assert_no_checkerboard(NanOut(), torch.zeros(1, 2, 4, 4))
    nan_weights = NanOut()
    nan_weights.forward = nan_weights.up  # type: ignore[method-assign, assignment]
    with torch.no_grad():
        nan_weights.up.weight[0, 0, 0, 0] = float("inf")
    with pytest.raises(AssertionError, match="weights hold inf"):
        assert_no_checkerboard(nan_weights, torch.zeros(1, 2, 4, 4))
