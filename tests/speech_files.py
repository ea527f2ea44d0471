"""Small speech files written for a test: FLAC tones with a manifest (shared by the speech tests)."""

from __future__ import annotations

import numpy as np
import soundfile as sf


def tone_manifest(tmp_path, rows: list[tuple[str, str]]):
    """A 16 kHz FLAC tone (0.75 s, its own pitch) per (transcript, split) row and their manifest ``m.tsv``."""
    lines = ["path\ttranscript\tsplit"]
    for i, (text, split) in enumerate(rows):
        rng = np.random.default_rng(i)
        wave = 0.1 * np.sin(np.arange(12000) * (0.05 + 0.01 * i)) + 0.01 * rng.standard_normal(12000)
        sf.write(tmp_path / f"u{i}.flac", wave.astype(np.float32), 16000)
        lines.append(f"u{i}.flac\t{text}\t{split}")
    manifest = tmp_path / "m.tsv"
    manifest.write_text("\n".join(lines) + "\n")
    return manifest
