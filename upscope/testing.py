"""Checks for a project's own test suite, e.g. in ``tests/test_decoder.py``::

from upscope.testing import assert_no_checkerboard

def test_decoder_has_no_checkerboard():
    assert_no_checkerboard(Decoder(), torch.zeros(1, 64, 8, 8))
"""

from __future__ import annotations

from typing import Any

__all__ = ["assert_no_checkerboard"]


def assert_no_checkerboard(model: Any, example_input: Any, fail_on: str = "artifact") -> None:
    """Scan ``model`` (an ``nn.Module``) on inputs shaped like ``example_input`` and raise
    AssertionError when an op's status is ``fail_on`` or worse (``"artifact"``, or ``"risk"``,
    which counts artifacts too), or when an op's weights or output, or the model's output,
    hold NaN or inf. The message names every offending op, why, and its top
    suggested fix as Python code. Bad arguments raise :class:`upscope.errors.UpscopeError`.
    """
    from upscope.scanning.run import scan

    result = scan(model, example_input=example_input)
    failing = result.failing(fail_on)
    lines = []
    if result.output_non_finite:
        lines.append(f"the model's output holds {' and '.join(result.output_non_finite)}")
    if not failing and not lines:
        return
    if failing:
        lines.append(
            f"{len(failing)} upsampling op(s) at status {fail_on!r} or worse, or not finite:"
        )
    for finding in failing:
        why = "; ".join(finding.reasons)
        lines.append(f"- {finding.op.name} ({finding.op.type}): {finding.status}: {why}")
        if finding.fixes:
            fix = finding.fixes[0]
            lines.append(f"  suggested fix: {fix.title}")
            lines += [f"    {line}" for line in fix.statements.splitlines()]
        else:
            lines.append("  no fix suggested for this op")
    raise AssertionError("\n".join(lines))
