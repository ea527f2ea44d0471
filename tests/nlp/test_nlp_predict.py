"""``python -m nlp.predict`` on good and bad input, and broken checkpoints."""

from __future__ import annotations

import torch

from nlp.predict import main
from nlp.vocab import Vocab


def run(capsys, *args) -> tuple[int, list[list[str]], str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, [line.split("\t") for line in captured.out.splitlines()], captured.err


def test_texts_get_a_label_and_probability_in_order(toy_run, capsys):
    best = toy_run / "checkpoints" / "best.pt"
    code, rows, _ = run(
        capsys, "--checkpoint", best, "the plot was very good", "some dull acting but a clever script"
    )
    assert code == 0 and [r[0] for r in rows] == ["1", "2"]
    for row in rows:
        assert row[1] in ("negative", "positive") and 0.5 <= float(row[2]) <= 1.0
    assert rows[0][3] == "the plot was very good"


def test_bad_lines_are_reported_and_the_rest_classified(toy_run, tmp_path, capsys):
    lines = [
        b"a good plot",
        b"",
        b"\x00\x01\x02garbage\xff",
        bytes(range(128, 256)) * 4,
        b"the acting was not bad " * 50_000,
        b"caf\xe9 the plot was dull",
        b"   \t",
    ]
    path = tmp_path / "in.txt"
    path.write_bytes(b"\n".join(lines) + b"\n")
    code, rows, _ = run(capsys, "--checkpoint", toy_run / "checkpoints" / "best.pt", "--file", path)
    assert code == 1 and len(rows) == len(lines)
    by_number = {int(r[0]): r for r in rows}
    assert by_number[1][1] in ("negative", "positive")
    assert by_number[2][1:] == ["SKIPPED", "empty text"] and by_number[7][1:] == ["SKIPPED", "empty text"]
    assert by_number[3][1:] == ["SKIPPED", "binary data (NUL bytes)"]
    assert by_number[4][1:] == ["SKIPPED", "binary data (not text)"]
    assert by_number[5][1] in ("negative", "positive") and "cut to the first 100000" in by_number[5][4]
    assert by_number[6][1] in ("negative", "positive") and "invalid UTF-8" in by_number[6][4]


def _rewrite(source, target, change) -> None:
    state = torch.load(source, weights_only=True)
    change(state)
    torch.save(state, target)


def test_altered_vocabulary_is_a_clear_error(toy_run, tmp_path, capsys):
    best = toy_run / "checkpoints" / "best.pt"
    tampered = tmp_path / "tampered.pt"
    _rewrite(best, tampered, lambda s: s["meta"]["vocab"]["itos"].append("extra"))
    code, _, err = run(capsys, "--checkpoint", tampered, "good")
    assert code == 2 and "fingerprint" in err and len(err.strip().splitlines()) == 1

    def other_vocab(state):  # a consistent vocabulary that does not fit the embedding
        state["meta"]["vocab"] = Vocab.build([["a", "b", "c"]]).to_meta()

    mismatched = tmp_path / "mismatched.pt"
    _rewrite(best, mismatched, other_vocab)
    code, _, err = run(capsys, "--checkpoint", mismatched, "good")
    assert code == 2 and "vocabulary has 5 tokens but the model has an embedding of" in err


def test_missing_checkpoint_and_no_input(tmp_path, capsys):
    code, _, err = run(capsys, "--checkpoint", tmp_path / "none.pt", "text")
    assert code == 2 and err.startswith("error: checkpoint not found")
    code, _, err = run(capsys, "--checkpoint", tmp_path / "none.pt")
    assert code == 2 and "nothing to classify" in err


def test_ensemble_averages_the_members_probabilities(toy_run, tmp_path, capsys):
    best = toy_run / "checkpoints" / "best.pt"
    shifted = tmp_path / "shifted.pt"
    _rewrite(best, shifted, lambda s: s["model"]["head.linear.bias"].add_(torch.tensor([1.5, -1.5])))
    texts = ["the plot was very good", "a dull and lifeless film"]

    def positive_probs(*checkpoints):
        args = [a for c in checkpoints for a in ("--checkpoint", c)]
        code, rows, _ = run(capsys, *args, *texts)
        assert code == 0
        return [float(r[2]) if r[1] == "positive" else 1 - float(r[2]) for r in rows]

    alone, other = positive_probs(best), positive_probs(shifted)
    assert all(abs(a - b) > 0.05 for a, b in zip(alone, other))  # the members really differ
    both = positive_probs(best, shifted)
    assert all(abs(m - (a + b) / 2) < 2e-3 for m, a, b in zip(both, alone, other))  # printed with 3 decimals


def test_ensemble_members_must_share_classes(toy_run, tmp_path, capsys):
    best = toy_run / "checkpoints" / "best.pt"
    renamed = tmp_path / "renamed.pt"
    _rewrite(best, renamed, lambda s: s["meta"].update(classes=["neg", "pos"]))
    code, _, err = run(capsys, "--checkpoint", best, "--checkpoint", renamed, "good")
    assert (
        code == 2
        and "renamed.pt: classes ['neg', 'pos'] differ" in err
        and len(err.strip().splitlines()) == 1
    )
