"""Every ``upscope`` example in README.md and docs/*.md runs, and prints what the page shows.

The convention (docs/conventions.md, "Examples in these pages"): inside a fenced code block, a
line ``$ upscope ARGS`` is an example; the lines after it, up to the next ``$ `` line or the end
of the block, are its output. A trailing ``# exit N`` declares the exit code (default 0); other
trailing comments are ignored. With exit code 0 the output shown is stdout; otherwise it is
stderr. A line ``...`` elides lines of the output: each run of lines between elisions must
appear, in order, in the real output. Every example runs in-process in a temporary directory (so
PNGs land in ``tmp/upscope-out/``), at 100 columns, without colour.

How the output is checked, by command:
- ``size``, ``overlap``, ``scan``: the shown text equals the real text (line by line, trailing
  spaces ignored; with ``...`` the shown runs of lines must appear in order).
- ``probe``, ``compare``: every shown line appears, in order, in the real output (their floats
  are deterministic with ``--seed`` on one machine, but the ``time s`` column is not).
- ``--json`` output: the shown document, parsed, equals the real one; floats under the key
  ``seconds`` (wall time) are only checked to be floats, and for ``probe`` and ``compare`` the
  other floats to a relative 1e-6 (torch may round the last digits differently on another CPU).
An unknown option fails the CLI with exit code 2, so an example that names a removed option
fails here. New pages under docs/ are picked up automatically.
"""

from __future__ import annotations

import json
import math
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
EXACT = {"size", "overlap", "scan"}
EXIT = re.compile(r"\s+#\s*exit\s+(\d+)\s*$")
COMMENT = re.compile(r"\s+#\s.*$")
TIME = re.compile(r"\s+\d+\.\d+\*?$")  # the wall time, and its best-value marker


@dataclass
class Example:
    page: str
    line: int
    args: list[str]
    exit_code: int
    output: list[str]

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"


def parse_examples(text: str, page: str) -> list[Example]:
    """The ``$ upscope`` examples of one Markdown page, with the output shown after each."""
    examples: list[Example] = []
    in_block = False
    current: Example | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("```"):
            in_block = not in_block
            current = None
            continue
        if not in_block:
            continue
        if line.startswith("$ "):
            current = None
            command = line[2:]
            if not command.startswith("upscope "):
                continue
            exit_code = 0
            match = EXIT.search(command)
            if match:
                exit_code = int(match.group(1))
                command = command[: match.start()]
            command = COMMENT.sub("", command)
            current = Example(page, number, shlex.split(command)[1:], exit_code, [])
            examples.append(current)
        elif current is not None:
            current.output.append(line.rstrip())
    for example in examples:
        while example.output and not example.output[-1]:
            example.output.pop()
    return examples


EXAMPLES = [
    example
    for page in PAGES
    for example in parse_examples(page.read_text(), str(page.relative_to(ROOT)))
]


def _runs(shown: list[str]) -> list[list[str]]:
    """The shown output cut at ``...`` lines into runs of consecutive lines."""
    runs: list[list[str]] = [[]]
    for line in shown:
        if line.strip() == "...":
            runs.append([])
        else:
            runs[-1].append(line)
    return [run for run in runs if run]


def _find_run(real: list[str], run: list[str], start: int) -> int:
    """Index just past the first occurrence of ``run`` in ``real[start:]``, or -1."""
    for i in range(start, len(real) - len(run) + 1):
        if real[i : i + len(run)] == run:
            return i + len(run)
    return -1


def _untimed(command: str, line: str) -> str:
    """``compare``'s table row without its last column, the wall time ``time s``."""
    return TIME.sub("", line) if command == "compare" else line


def _same_json(shown: object, real: object, close: bool, key: str = "") -> bool:
    """Equal JSON; floats under ``seconds`` only as floats; with ``close``, other floats to 1e-6.

    ``close`` is for probe and compare, whose floats come from torch kernels that may round the
    last digits differently on another CPU; size, overlap and scan compare exactly.
    """
    if key == "seconds" and isinstance(shown, float):
        return isinstance(real, float)
    if isinstance(shown, dict) and isinstance(real, dict):
        return shown.keys() == real.keys() and all(
            _same_json(shown[k], real[k], close, k) for k in shown
        )
    if isinstance(shown, list) and isinstance(real, list):
        return len(shown) == len(real) and all(
            _same_json(a, b, close, key) for a, b in zip(shown, real, strict=True)
        )
    if close and isinstance(shown, float) and isinstance(real, float):
        return math.isclose(shown, real, rel_tol=1e-6, abs_tol=1e-9)
    return type(shown) is type(real) and shown == real


