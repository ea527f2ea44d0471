"""Helpers of the reliability suite: every bad input ends in one line on stderr, exit 2, nothing lost."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest


def take_snapshot(folder: Path) -> dict[str, str]:
    """Relative path -> sha1 of every file under ``folder`` (what a failed run must leave untouched)."""
    return {str(p.relative_to(folder)): hashlib.sha1(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != ".lock"}


def assert_one_line(err: str, *fragments: str) -> None:
    """``err`` is exactly one line starting with ``error:`` and naming every fragment."""
    assert err.count("\n") == 1 and err.startswith("error: "), err
    for fragment in fragments:
        assert fragment in err, err


@pytest.fixture()
def refused(capsys):
    """``refused(code, *fragments)``: exit status 2 and one error line naming the fragments."""
    def check(code: int, *fragments: str) -> str:
        err = capsys.readouterr().err
        assert code == 2, err
        assert_one_line(err, *fragments)
        return err

    return check


@pytest.fixture()
def snapshot():
    return take_snapshot
