"""What a person reads, rendered at 100 columns without colour, against golden text files.

After a deliberate change to the output, regenerate them with ``pytest --update-golden`` and
review the diff like code.
"""

from __future__ import annotations

import pytest

CASES = {
    "size_one_layer": ["size", "--input", "14", "--k", "3", "--s", "2", "--p", "1", "--op", "1"],
    "size_stack": [
        "size", "--input", "4x4",
        "--layer", "convT k=4 s=2 p=1", "--layer", "convT k=3 s=2 p=1 op=1",
        "--layer", "upsample scale=2", "--layer", "conv k=3 s=2 p=1",
    ],
    "size_solver": ["size", "--input", "14", "--target", "28", "--limit", "6"],
    "size_keras": ["size", "-i", "14", "--k", "3", "--s", "2", "--p", "same", "--framework=keras"],
    "overlap_k3_s2": ["overlap", "--k", "3", "--s", "2", "--input", "6", "--no-png"],
    "overlap_k4_s2": ["overlap", "--k", "4", "--s", "2", "--p", "1", "--input", "6", "--no-png"],
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CASES))
def test_terminal_output_matches_golden(run_cli, golden, monkeypatch, name: str) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    r = run_cli(*CASES[name])
    assert r.exit_code == 0, r.stderr
    golden(name, r.stdout)
