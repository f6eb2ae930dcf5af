"""The ``--json`` documents of the audio commands (standard library only; keys in docs/audio.md).

``probe --audio``: ``{"audio": true, "rate", "input_rate", "scale", "channels", "seeds", "seed",
"seconds", "highs_fraction", "results": [{"method", "input", "tone_db", "tone_db_std",
"tone_hz", "tones_db", "highs_db", "highs_db_std", "images_db", "images_db_std"}], "png"}``.

``compare SOUND.wav``: ``{"audio": true, "sound", "rate", "channels", "frames", "seconds",
"scale", "input_rate", "fit", "seed", "tone_hz", "results": [{"method", "learned", "params",
"snr_db", "lsd_db", "tone_db", "seconds", "final_loss", "wav"}], "png"}``.

``scan --rate``: :func:`scan_tones` adds ``"rate"`` and, per 1D op, ``"tones_hz"`` and
``"tone_db"`` (see :mod:`upscope.scanning.audio`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from upscope.documents import plain

if TYPE_CHECKING:
    from upscope.audio_results import AudioComparison, AudioMeasurement, AudioProbeReport
    from upscope.scanning.audio import AudioTones

__all__ = ["compare", "probe", "scan_tones"]


def _measurement(m: AudioMeasurement) -> dict[str, Any]:
    return {
        "method": m.method,
        "input": m.input,
        "tone_db": m.tone_db,
        "tone_db_std": m.tone_db_std,
        "tone_hz": m.tone_hz,
        "tones_db": m.tones_db,
        "highs_db": m.highs_db,
        "highs_db_std": m.highs_db_std,
        "images_db": m.images_db,
        "images_db_std": m.images_db_std,
    }


def probe(report: AudioProbeReport) -> dict[str, Any]:
    from upscope.audio_metrics import HIGHS_FRACTION

    cfg = report.config
    return plain(
        {
            "audio": True,
            "rate": cfg.rate,
            "input_rate": cfg.input_rate,
            "scale": cfg.scale,
            "channels": cfg.channels,
            "seeds": cfg.seeds,
            "seed": cfg.seed,
            "seconds": cfg.input_length * cfg.scale / cfg.rate,
            "highs_fraction": HIGHS_FRACTION,
            "results": [_measurement(m) for m in report.results],
            "png": [str(p) for p in report.pngs],
        }
    )


def compare(result: AudioComparison) -> dict[str, Any]:
    s = result.settings
    return plain(
        {
            "audio": True,
            "sound": result.sound,
            "rate": result.rate,
            "channels": int(result.original.shape[0]),
            "frames": int(result.original.shape[1]),
            "seconds": result.original.shape[1] / result.rate,
            "scale": s.scale,
            "input_rate": result.rate / s.scale,
            "fit": s.fit,
            "seed": s.seed,
            "tone_hz": result.tone_hz,
            "results": [
                {
                    "method": r.method,
                    "learned": r.learned,
                    "params": r.params,
                    "snr_db": r.snr_db,
                    "lsd_db": r.lsd_db,
                    "tone_db": r.tone_db,
                    "seconds": r.seconds,
                    "final_loss": r.final_loss,
                    "wav": None if r.wav is None else str(r.wav),
                }
                for r in result.results
            ],
            "png": [str(p) for p in result.pngs],
        }
    )


def scan_tones(doc: dict[str, Any], tones: AudioTones) -> dict[str, Any]:
    """Add ``scan --rate``'s keys to a scan document in place: ``"rate"``, ``"output_samples"``
    and, on each 1D op's layer, ``period_samples``, ``tones_hz`` (base first, then multiples up
    to rate / 2), ``tone_db``, ``tone_input`` and ``tone_reason``; 2D ops are left as they are."""
    from upscope.scanning.audio import document_keys

    keys = document_keys(tones)
    doc["rate"] = tones.rate
    doc["output_samples"] = tones.output_length
    for layer in doc["layers"]:
        if layer.get("name") in keys:
            layer.update(plain(keys[layer["name"]]))
    return doc
