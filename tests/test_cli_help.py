"""Every help screen reads like a hand-made CLI's: bare flags, named values, sane usage lines.

typer 0.29 labels options with raw Python types (``--json <bool>``, ``--layer <list[str]>``,
``--seed <int range> [0<=x<=2147483647]``) and a required argument as ``{model}``; upscope's
command classes and metavars replace them. Also: ``--seed``'s bounds, now checked by a callback,
and the messages for an --out that cannot be a folder.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
import typer

from upscope.cli import app
from upscope.commands import SEED_MAX

COMMANDS = sorted(typer.main.get_command(app).commands)  # type: ignore[attr-defined]
RAW_LABELS = ("<bool>", "<list[", "2147483647", "{model}", "<int>", "<path>", "<float>", "range")


def _help(run_cli, monkeypatch: pytest.MonkeyPatch, *command: str) -> str:
    monkeypatch.setenv("COLUMNS", "100")
    result = run_cli(*command, "--help")
    assert result.exit_code == 0 and result.stderr == ""
    return result.stdout


def _usage(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip().startswith("Usage:")]
    assert len(lines) == 1, text
    return lines[0]


def _options_panel(text: str) -> str:
    start = text.index("─ Options ─")
    return text[start : text.index("╰", start)]


def test_every_command_is_covered() -> None:
    assert set(COMMANDS) >= {"size", "overlap", "probe", "compare", "scan"}


def test_top_level_help(run_cli, monkeypatch: pytest.MonkeyPatch) -> None:
    text = _help(run_cli, monkeypatch)
    assert _usage(text) == "Usage: upscope [OPTIONS] COMMAND [ARGS]..."
    for raw in RAW_LABELS:
        assert raw not in text, raw
    assert re.search(r"--version +Show the version\.", text)
    assert re.search(r"--help +-h +Show this message and exit\.", text)
    # the example a user copies from the command list works outside a checkout (installed module)
    words = " ".join(re.sub("[│─╭╮╰╯]", " ", text).split())
    assert "Example: upscope scan upscope.samples.models:DCGANGenerator" in words


@pytest.mark.parametrize("command", COMMANDS)
def test_command_help_shows_no_raw_type_labels(
    run_cli, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    text = _help(run_cli, monkeypatch, command)
    for raw in RAW_LABELS:  # scan's option --range is a name, not a raw type label
        assert raw not in text.replace("--range", ""), f"{raw!r} in `upscope {command} --help`"
    options = _options_panel(text)
    assert "<str>" not in options  # every option taking text names its value
    # flags stand alone: nothing between the flag and its help text
    assert re.search(r"--help +-h +Show this message and exit\.", options)
    for flag, words in (("--json", "Print one JSON"), ("--no-png", "Write no files")):
        if flag in options:
            assert re.search(rf"{flag} +{words}", options), flag


@pytest.mark.parametrize("command", COMMANDS)
def test_usage_line_is_sane(run_cli, monkeypatch: pytest.MonkeyPatch, command: str) -> None:
    usage = _usage(_help(run_cli, monkeypatch, command))
    # optional arguments in brackets, required ones bare, in capitals; no braces, no lower case;
    # a variadic one (detect's [IMAGES]...) with click's trailing dots
    assert re.fullmatch(
        rf"Usage: upscope {command} \[OPTIONS\]( [A-Z]+| \[[A-Z]+\](\.\.\.)?)*", usage
    )


def test_arguments_and_values_are_named(run_cli, monkeypatch: pytest.MonkeyPatch) -> None:
    scan = _help(run_cli, monkeypatch, "scan")
    assert _usage(scan) == "Usage: upscope scan [OPTIONS] MODEL"
    for value in ("--input-shape +SHAPE", "--weights +FILE", "--out +DIR", "--seed +INT"):
        assert re.search(value, scan), value
    assert (
        _usage(_help(run_cli, monkeypatch, "compare")) == "Usage: upscope compare [OPTIONS] [IMAGE]"
    )
    size = _help(run_cli, monkeypatch, "size")
    for value in ("--input +-i +SIZE", "--k +K ", "--layer +SPEC", "--target +-t +SIZE"):
        assert re.search(value, size), value


@pytest.mark.parametrize("seed", ["-1", str(SEED_MAX + 1)])
def test_seed_out_of_range_is_one_line(run_cli, seed: str) -> None:
    result = run_cli("overlap", "--k", "3", "--s", "2", "--no-png", "--seed", seed)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("upscope: error: ") and result.stderr.count("\n") == 1
    assert "'--seed'" in result.stderr and f"got {seed}" in result.stderr


@pytest.mark.parametrize("seed", ["0", str(SEED_MAX)])
def test_seed_bounds_are_accepted(run_cli, seed: str) -> None:
    assert run_cli("overlap", "--k", "3", "--s", "2", "--no-png", "--seed", seed).exit_code == 0


def test_out_that_is_a_file_says_so(run_cli, tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("mine")
    result = run_cli("overlap", "--k", "3", "--s", "2", "--out", str(afile))
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == f"upscope: error: output path {str(afile)!r} is a file, not a folder\n"
    below = run_cli("overlap", "--k", "3", "--s", "2", "--out", str(afile / "x"))
    assert below.exit_code == 2
    assert below.stderr.rstrip("\n").endswith(f"{str(afile)!r} is a file, not a folder")
    assert afile.read_text() == "mine" and [p.name for p in tmp_path.iterdir()] == ["afile"]


def test_out_in_proc_names_the_file_system(run_cli) -> None:
    result = run_cli("overlap", "--k", "3", "--s", "2", "--out", "/proc/upscope-out")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "'/proc'" in result.stderr and "No such file" not in result.stderr


def _help_examples(text: str) -> list[str]:
    """The commands listed under ``Examples:`` at the end of a help screen, one per line."""
    lines = [re.sub("[│─╭╮╰╯]", " ", line).strip() for line in text.splitlines()]
    assert "Examples:" in lines, text
    after = lines[lines.index("Examples:") + 1 :]
    assert all(not line or line.startswith("upscope ") for line in after), after
    return [line for line in after if line]


@pytest.mark.parametrize("columns", ["80", "100"])
@pytest.mark.parametrize("command", COMMANDS)
def test_help_ends_with_examples_on_their_own_lines(
    run_cli, monkeypatch: pytest.MonkeyPatch, command: str, columns: str
) -> None:
    monkeypatch.setenv("COLUMNS", columns)
    result = run_cli(command, "--help")
    assert result.exit_code == 0 and result.stderr == ""
    examples = _help_examples(result.stdout)
    assert 1 <= len(examples) <= 4, examples
    # each is one whole command for this subcommand, not wrapped at the usual terminal width
    for example in examples:
        assert shlex.split(example)[:2] == ["upscope", command], example
    assert result.stdout.rstrip().endswith(examples[-1])


@pytest.mark.parametrize("command", COMMANDS)
def test_help_examples_run(
    run_cli,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    installed_samples: None,
    command: str,
) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    examples = _help_examples(run_cli(command, "--help").stdout)
    monkeypatch.chdir(tmp_path)
    for example in examples:
        before = set(tmp_path.rglob("*.png"))
        result = run_cli(*shlex.split(example)[1:])
        assert result.exit_code == 0, f"{example}\n{result.stderr}"
        if "--json" in example:
            json.loads(result.stdout)
        # an example that does not say --no-png shows where the figures go: it writes some
        wrote = set(tmp_path.rglob("*.png")) - before
        assert bool(wrote) == ("--no-png" not in example and command != "size"), example


# ---------------------------------------------------------------- one vocabulary (issue 20)


def _words(text: str) -> str:
    return " ".join(re.sub("[│─╭╮╰╯]", " ", text).split())


@pytest.mark.parametrize("command", ["size", "overlap"])
def test_help_lists_every_layer_kind_the_parser_accepts(
    run_cli, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    """The kinds in ``--layer``'s help are exactly the words that command accepts: each listed
    word parses (and runs), each word the parser knows is listed unless the command refuses it."""
    from upscope import arith

    text = _words(_help(run_cli, monkeypatch, command))
    listed = re.search(r"kinds: (.*?); e\.g\.", text)
    assert listed is not None, text
    words = set(re.findall(r"[A-Za-z]+", listed.group(1))) - {"or"}
    params = {"convT": "k=3 s=2", "upsample": "scale=2", "pixelshuffle": "r=2"}
    params |= {"pixelunshuffle": "r=2", "conv": "k=3", "pool": "k=2"}
    extra = ["--no-png"] if command == "overlap" else []
    for word in {w.lower() for w in words} | set(arith._KIND_ALIASES):
        spec = f"{word} {params[arith._KIND_ALIASES[word]]}"
        result = run_cli(command, "--input", "4", "--layer", spec, "--json", *extra)
        accepted = result.exit_code == 0
        shown = word in {w.lower() for w in words}
        assert accepted == shown, (command, word, result.stderr)


def test_s_is_the_stride_and_scale_is_scale_everywhere() -> None:
    """``--s`` means the stride in every command that has it; the scale is ``--scale``; a
    visible ``-s`` short option means nothing else (compare's old ``-s`` is refused, hidden)."""
    group = typer.main.get_command(app)
    seen_stride, seen_scale = [], []
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        for param in command.params:
            opts = set(param.opts) | set(param.secondary_opts)
            help_text = (getattr(param, "help", "") or "").lower()
            if "--s" in opts or ("-s" in opts and not getattr(param, "hidden", False)):
                assert help_text.startswith("stride"), (name, param.opts)
                seen_stride.append(name)
            if "--scale" in opts:
                assert "upsampling factor" in help_text and "-s" not in opts, (name, param.opts)
                seen_scale.append(name)
            if help_text.startswith("stride"):
                assert "--s" in opts, (name, param.opts)
            if help_text.startswith("upsampling factor"):
                assert "--scale" in opts, (name, param.opts)
    assert set(seen_stride) == {"size", "overlap"} and {"probe", "compare"} <= set(seen_scale)


def test_compare_old_s_is_refused_with_the_new_spelling(run_cli) -> None:
    result = run_cli("compare", "-s", "3", "--fit", "0", "--no-png")
    assert (
        result.exit_code == 2 and "--scale 3" in result.stderr and "\n" not in result.stderr.strip()
    )
