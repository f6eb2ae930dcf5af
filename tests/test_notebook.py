"""Results in a notebook (issue 20): executed headless with nbclient, a cell ending in a result
shows it ONCE, as one HTML fragment (a ``<pre>``: no ``<html>``, ``<head>`` or ``<style>`` that
would restyle the page) under a size bound, with the one-line repr as its text/plain; nothing
else is displayed beside it (rich's notebook mode used to display the table a second time, and
an empty ``<pre>``). ``rich.print(result)`` in a cell still shows the full table."""

from __future__ import annotations

import nbclient  # the test extra installs nbclient, nbformat and ipykernel (pyproject.toml)
import nbformat
import pytest

from upscope.result import MAX_REPR

HTML_LIMIT = 64_000  # characters of one result's HTML (the 13x13 overlap grid: ~17,500)

CELLS = [
    "import numpy as np, rich, upscope",
    "upscope.overlap(3, 2, input=6)",
    "upscope.size(14, 3, 2, 1, 1)",
    "upscope.solve(14, 28, limit=4)",
    "upscope.framework_size('keras', 14, 3, 2, 'same')",
    "upscope.probe(methods='convT-uneven,nearest', seeds=1, size=12, channels=1)",
    "upscope.compare(np.full((16, 16), 0.5), methods='nearest,convT-uneven', fit=0, threads=1)",
    "from torch import nn\n"
    "s = upscope.scan(nn.Sequential(nn.ConvTranspose2d(2, 2, 3, 2, 1, 1)),\n"
    "                 input_shape=(1, 2, 4, 4))\n"
    "s",
    "s.findings[0]",
    "rich.print(upscope.size(14, 3, 2, 1, 1))",
]


@pytest.fixture(scope="module")
def cells() -> list:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    return notebook.cells


def _check_fragment(page: str) -> None:
    assert page.startswith("<pre") and page.rstrip().endswith("</pre>"), page[:200]
    assert page.count("<pre") == 1 and len(page) < HTML_LIMIT, len(page)
    for tag in ("<html", "<head", "<body", "<style", "<!DOCTYPE"):
        assert tag.lower() not in page.lower(), tag


@pytest.mark.parametrize("index", range(1, 8))
def test_a_result_shows_once_as_a_fragment(cells: list, index: int) -> None:
    outputs = cells[index].outputs
    assert [o["output_type"] for o in outputs] == ["execute_result"], outputs
    data = outputs[0]["data"]
    _check_fragment(data["text/html"])
    plain = data["text/plain"]
    assert "\n" not in plain and len(plain) < MAX_REPR, plain
    assert plain.split("(")[0] in {
        "OverlapResult", "LayerStack", "Solutions", "FrameworkSize", "ProbeReport",
        "Comparison", "ScanResult",
    }  # fmt: skip


def test_a_finding_is_its_one_line(cells: list) -> None:
    (output,) = cells[8].outputs
    assert output["output_type"] == "execute_result" and "text/html" not in output["data"]
    assert output["data"]["text/plain"].startswith("Finding(name='0', type='ConvTranspose2d'")


def test_rich_print_shows_the_full_table(cells: list) -> None:
    (output,) = cells[9].outputs
    assert output["output_type"] == "display_data"
    _check_fragment(output["data"]["text/html"])
    assert "O = (14-1)*2 - 2*1 + 1*(3-1) + 1 + 1 = 28" in output["data"]["text/plain"]
