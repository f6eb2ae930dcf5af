"""The solver ranks by the share of the output that is interior; square first for equal axes;
Python tuples in the recommended line; keras refuses strides with dilation; --seed on size."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from upscope import arith
from upscope.errors import UpscopeError
from upscope.overlap_map import convt_overlap


@settings(max_examples=400, deadline=None)
@given(
    i=st.integers(1, 12),
    k=st.integers(1, 9),
    s=st.integers(1, 5),
    p=st.integers(0, 6),
    op=st.integers(0, 4),
    d=st.integers(1, 3),
)
def test_convt_interior_is_the_overlap_maps_interior(i, k, s, p, op, d) -> None:
    """The closed form against the numpy map code (itself checked against torch)."""
    try:
        expected = convt_overlap((k,), (s,), (p,), (op,), (d,), (i,)).interior[0]
    except UpscopeError:
        with pytest.raises(UpscopeError):
            arith.convt_interior(i, k, s, p, op, d)
        return
    assert arith.convt_interior(i, k, s, p, op, d) == max(expected[1] - expected[0], 0)


@pytest.mark.parametrize(
    ("i", "k", "s", "p", "op", "d"), [(13, 7, 1, 0, 1, 2), (13, 4, 2, 1, 0, 1)]
)
def test_interior_pixels_keep_their_count_on_a_larger_input(i, k, s, p, op, d) -> None:
    """torch: the interior is where the ones-map already has its large-input value."""
    w = torch.ones(1, 1, k, dtype=torch.float64)

    def counts(n: int) -> np.ndarray:
        x = torch.ones(1, 1, n, dtype=torch.float64)
        return F.conv_transpose1d(x, w, stride=s, padding=p, output_padding=op, dilation=d)[0, 0]

    small, big = counts(i).numpy(), counts(i + 40).numpy()
    shift = 20 * s
    same = small == big[shift : shift + small.size]
    assert arith.convt_interior(i, k, s, p, op, d) <= int(same.sum())


def test_useless_even_layer_ranks_below_useful_ones() -> None:
    """The issue: 13 -> 26 listed k=7 s=1 p=0 op=1 d=2 (interior 1 pixel of 26) 5th."""
    sols = arith.solve_axis(13, 26)
    keys = [(x.kernel, x.stride, x.padding, x.output_padding, x.dilation) for x in sols]
    bad = keys.index((7, 1, 0, 1, 2))
    assert sols[bad].interior == 1 and sols[bad].even_overlap
    holes = [arith.overlap_verdict(x.kernel, x.stride, x.dilation) == "holes" for x in sols]
    useful = [
        n for n, x in enumerate(sols) if x.interior_share >= arith.USEFUL_SHARE and not holes[n]
    ]
    assert useful and all(n < bad for n in useful)
    assert sum(1 for n in useful if not sols[n].even_overlap) > 0  # checkerboards come before
    assert keys[0] == (4, 2, 1, 0, 1)  # the classic doubling stays first


def test_table_shows_the_interior_share(run_cli) -> None:
    r = run_cli("size", "--input", "13", "--target", "26")
    assert r.exit_code == 0
    row = next(line for line in r.stdout.splitlines() if re.search(r"│ 7 │ 1 │ 0 ", line))
    assert "1 (4%)" in row
    assert "at least half the output interior" in " ".join(r.stdout.split())
    doc = json.loads(run_cli("size", "--input", "13", "--target", "26", "--json").stdout)
    best = doc["recommended"]
    assert best["interior"] == 24 and best["interior_share"] == round(24 / 26, 4)


def test_square_problem_lists_square_solutions_first_as_tuples(run_cli) -> None:
    r = run_cli("size", "--input", "7x7", "--target", "28x28")
    assert r.exit_code == 0
    best = next(line for line in r.stdout.splitlines() if "recommended" in line)
    assert "kernel_size=(8, 8)" in r.stdout.replace("\n", " ")
    assert "8x8" not in best
    doc = json.loads(run_cli("size", "--input", "7x7", "--target", "28x28", "--json").stdout)
    n_axis = len(arith.solve_axis(7, 28))
    assert doc["square"] == n_axis and len(doc["solutions"]) == n_axis**2
    sols = doc["solutions"]
    keys = ("kernel", "stride", "padding", "output_padding", "dilation")
    square = [all(s[k][0] == s[k][1] for k in keys) for s in sols]
    assert square == [True] * n_axis + [False] * (n_axis**2 - n_axis)
    text = " ".join(r.stdout.split())
    assert f"{n_axis**2 - n_axis} more with different parameters per axis" in text


def test_keras_refuses_stride_with_dilation(run_cli) -> None:
    args = ["size", "-i", "14", "--k", "3", "--p", "same", "--framework", "keras"]
    r = run_cli(*args, "--s", "2", "--d", "2")
    assert r.exit_code == 2 and r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1 and "dilation_rate > 1" in r.stderr
    r = run_cli(*args, "--s", "2x1", "--d", "1x2")  # Keras compares the largest of each
    assert r.exit_code == 2
    assert run_cli(*args, "--s", "1", "--d", "2").exit_code == 0
    assert run_cli(*args, "--s", "2", "--d", "1").exit_code == 0


@pytest.mark.parametrize(
    "args",
    [
        ["size", "--input", "8", "--k", "3", "--s", "2", "--json"],
        ["size", "--input", "13", "--target", "26", "--json"],
        ["overlap", "--k", "3", "--s", "2", "--json", "--no-png"],
    ],
)
def test_seed_is_accepted_and_changes_nothing_in_exact_commands(run_cli, args) -> None:
    plain = run_cli(*args)
    seeded = run_cli(*args, "--seed", "7")
    assert plain.exit_code == seeded.exit_code == 0
    assert json.loads(plain.stdout) == json.loads(seeded.stdout)


def test_seed_help_says_it_has_no_effect(run_cli) -> None:
    for command in ("size", "overlap"):
        text = " ".join(run_cli(command, "--help").stdout.split())
        assert "--seed" in text and "no effect here" in text
