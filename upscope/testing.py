"""Checks for a project's own test suite, e.g. in ``tests/test_decoder.py``::

from upscope.testing import assert_no_checkerboard, assert_no_grid

def test_decoder_has_no_checkerboard():
    assert_no_checkerboard(Decoder(), torch.zeros(1, 64, 8, 8))

def test_samples_have_no_grid():
    assert_no_grid("samples/")  # a folder of the generator's images
"""

from __future__ import annotations

from typing import Any

__all__ = ["assert_no_checkerboard", "assert_no_grid"]


def assert_no_checkerboard(model: Any, example_input: Any, fail_on: str = "artifact") -> None:
    """Scan ``model`` (an ``nn.Module``) on inputs shaped like ``example_input`` and raise
    AssertionError when an op's status is ``fail_on`` or worse (``"artifact"``, or ``"risk"``,
    which counts artifacts too). The message names every offending op, why, and its top
    suggested fix as Python code. Bad arguments raise :class:`upscope.errors.UpscopeError`.
    """
    from upscope.scanning.run import scan

    result = scan(model, example_input=example_input)
    failing = result.failing(fail_on)
    if not failing:
        return
    lines = [f"{len(failing)} upsampling op(s) at status {fail_on!r} or worse:"]
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


def assert_no_grid(images: Any, model: Any = None, **options: Any) -> None:
    """Run :func:`upscope.detect` on ``images`` (paths, a folder, an array or tensor batch;
    ``model`` and ``options`` as it takes them) and raise AssertionError when a periodic grid
    is found (verdict ``"grid"``: any period but JPEG blocks). The message names each period,
    its strength and source, and the ops that can make it. Bad arguments raise
    :class:`upscope.errors.UpscopeError`.
    """
    from upscope.api import detect

    result = detect(images, model, **options)
    if result.verdict != "grid":
        return
    lines = [f"a periodic grid was found ({result!r}):"]
    for group in result.groups:
        for found in group.found:
            if found.source == "jpeg":
                continue
            ops = ", ".join(m.name for m in found.layers) or "-"
            lines.append(
                f"- period {found.period[0]}x{found.period[1]} ({found.test}, {found.source}): "
                f"{found.strength_db:.1f} dB, z {found.z:.1f}, in {found.images}/{group.count} "
                f"images of {group.width}x{group.height} alone; ops that can make it: {ops}"
            )
    raise AssertionError("\n".join(lines))
