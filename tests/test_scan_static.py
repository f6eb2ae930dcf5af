"""``upscope scan file.py:Name`` without ``--input-shape`` (issue 20): refused before torch loads
when the file alone proves the model has no ``example_input_array``, and only then. Truth:
each file below is also imported and built here, and the model's attribute looked at."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from upscope.errors import UpscopeError
from upscope.scanning.static_input import example_input_in_file, refuse_without_shape

HEAD = "import torch\nfrom torch import nn\nimport torch.nn as tnn\nfrom torch.nn import Module\n"
LAYER = "        super().__init__()\n        self.up = nn.ConvTranspose2d(2, 2, 4, 2, 1)\n"

PROVEN = {  # the file tells: no example_input_array
    "plain": "class Gen(nn.Module):\n    def __init__(self):\n" + LAYER,
    "alias": "class Gen(tnn.Module):\n    def __init__(self):\n" + LAYER,
    "bare": "class Gen(Module):\n    def __init__(self):\n" + LAYER,
    "base in file": "class B(nn.Module):\n    def __init__(self):\n"
    + LAYER
    + "class Gen(B):\n    pass\n",
    "factory": "class B(nn.Module):\n    def __init__(self):\n"
    + LAYER
    + "def Gen():\n    return B()\n",
    "sequential": "def Gen():\n    return nn.Sequential(nn.ConvTranspose2d(2, 2, 4, 2, 1))\n",
}
UNKNOWN = {  # the file cannot tell (the model may or may not have one)
    "mentioned": (
        "class Gen(nn.Module):\n    example_input_array = torch.zeros(1, 2, 4, 4)\n"
        "    def __init__(self):\n" + LAYER,
        "mentions example_input_array",
        True,
    ),
    "helper": (
        "from helper_mod import add\nclass Gen(nn.Module):\n    def __init__(self):\n"
        + LAYER
        + "        add(self)\n",
        "passes self to add()",
        True,
    ),
    "setattr": (
        "class Gen(nn.Module):\n    def __init__(self):\n"
        + LAYER
        + "        setattr(self, 'example_' + 'input_array', torch.zeros(1, 2, 4, 4))\n",
        "calls setattr()",
        True,
    ),
    "foreign base": (
        "from helper_mod import Base\nclass Gen(Base):\n    pass\n",
        "derives from Base, which is not defined in the file",
        True,
    ),
    "returned variable": (
        "def Gen():\n    m = nn.Sequential(nn.ConvTranspose2d(2, 2, 4, 2, 1))\n    return m\n",
        "returns something other than a class of the file",
        False,
    ),
    "decorated": (
        "import functools\n@functools.lru_cache\ndef Gen():\n    return nn.Sequential()\n",
        "has a decorator",
        False,
    ),
}
HELPER = textwrap.dedent("""\
    import torch
    from torch import nn
    def add(m):
        m.example_input_array = torch.zeros(1, 2, 4, 4)
    class Base(nn.Module):
        def __init__(self):
            super().__init__()
            self.up = nn.ConvTranspose2d(2, 2, 4, 2, 1)
            add(self)
    class Plain(nn.Module):
        def __init__(self):
            super().__init__()
            self.up = nn.ConvTranspose2d(2, 2, 4, 2, 1)
""")


def _write(folder: Path, name: str, body: str) -> Path:
    (folder / "helper_mod.py").write_text(HELPER)
    path = folder / ("m_" + re.sub(r"\W", "_", name) + ".py")
    path.write_text(HEAD + body)
    return path


def _built_has_example(path: Path) -> bool:
    sys.path.insert(0, str(path.parent))
    try:
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return getattr(module.Gen(), "example_input_array", None) is not None
    finally:
        sys.path.remove(str(path.parent))
        sys.modules.pop("helper_mod", None)


@pytest.mark.parametrize("case", sorted(PROVEN))
def test_a_file_that_tells_is_refused_at_once(tmp_path: Path, case: str) -> None:
    path = _write(tmp_path, case, PROVEN[case])
    assert example_input_in_file(path.read_text(), "Gen") is False
    assert not _built_has_example(path)  # the truth, by building it
    with pytest.raises(UpscopeError, match=f"Gen in {path.name} defines no example_input_array"):
        refuse_without_shape(f"{path}:Gen")


@pytest.mark.parametrize("case", sorted(UNKNOWN))
def test_a_file_that_cannot_tell_says_why(tmp_path: Path, case: str) -> None:
    body, why, has = UNKNOWN[case]
    path = _write(tmp_path, case, body)
    reason = refuse_without_shape(f"{path}:Gen")
    assert isinstance(reason, str) and why in reason, reason
    assert _built_has_example(path) == has


def test_a_module_path_cannot_be_told() -> None:
    assert "module" in str(refuse_without_shape("upscope.samples.models:DCGANGenerator"))


def test_the_cli_refuses_before_torch_loads(tmp_path: Path) -> None:
    # the console script ends with os._exit (late signals, upscope.cli), so nothing runs after
    # main(): an import hook reports torch the moment anything imports it
    path = _write(tmp_path, "plain", PROVEN["plain"])
    code = (
        "import sys\n"
        "class Spy:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'torch':\n"
        "            sys.stderr.write('TORCH IMPORTED\\n')\n"
        "        return None\n"
        "sys.meta_path.insert(0, Spy())\n"
        "from upscope.cli import main\n"
        f"sys.argv = ['upscope', 'scan', {str(path) + ':Gen'!r}, '--no-png']\n"
        "main()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 2, done.stderr
    assert "TORCH IMPORTED" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert "defines no example_input_array (read from the file)" in lines[0]


def test_after_building_the_message_says_why_the_file_could_not_tell(run_cli, tmp_path) -> None:
    path = _write(tmp_path, "late", "from helper_mod import Plain\nclass Gen(Plain):\n    pass\n")
    result = run_cli("scan", f"{path}:Gen", "--no-png")
    assert result.exit_code == 2 and result.stderr.strip().endswith(
        "defines no example_input_array (upscope built it to know: "
        "Gen derives from Plain, which is not defined in the file)"
    ), result.stderr
