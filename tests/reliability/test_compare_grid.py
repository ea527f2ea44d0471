"""``rnnsuite compare``: grid names checked against the registries before any run; failures exit non-zero."""

from __future__ import annotations

import json

import pytest

from core.tools import compare

BAD_GRIDS = {
    "path-escape": (
        'cells: ["../../../../escaped"]\nhidden: [8]\n',
        "'cells': unknown '../../../../escaped'",
    ),
    "string-not-list": ("cells: gru\nhidden: [8]\n", "'cells' must be a list"),
    "number-not-list": ("cells: [gru]\nhidden: 8\n", "'hidden' must be a list"),
    "number-cell": ("cells: [7]\nhidden: [8]\n", "'cells' must be a list"),
    "number-cells": ("cells: 5\n", "'cells' must be a list"),
    "unknown-cell": ("cells: [gru, transformer]\nhidden: [8]\n", "unknown 'transformer'"),
    "unknown-domain": ("domains: [nlp, klingon]\ncells: [gru]\n", "unknown 'klingon'"),
    "unknown-key": ("cell: [gru]\n", "unknown field(s) ['cell']"),
    "zero-hidden": ("cells: [gru]\nhidden: [0]\n", "'hidden'"),
    "huge-hidden": ("cells: [gru]\nhidden: [100000000]\n", "'hidden'"),
    "bool-hidden": ("cells: [gru]\nhidden: [true]\n", "'hidden'"),
    "negative-epochs": ("cells: [gru]\nepochs: -1\n", "'epochs'"),
    "text-minutes": ("cells: [gru]\nmax_minutes: soon\n", "'max_minutes'"),
    "inf-minutes": ("cells: [gru]\nmax_minutes: .inf\n", "'max_minutes'"),
    "domain-args-escape": ("domain_args: {'../x': ['--epochs', '1']}\n", "unknown '../x'"),
    "domain-args-string": ("domain_args: {nlp: 5}\n", "'domain_args.nlp'"),
    "extra-mapping": ("extra: {a: 1}\n", "'extra'"),
    "not-a-mapping": ("- gru\n- lstm\n", "must hold a mapping"),
    "not-yaml": ("cells: [gru\n", "cannot read grid file"),
}


@pytest.mark.parametrize("case", sorted(BAD_GRIDS))
def test_bad_grid_is_refused_before_any_run(tmp_path, refused, case):
    content, fragment = BAD_GRIDS[case]
    grid = tmp_path / "grid.yaml"
    grid.write_text(content)
    out = tmp_path / "a" / "b" / "c" / "d" / "out"
    refused(compare.main(["--grid", str(grid), "--out", str(out)]), fragment)
    assert not (tmp_path / "a").exists() and not (tmp_path / "escaped").exists()


@pytest.mark.parametrize(
    "flags, fragment",
    [
        (["--cells", "lstm", "nosuchcell"], "unknown 'nosuchcell'"),
        (["--hidden", "abc"], "--hidden"),
        (["--bogus"], "--bogus"),
        (["--domains", "../x"], "unknown '../x'"),
        (["--max-minutes", "inf"], "'max_minutes'"),
    ],
)
def test_bad_flag_is_refused_before_any_run(tmp_path, refused, flags, fragment):
    out = tmp_path / "out"
    refused(compare.main([*flags, "--out", str(out)]), fragment)
    assert not out.exists()


@pytest.mark.slow
def test_a_failed_run_makes_compare_exit_non_zero_with_the_report_written(tmp_path, capsys):
    out = tmp_path / "out"
    code = compare.main(
        [
            "--domains",
            "nlp",
            "--cells",
            "gru",
            "--hidden",
            "8",
            "--no-baselines",
            "--out",
            str(out),
            f"--extra=--data {tmp_path / 'absent.csv'}",
        ]
    )
    err = capsys.readouterr().err
    assert code == 1 and "1 of 1 runs failed: nlp/gru-h8" in err
    runs = json.loads((out / "compare.json").read_text())["runs"]
    assert [r["status"] for r in runs] == ["failed"] and "absent.csv" in runs[0]["note"]
    assert "failed" in (out / "report.md").read_text()


def test_out_that_is_a_file_is_refused(tmp_path, refused):
    target = tmp_path / "results"
    target.write_text("keep me")
    refused(compare.main(["--cells", "gru", "--out", str(target)]), "--out", "is a file")
    refused(compare.main(["--cells", "gru", "--out", str(target / "grid")]), "--out", "is a file")
    assert target.read_text() == "keep me"
