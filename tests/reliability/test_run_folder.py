"""--out: validated before it is touched, never wiped, locked while a run uses it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from core_toy_domain import DOMAIN

from core.engine.run import train_main

QUIET = ["--no-progress", "--n-train", "64", "--epochs", "1"]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("finished") / "run"
    assert train_main(DOMAIN, [*QUIET, "--out", str(out)]) == 0
    return out


@pytest.fixture()
def run_copy(finished, tmp_path) -> Path:
    import shutil

    return Path(shutil.copytree(finished, tmp_path / "run"))


def test_new_run_into_a_finished_run_is_refused_and_changes_nothing(snapshot, run_copy, refused):
    before = snapshot(run_copy)
    refused(train_main(DOMAIN, [*QUIET, "--out", str(run_copy)]), "holds a run", "--overwrite", "--resume")
    assert snapshot(run_copy) == before


def test_new_run_into_a_resumable_run_is_refused(snapshot, run_copy, refused):
    (run_copy / "final.json").unlink()
    (run_copy / "checkpoints" / "best.pt").unlink()
    before = snapshot(run_copy)
    refused(train_main(DOMAIN, [*QUIET, "--out", str(run_copy)]), "checkpoints/last.pt")
    assert snapshot(run_copy) == before


def test_overwrite_with_bad_input_still_changes_nothing(snapshot, run_copy, tmp_path, refused):
    """Everything is validated before --out is touched, even when --overwrite allows replacing it."""
    before = snapshot(run_copy)
    refused(
        train_main(
            DOMAIN,
            [*QUIET, "--out", str(run_copy), "--overwrite", "--init-backbone", str(tmp_path / "absent.pt")],
        ),
        "--init-backbone",
        "absent.pt",
    )
    small = tmp_path / "small.pt"
    from core_toy_domain import META, ToyConfig, build_model, checkpoint_of

    from core.engine.checkpoint import save_checkpoint

    save_checkpoint(small, checkpoint_of(build_model(ToyConfig(hidden=8), META), hidden=8))
    refused(
        train_main(DOMAIN, [*QUIET, "--out", str(run_copy), "--overwrite", "--init-backbone", str(small)]),
        "--init-backbone",
        "does not match",
    )
    assert snapshot(run_copy) == before


def test_overwrite_moves_the_earlier_run_aside(snapshot, run_copy, capsys):
    before = snapshot(run_copy)
    assert train_main(DOMAIN, [*QUIET, "--out", str(run_copy), "--overwrite", "--seed", "3"]) == 0
    (previous,) = (run_copy / "previous").iterdir()
    assert snapshot(previous) == before  # every file of the earlier run, byte for byte
    assert json.loads((run_copy / "final.json").read_text())["epochs"] == 1
    assert "moved to" in capsys.readouterr().err


def test_resume_and_overwrite_together_are_refused(run_copy, refused):
    refused(
        train_main(DOMAIN, [*QUIET, "--out", str(run_copy), "--resume", "--overwrite"]),
        "--resume",
        "--overwrite",
    )


@pytest.mark.parametrize("flag", [["--hidden", "8"], ["--n-train", "32"], ["--seed", "5"], ["--lr", "0.5"]])
def test_resume_with_changed_settings_is_refused(snapshot, run_copy, refused, flag):
    before = snapshot(run_copy)
    refused(train_main(DOMAIN, [*QUIET, "--out", str(run_copy), "--resume", *flag]), "--resume", flag[0])
    assert snapshot(run_copy) == before


def test_resume_with_data_that_gives_another_pipeline_is_refused(run_copy, refused, monkeypatch):
    import dataclasses

    from core_toy_domain import build_data

    def other_meta(cfg):
        bundle = build_data(cfg)
        return dataclasses.replace(bundle, meta={**bundle.meta, "input_size": 5})

    domain = dataclasses.replace(DOMAIN, build_data=other_meta)
    refused(train_main(domain, [*QUIET, "--out", str(run_copy), "--resume"]), "--resume", "'input_size'")


@pytest.mark.parametrize("case", ["file", "under-file", "broken-link", "link-loop-parent"])
def test_unusable_out_is_one_line(tmp_path, refused, case):
    target = tmp_path / "a-file"
    target.write_text("keep me")
    out = {"file": target, "under-file": target / "run"}.get(case)
    if case == "broken-link":
        out = tmp_path / "dangling"
        out.symlink_to(tmp_path / "nowhere")
    if case == "link-loop-parent":
        (tmp_path / "loop").symlink_to(tmp_path / "loop")
        out = tmp_path / "loop" / "run"
    refused(train_main(DOMAIN, [*QUIET, "--out", str(out)]), "--out")
    assert target.read_text() == "keep me"


def test_unwritable_out_is_one_line(tmp_path, refused):
    if os.geteuid() == 0:  # root writes anywhere: /proc refuses new folders even to root
        out = Path("/proc/rnnsuite-reliability/run")
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        out = locked / "run"
    refused(train_main(DOMAIN, [*QUIET, "--out", str(out)]), "--out", str(out))


HOLDER = """
import sys, time
from pathlib import Path
from core.engine import rundir
with rundir.claim(Path(sys.argv[1]), resume=False, overwrite=False):
    print("locked", flush=True)
    time.sleep(120)
"""


def test_second_run_refuses_a_locked_folder_and_a_crash_releases_the_lock(tmp_path, refused):
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(out)], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        refused(train_main(DOMAIN, [*QUIET, "--out", str(out)]), "in use by another run", f"pid {holder.pid}")
    finally:
        holder.send_signal(signal.SIGKILL)  # a crash: the kernel drops the lock with the process
        holder.wait(timeout=30)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if train_main(DOMAIN, [*QUIET, "--out", str(out)]) == 0:
            break
        time.sleep(0.2)
    assert (out / "final.json").is_file()


def test_resume_from_weights_that_do_not_fit_changes_nothing(run_copy, snapshot, refused):
    from core_toy_domain import META, ToyConfig, build_model, checkpoint_of

    from core.engine.checkpoint import save_checkpoint

    small = build_model(ToyConfig(hidden=8), META)  # its config below says 16
    save_checkpoint(run_copy / "checkpoints" / "last.pt", checkpoint_of(small, n_train=64, epochs=1))
    before = snapshot(run_copy)
    refused(train_main(DOMAIN, [*QUIET, "--out", str(run_copy), "--resume"]), "does not match the model")
    assert snapshot(run_copy) == before
