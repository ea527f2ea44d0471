"""benchmarks.nlp_vectors: rows, seeds statistics and the markdown section come from the run folders."""

from __future__ import annotations

import json

from benchmarks.nlp_vectors import collect, markdown, write_section


def finished(folder, accuracy, seconds=120.0):
    folder.mkdir(parents=True)
    (folder / "final.json").write_text(json.dumps({"test": {"accuracy": accuracy}, "train_seconds": seconds}))


def test_collect_groups_seeds_and_baselines(tmp_path):
    log = tmp_path / "exp.log"
    names = ["sst2p-glove-s0", "sst2p-glove-s1", "sst2p-glove-s2", "sst2p-nbsvm", "sst5-glove-s0"]
    log.write_text(
        "noise\n"
        + "".join(
            f"=== 10:00:0{i} {n}: python -m nlp.train --data x --seed {i}\n" for i, n in enumerate(names)
        )
    )
    for name, accuracy in zip(names[:4], (0.86, 0.88, 0.87, 0.83)):
        finished(tmp_path / f"nlp-{name}", accuracy)
    tasks = collect(log, tmp_path)  # sst5 has no final.json yet: left out
    assert set(tasks) == {"sst2p"}
    summary = tasks["sst2p"]["summary"]["glove"]
    assert summary["median"] == 0.87 and summary["values"] == [0.86, 0.88, 0.87]
    assert tasks["sst2p"]["baselines"]["nbsvm"]["command"] == "python -m nlp.train --data x --seed 3"
    page = tmp_path / "RESULTS.md"
    page.write_text("# Results\n\nkept\n")
    write_section(page, markdown(tasks))
    write_section(page, markdown(tasks))  # replaced, not appended twice
    text = page.read_text()
    assert (
        text.count("SST-2 (phrases) | BiLSTM-150, GloVe-50d (static + trained) | 87.0%") == 1
        and "kept" in text
        and "| 83.0% | 87.5% |" in text
    )


def test_an_ensemble_eval_becomes_its_own_row(tmp_path):
    from benchmarks.nlp_vectors import ensemble_row

    log = tmp_path / "exp.log"
    log.write_text(
        "".join(f"=== 10:00:0{i} imdb-glove-s{i}: python -m nlp.train --seed {i}\n" for i in range(2))
    )
    for i, accuracy in enumerate((0.89, 0.88)):
        finished(tmp_path / f"nlp-imdb-glove-s{i}", accuracy)
    members = [str(tmp_path / f"nlp-imdb-glove-s{i}" / "checkpoints" / "best.pt") for i in range(2)]
    evaluated = tmp_path / "ens.json"
    evaluated.write_text(
        json.dumps({"checkpoints": members, "items": 24996, "split": "test", "metrics": {"accuracy": 0.9012}})
    )
    tasks = collect(log, tmp_path)
    tasks["imdb"]["ensemble"] = ensemble_row(evaluated)
    assert tasks["imdb"]["ensemble"]["command"].startswith(f"rnnsuite eval --checkpoint {members[0]}")
    text = markdown(tasks)
    assert (
        "| IMDB | ensemble of 2 seeds (BiLSTM-150, GloVe-50d (static + trained); mean probabilities" in text
    )
    assert "| 90.1% | - |" in text
