"""The audio results in the presentation registry (:mod:`upscope.present`): the document, view
and figures of ``probe --audio`` (:class:`~upscope.audio_probe.AudioProbeReport`) and of
``compare SOUND.wav`` (:class:`~upscope.audio_compare.AudioComparison`). The tables and figures
themselves are in :mod:`upscope.render.audio_view`, the documents in
:mod:`upscope.audio_documents`; ``scan --rate`` reaches them through the scan's registration
(:mod:`upscope.render.scan_view`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from upscope import audio_documents, present
from upscope.audio_results import AudioComparison, AudioProbeReport
from upscope.render import audio_view
from upscope.render.console import View

present.document.register(AudioProbeReport)(audio_documents.probe)
present.document.register(AudioComparison)(audio_documents.compare)


@present.view.register(AudioProbeReport)
def _probe_view(report: AudioProbeReport) -> View:
    return View(lambda console: audio_view.show_probe(report, list(report.pngs), console))


@present.view.register(AudioComparison)
def _compare_view(result: AudioComparison) -> View:
    return View(lambda console: audio_view.show_compare(result, console))


@present.figures.register(AudioProbeReport)
def _probe_figures(report: AudioProbeReport, out: Path) -> list[Path]:
    """The spectrograms (sweep, noise) and the mean spectra."""
    from upscope.files import prepare_out_dir

    report.pngs[:] = audio_view.save_probe_figures(report, prepare_out_dir(out))
    return list(report.pngs)


@present.figures.register(AudioComparison)
def _compare_figures(result: AudioComparison, out: Path) -> list[Path]:
    """The spectrogram grid and the spectra; never over the sound that was read."""
    from upscope import files

    folder = files.prepare_out_dir(out)
    files.refuse_inputs((folder / n for n in audio_view.COMPARE_FIGURES), SOUND=result.path)
    result.pngs[:] = audio_view.save_compare_figures(result, folder)
    return list(result.pngs)


__all__: list[Any] = []
