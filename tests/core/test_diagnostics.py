"""dLoss/dh_t is the total gradient through the recurrence; the CLI writes JSON + PNG."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from core import build_backbone
from core.errors import ConfigError
from core.nn.sequence import SequenceBatch, gather_last
from core.tools.diagnostics import AddingModel, adding_loss, adding_problem, hidden_gradient_norms, main


def _last_step_loss(model, batch):
    out, lengths, _ = model(batch.inputs, batch.lengths)
    return gather_last(out, lengths).pow(2).sum()


def test_norms_equal_an_unrolled_loop_with_retained_gradients():
    backbone = build_backbone("rnn", 3, 6)
    cell = backbone.layers[0][0]
    x = torch.randn(2, 12, 3)
    batch = SequenceBatch(x, torch.tensor([12, 12]))
    h, states = torch.zeros(2, 6), []
    for t in range(12):  # the textbook loop, every h_t kept in the graph
        h = torch.tanh(x[:, t] @ cell.weight_ih.T + cell.bias_ih + h @ cell.weight_hh.T + cell.bias_hh)
        h.retain_grad()
        states.append(h)
    h.pow(2).sum().backward()
    expected = [s.grad.norm(dim=-1).mean().item() for s in states]
    curve = hidden_gradient_norms(backbone, batch, _last_step_loss)
    assert curve["norm"] == pytest.approx(expected, rel=1e-4)
    assert expected[0] < expected[-1] and curve["first_over_last"] == pytest.approx(
        expected[0] / expected[-1], rel=1e-4
    )


def test_variable_lengths_average_only_running_sequences_and_bidirectional_works():
    backbone = build_backbone("gru", 2, 5, num_layers=2, bidirectional=True)
    x = torch.randn(2, 10, 2)
    both = hidden_gradient_norms(backbone, SequenceBatch(x, torch.tensor([10, 6])), _last_step_loss)
    alone = hidden_gradient_norms(backbone, SequenceBatch(x[:1], torch.tensor([10])), _last_step_loss)
    assert both["norm"][6:] == pytest.approx(alone["norm"][6:], rel=1e-5)
    assert both["norm"][0] != pytest.approx(alone["norm"][0])
    assert set(both["per_layer"]) == {"layer0", "layer1"} and all(v > 0 for v in both["norm"])
    assert backbone.trace is None  # tracing is switched off again


def test_works_through_a_task_style_loss_and_rejects_models_without_backbone():
    model = AddingModel(cell="mingru", hidden=8)
    batch = adding_problem(4, 30, generator=torch.Generator().manual_seed(0))
    curve = hidden_gradient_norms(model, batch, lambda m, b: (adding_loss(m, b), len(b)))
    assert curve["cell"] == "mingru" and curve["steps"] == 30
    with pytest.raises(ConfigError, match="Backbone"):
        hidden_gradient_norms(nn.Linear(2, 1), batch, adding_loss)


def test_adding_problem_targets_are_the_marked_sums():
    batch = adding_problem(5, 40, generator=torch.Generator().manual_seed(1))
    marked = (batch.inputs[..., 0] * batch.inputs[..., 1]).sum(dim=1)
    torch.testing.assert_close(batch.targets, marked)
    assert torch.all(batch.inputs[..., 1].sum(dim=1) == 2)


def test_cli_writes_json_and_png_and_rnn_vanishes_faster_than_gated_cells(tmp_path):
    code = main(
        [
            "--cells",
            "rnn,gru,mingru",
            "--out",
            str(tmp_path),
            "--steps",
            "60",
            "--hidden",
            "16",
            "--batch",
            "8",
            "--init",
            "chrono",
            "--no-progress",
        ]
    )
    assert code == 0
    result = json.loads((tmp_path / "gradients.json").read_text())
    assert (tmp_path / "gradients.png").stat().st_size > 10_000
    curves = result["curves"]
    assert curves["rnn"]["options"]["init"] == "auto" and curves["gru"]["options"]["init"] == "chrono"
    assert all(len(c["norm"]) == 60 for c in curves.values())
    assert curves["rnn"]["first_over_last"] < 0.1 * curves["gru"]["first_over_last"]
    assert curves["rnn"]["first_over_last"] < 0.1 * curves["mingru"]["first_over_last"]


def test_cli_bad_cell_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["--cells", "rnn,transformer", "--out", str(tmp_path), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert "transformer" in err and "\n" not in err


def test_throughput_is_measured_by_diagnose_and_only_read_by_the_report(tmp_path):
    from core.tools import report_plots

    assert (
        main(
            ["--throughput", "--cells", "gru,mingru", "--hidden", "8", "--batch", "4", "--out", str(tmp_path)]
        )
        == 0
    )
    measured = json.loads((tmp_path / "throughput.json").read_text())
    assert set(measured["cells"]) == {"gru", "mingru"} and measured["hidden"] == 8
    assert all(rate > 0 for curve in measured["cells"].values() for rate in curve["sequences_per_s"])
    assert report_plots.throughput_vs_length(tmp_path, {}).is_file()
    with pytest.raises(FileNotFoundError, match="throughput.json"):
        report_plots.throughput_vs_length(tmp_path / "empty", {})
