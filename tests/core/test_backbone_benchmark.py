"""The backbone benchmark's pieces on a tiny shape (the real run is `python -m benchmarks.backbone`)."""

from __future__ import annotations

import json

from benchmarks import backbone as bench

TINY = dict(batch=4, steps=6, features=3, hidden=5, layers=2, bidirectional=True, low=2)


def test_flop_count_matches_hand_count():
    shape = dict(TINY, layers=1, bidirectional=False)
    # lstm: 4 gates x 2 x H x (F + H) per step, forward + 2x backward
    assert bench.matmul_flops("lstm", shape, 10) == 3 * 4 * 2 * 5 * (3 + 5) * 10
    assert bench.matmul_flops("mingru", shape, 10) == 3 * 2 * 2 * 5 * 3 * 10  # no recurrent matmul


def test_batch_lengths_are_absolute_and_reach_t():
    x, lengths = bench.make_batch(TINY)
    assert x.shape == (4, 6, 3) and int(lengths.max()) == 6 and int(lengths.min()) >= 2


def test_run_shape_reports_exactness_and_ratios(monkeypatch, tmp_path):
    result = bench.run_shape("tiny", TINY, ["lstm", "gru", "mingru"], rounds=2)
    assert set(result["rows"]) >= {"lstm", "nn.lstm:padded", "nn.lstm:packed", "mingru"}
    assert all(diff < 1e-5 for diff in result["max_abs_diff_vs_packed"].values())
    assert result["ratios"]["lstm/nn.lstm:packed"] > 0
    monkeypatch.setattr(bench, "SHAPES", {"speech": TINY})
    monkeypatch.setattr(bench, "RESULTS", tmp_path)
    assert bench.main(["--quick", "--shapes", "speech", "--cells", "lstm"]) == 0
    saved = json.loads((tmp_path / "backbone_quick.json").read_text())
    assert "speech (bi, variable): lstm >= 2x faster than packed, exact" in saved["targets"]