def test_the_pages_have_examples() -> None:
    commands = {example.args[0] for example in EXAMPLES if example.args}
    assert commands >= {"size", "overlap", "probe", "compare", "scan"}
    # the README shows one example per command
    readme = {e.args[0] for e in EXAMPLES if e.page == "README.md" and e.args}
    assert readme >= {"size", "overlap", "probe", "compare", "scan"}


def test_parser_reads_the_convention() -> None:
    text = "```\n$ upscope size --k 3  # exit 2\nerror line\n\n$ ls\nnot this\n```\n"
    [example] = parse_examples(text, "x.md")
    assert (example.args, example.exit_code, example.output) == (
        ["size", "--k", "3"],
        2,
        ["error line"],
    )
    assert _runs(["a", "...", "b", "c"]) == [["a"], ["b", "c"]]
    assert _find_run(["x", "b", "c"], ["b", "c"], 0) == 3
    assert _find_run(["x", "b", "c"], ["c", "b"], 0) == -1
    assert not _same_json({"a": 1}, {"a": 1, "b": 2}, close=False)
    assert _same_json({"seconds": 0.5}, {"seconds": 0.7}, close=False)
    assert not _same_json({"psnr": 10.0}, {"psnr": 10.0 + 1e-9}, close=False)
    assert _same_json({"psnr": 10.0}, {"psnr": 10.0 + 1e-9}, close=True)
    assert not _same_json({"psnr": 10.0}, {"psnr": 10.001}, close=True)
    assert not _same_json([1], [1.0], close=True)


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.id for e in EXAMPLES])
def test_example_runs_as_shown(
    run_cli,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    installed_samples: None,
    example: Example,
) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.chdir(tmp_path)
    result = run_cli(*example.args)
    where = f"{example.id}: upscope {shlex.join(example.args)}"
    assert result.exit_code == example.exit_code, f"{where}\n{result.stderr}"
    # an error example shows its message, so that it cannot pass for another reason (a removed
    # option is exit 2 too)
    assert example.output or example.exit_code == 0, f"{where}: show the error line"
    if not example.output:
        return
    text = result.stdout if example.exit_code == 0 else result.stderr
    if "--json" in example.args and example.exit_code == 0:
        shown = json.loads("\n".join(example.output))
        assert _same_json(shown, json.loads(text), example.args[0] not in EXACT), where
        return
    real = [line.rstrip() for line in text.splitlines()]
    runs = _runs(example.output)
    if example.args[0] in EXACT and len(runs) == 1 and "..." not in example.output:
        assert example.output == real, where
        return
    if example.args[0] in EXACT:
        position = 0
        for run in runs:
            position = _find_run(real, run, position)
            assert position >= 0, f"{where}: not in the output:\n" + "\n".join(run)
        return
    position = 0
    real = [_untimed(example.args[0], line) for line in real]
    for line in example.output:
        if line.strip() in ("", "..."):
            continue
        line = _untimed(example.args[0], line)
        found = next((i for i in range(position, len(real)) if real[i] == line), -1)
        assert found >= 0, f"{where}: line not in the output (in order):\n{line}"
        position = found + 1


def _command_options() -> list[tuple[str, str]]:
    import typer

    from upscope.cli import app

    group = typer.main.get_command(app)
    return [
        (name, opt)
        for name, command in sorted(group.commands.items())  # type: ignore[attr-defined]
        for param in command.params
        for opt in param.opts
        if opt.startswith("-") and opt not in ("-h", "--help")
    ]


@pytest.mark.parametrize("command, option", _command_options())
def test_every_option_is_on_its_page(command: str, option: str) -> None:
    """docs/COMMAND.md names every option of the command, short forms included."""
    page = ROOT / "docs" / f"{command}.md"
    assert page.exists(), f"no reference page {page.name} for `upscope {command}`"
    assert re.search(re.escape(option) + r"(?![\w-])", page.read_text()), (
        f"docs/{command}.md does not mention {option}"
    )


def test_readme_quick_start_is_what_ci_runs() -> None:
    """The README's first section after the description installs and tests as .ci/run does."""
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    sections = re.split(r"^## ", readme, flags=re.M)
    assert sections[1].startswith("Quick start"), "the quick start follows the description"
    blocks = re.findall(r"```\n(.*?)```", sections[1], flags=re.S)
    commands = [line.strip() for block in blocks for line in block.splitlines()]
    # torch pinned, and installed before upscope (an unpinned torch may pull a CUDA build)
    torch_line = commands.index("pip install torch==2.13.0")
    assert torch_line < commands.index("pip install .")
    assert torch_line < commands.index("pip install -e '.[test]'")
    assert "pip install -q torch==2.13.0" in ci
    assert ci.index("torch==2.13.0") < ci.index("-e '.[test]'")
    # the README's test command is the one CI runs
    assert "python -m pytest -q" in commands
    assert ci.rstrip().splitlines()[-1] == "python -m pytest -q"
