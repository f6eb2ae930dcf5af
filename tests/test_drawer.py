"""The drawing process (upscope/render/drawer.py): a command's figures drawn in a process forked
at its start, the same bytes as drawn in the command's own process, and nothing left behind
whatever happens to either process."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from upscope.render import drawer

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or len(os.sched_getaffinity(0)) < 2,
    reason="the drawing process runs on Linux with two CPUs or more",
)

PROBE = ["probe", "--size", "16", "--seeds", "1", "--methods", "convT-uneven,nearest,pixelshuffle"]
ROOT = Path(__file__).resolve().parent.parent

#: runs the CLI in this interpreter and says on stderr whether matplotlib was imported here;
#: PATCH (an environment variable) is executed first, to break the drawing process on purpose
RUNNER = """
import os, sys
exec(os.environ.get("PATCH", ""))
from upscope.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
sys.stderr.write(f"\\nmatplotlib here: {'matplotlib' in sys.modules}\\n")
sys.exit(code)
"""


def cli(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", RUNNER, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        timeout=300,
        check=False,
    )


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_the_drawing_process_writes_the_same_files_and_the_command_never_loads_matplotlib(
    tmp_path: Path,
) -> None:
    there = cli([*PROBE, "--json", "--out", str(tmp_path / "there")])
    here = cli([*PROBE, "--json", "--out", str(tmp_path / "here")], UPSCOPE_FIGURE_WORKERS="1")
    assert there.returncode == 0 and here.returncode == 0, there.stderr + here.stderr
    assert "matplotlib here: False" in there.stderr  # drawn by the drawing processes
    assert "matplotlib here: True" in here.stderr
    assert there.stdout.replace("there", "here") == here.stdout  # the JSON names the same PNGs
    drawn, serial = files(tmp_path / "there"), files(tmp_path / "here")
    assert list(drawn) == ["probe-responses.png", "probe-spectra.png"] == list(serial)
    assert drawn == serial


def test_a_failing_drawing_process_leaves_the_figures_to_the_command(tmp_path: Path) -> None:
    patch = "import upscope.render.drawer as d; d._warm = lambda fd: os._exit(3)"
    run = cli([*PROBE, "--out", str(tmp_path / "a")], PATCH=patch)
    assert run.returncode == 0, run.stderr
    assert "matplotlib here: True" in run.stderr
    assert list(files(tmp_path / "a")) == ["probe-responses.png", "probe-spectra.png"]
    assert "rror" not in run.stderr


def test_an_error_in_the_drawing_process_is_the_commands_own_error(tmp_path: Path) -> None:
    # the drawing process fails on every figure: the command draws them again and says why
    patch = (
        "import upscope.render.plots as p\n"
        "real = p.save_figure\n"
        "def broken(fig, path):\n"
        "    if os.environ.get('IN_CHILD') == str(os.getpid()): raise OSError('disk on fire')\n"
        "    return real(fig, path)\n"
        "import upscope.render.drawer as d\n"
        "warm = d._warm\n"
        "def marked(fd):\n"
        "    os.environ['IN_CHILD'] = str(os.getpid()); warm(fd)\n"
        "d._warm = marked\n"
        "p.save_figure = broken\n"
    )
    run = cli([*PROBE, "--out", str(tmp_path / "b")], PATCH=patch)
    assert run.returncode == 0, run.stderr  # the second drawing process is not marked: it draws
    assert "matplotlib here: True" in run.stderr  # the command drew them again
    assert list(files(tmp_path / "b")) == ["probe-responses.png", "probe-spectra.png"]
    assert not list((tmp_path / "b").glob(".*"))


def test_sigterm_while_drawing_leaves_no_process_and_no_partial_file(tmp_path: Path) -> None:
    out = tmp_path / "c"
    proc = subprocess.Popen(
        [sys.executable, "-m", "upscope", *PROBE, "--out", str(out)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while not (out.exists() and any(out.iterdir())) and time.monotonic() < deadline:
        time.sleep(0.005)  # until the first (temporary) file appears: the drawing has begun
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode in (0, 143), err
    if proc.returncode == 143:
        assert "interrupted (SIGTERM)" in err
    time.sleep(0.2)
    with pytest.raises(ProcessLookupError):  # no drawing process outlives the command
        os.killpg(proc.pid, 0)
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]
    for png in out.glob("*.png"):  # whatever was written is whole
        assert png.read_bytes().endswith(b"IEND\xaeB`\x82")


def test_share_counts_jobs_over_one_figures_call(monkeypatch: pytest.MonkeyPatch) -> None:
    assert drawer.role() is None and all(drawer.share(i) for i in range(3))
    monkeypatch.setattr(drawer, "_role", (1, 2))
    assert [drawer.share(i) for i in range(4)] == [False, True, False, True]
    with drawer.listing():
        assert not any(drawer.share(i) for i in range(3))


def test_a_figure_saved_outside_save_all_is_refused_while_listing(tmp_path: Path) -> None:
    from upscope.render.plots import new_figure, save_figure, save_one

    with drawer.listing():
        with pytest.raises(RuntimeError, match="outside save_all"):
            save_figure(new_figure(1, 1), tmp_path / "x.png")
        assert save_one(lambda: new_figure(1, 1), tmp_path / "y.png") == tmp_path / "y.png"
    assert not (tmp_path / "y.png").exists()  # listed, not drawn


def test_no_drawing_process_where_torch_is_loaded_or_one_is_asked_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import torch  # noqa: F401 - this test process has torch: a fork would copy its threads

    assert not drawer.wanted() and not drawer.start()
    monkeypatch.delitem(sys.modules, "torch")
    monkeypatch.setenv("UPSCOPE_FIGURE_WORKERS", "1")
    assert not drawer.wanted()


FORKY = '''
import multiprocessing as mp, os, time
from upscope.samples.models import DCGANGenerator

def _idle(path):
    with open(path, "w") as f:
        f.write(str(os.getpid()))
    time.sleep(120)

class Forky(DCGANGenerator):
    """A model that forks a long-lived worker (after the drawing process started)."""
    def __init__(self):
        super().__init__(ngf=8)
        self._p = mp.get_context("fork").Process(target=_idle, args=(PIDFILE,), daemon=True)
        self._p.start()
'''


def test_a_process_the_command_forks_later_does_not_hold_the_drawing_up(tmp_path: Path) -> None:
    pidfile = tmp_path / "worker.pid"
    (tmp_path / "forky.py").write_text(FORKY.replace("PIDFILE", repr(str(pidfile))))
    start = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-m", "upscope", "scan", "forky.py:Forky", "--out", str(tmp_path / "o")],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,  # the worker holds no pipe of ours open
        timeout=300,
        check=False,
    )
    took = time.monotonic() - start
    try:
        assert run.returncode == 0
        assert len(list((tmp_path / "o").glob("scan-*.png"))) == 4
        assert took < 100  # the worker sleeps 120 s: the figures did not wait for it
    finally:
        if pidfile.exists():
            with_pid = int(pidfile.read_text() or 0)
            if with_pid:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(with_pid, signal.SIGKILL)


@pytest.mark.parametrize(("setting", "step"), [(None, drawer.NICENESS), ("0", 0), ("3", 3)])
def test_the_drawing_process_yields_the_cpu_to_the_command(setting: str | None, step: int) -> None:
    """_yield_cpu (run first in a drawing process) lowers its priority by NICENESS, or by
    UPSCOPE_DRAWER_NICE; it is run here in a child interpreter, whose nice value is read."""
    code = "import os; from upscope.render import drawer; a = os.nice(0); drawer._yield_cpu(); "
    code += "print(os.nice(0) - a)"
    env = {k: v for k, v in os.environ.items() if k != "UPSCOPE_DRAWER_NICE"}
    if setting is not None:
        env["UPSCOPE_DRAWER_NICE"] = setting
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**env, "PYTHONPATH": str(ROOT)},
        timeout=60,
        check=True,
    )
    base = os.nice(0)
    assert int(out.stdout) == min(step, 19 - base)  # the kernel stops at 19
