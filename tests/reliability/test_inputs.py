"""Bad flags, text tables and images: one line naming the file or field, exit 2, nothing lost."""

from __future__ import annotations

import io
import logging
import struct
import sys
import zlib
from pathlib import Path

import pytest
from PIL import Image

import nlp.predict
import speech.transcribe
import vision.predict
from core.engine.run import train_main
from nlp.train import DOMAIN as NLP
from vision.train import DOMAIN as VISION

TINY = ["--hidden", "8", "--epochs", "1", "--no-progress", "--cell", "gru"]


def reviews_csv(path: Path, *, text_column: str = "text", bad_bytes_at: tuple[int, ...] = ()) -> Path:
    words = {"pos": "superb lovely", "neg": "awful dreadful"}
    lines = [f"{text_column},label".encode()]
    for i in range(60):
        label = ("pos", "neg")[i % 2]
        text = f"a {words[label]} film number {i}".encode()
        lines.append(text + (b" caf\xe9" if i + 2 in bad_bytes_at else b"") + f",{label}".encode())
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_a_failing_run_with_bad_data_leaves_the_earlier_run_whole(tmp_path, snapshot, refused):
    """A good csv trained into R, then a csv without its text column into R."""
    run = tmp_path / "R"
    good = ["--data", str(reviews_csv(tmp_path / "good.csv")), *TINY]
    assert train_main(NLP, [*good, "--out", str(run)]) == 0
    before = snapshot(run)
    bad = ["--data", str(reviews_csv(tmp_path / "bad.csv", text_column="review")), *TINY, "--out", str(run)]
    refused(train_main(NLP, bad), "holds a run")
    refused(train_main(NLP, [*bad, "--overwrite"]), "bad.csv", "no column 'text'")
    assert snapshot(run) == before and not (run / "previous").exists()


BAD_FLAGS = {
    "lr-inf": (["--lr", "inf"], "--lr must be a finite number"),
    "lr-nan": (["--lr", "nan"], "--lr must be a finite number"),
    "max-minutes-inf": (["--max-minutes", "inf"], "--max-minutes must be a finite number"),
    "weight-decay-inf": (["--weight-decay", "inf"], "--weight-decay must be a finite number"),
    "hidden-huge": (["--hidden", "100000000"], "--hidden must be at most"),
    "layers-huge": (["--layers", "100000"], "--layers must be at most"),
    "embed-dim-huge": (["--embed-dim", "100000000"], "--embed-dim must be at most"),
    "same-columns": (["--text-column", "label"], "--text-column and --label-column must differ"),
    "hidden-text": (["--hidden", "wide"], "--hidden"),
}


@pytest.mark.parametrize("case", sorted(BAD_FLAGS))
def test_bad_training_flag_is_one_line(tmp_path, refused, case):
    flags, fragment = BAD_FLAGS[case]
    refused(train_main(NLP, [*flags, "--out", str(tmp_path / "run")]), fragment)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("case", ["size-huge", "size-zero"])
def test_bad_vision_size_is_one_line(tmp_path, refused, case):
    size = {"size-huge": "100000", "size-zero": "0"}[case]
    refused(train_main(VISION, ["--size", size, "--out", str(tmp_path / "run")]), "--size must be between")


def test_invalid_utf8_in_a_csv_is_reported_with_its_lines(tmp_path, caplog):
    path = reviews_csv(tmp_path / "latin.csv", bad_bytes_at=(4, 9))
    with caplog.at_level(logging.WARNING, logger="rnnsuite.nlp"):
        assert train_main(NLP, ["--data", str(path), *TINY, "--out", str(tmp_path / "run")]) == 0
    assert "2 lines held bytes that are not valid utf-8" in caplog.text and "first at line 4" in caplog.text


def test_invalid_utf8_in_strict_mode_names_the_line(tmp_path, refused):
    path = reviews_csv(tmp_path / "latin.csv", bad_bytes_at=(7,))
    refused(
        train_main(NLP, ["--data", str(path), "--encoding-errors", "strict", "--out", str(tmp_path / "r")]),
        "latin.csv:7:",
        "not valid utf-8",
    )


@pytest.mark.parametrize("value", ["-1", "0"])
def test_predict_max_chars_must_be_positive(runs, refused, value):
    refused(nlp.predict.main(["--checkpoint", str(runs["nlp"]), "--max-chars", value, "fine"]), "--max-chars")


def test_predict_reads_standard_input(runs, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"a superb film\n\nawful\n")))
    assert (
        nlp.predict.main(["--checkpoint", str(runs["nlp"]), "--file", "-"]) == 1
    )  # the blank line is skipped
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in lines] == ["1", "2", "3"] and "SKIPPED" in lines[1]


@pytest.mark.parametrize("flags", [["--beam", "-3"], ["--lm-weight", "nan"], ["--max-seconds", "-1"]])
def test_transcribe_flags_out_of_range(runs, tmp_path, refused, flags):
    refused(
        speech.transcribe.main(["--checkpoint", str(runs["speech"]), str(tmp_path / "x.wav"), *flags]),
        flags[0],
    )


def decompression_bomb(path: Path, side: int = 20000) -> Path:
    """A PNG whose header claims side x side grey pixels (PIL refuses to decode it at open)."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (side + 1) * 4)  # a few rows: the header alone triggers the check
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )
    return path


def image_folder(root: Path, classes: tuple[str, ...] = ("dark", "light"), per_class: int = 15) -> Path:
    for k, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            Image.new("L", (8, 8), 40 + 170 * k + i).save(root / name / f"{i}.png")
    return root


def test_decompression_bomb_is_skipped_in_training_with_one_line(tmp_path, capsys):
    folder = image_folder(tmp_path / "images")
    decompression_bomb(folder / "dark" / "bomb.png")
    assert (
        train_main(VISION, ["--data", str(folder), "--size", "8", *TINY, "--out", str(tmp_path / "run")]) == 0
    )
    skipped = [line for line in capsys.readouterr().err.splitlines() if "bomb.png" in line]
    assert len(skipped) == 1 and "not a readable image" in skipped[0]


def test_decompression_bomb_in_predict_fails_that_file_only(runs, tmp_path, capsys):
    good = tmp_path / "good.png"
    Image.new("L", (8, 8), 90).save(good)
    bomb = decompression_bomb(tmp_path / "bomb.png")
    assert vision.predict.main(["--checkpoint", str(runs["vision"]), str(bomb), str(good)]) == 1
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "bomb.png: not a readable image" in captured.err
    assert captured.out.startswith(str(good))


def test_an_image_folder_with_one_class_is_refused(tmp_path, refused):
    folder = image_folder(tmp_path / "images", classes=("only",))
    refused(
        train_main(VISION, ["--data", str(folder), "--out", str(tmp_path / "run")]),
        "one class only",
        "'only'",
    )
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "flags", [["--mode", "columns"], ["--data", "digits", "--limit-train", "150"], ["--split-seed", "4"]]
)
def test_resume_with_changed_data_shaping_flags_is_refused(runs, tmp_path, snapshot, refused, flags):
    import shutil

    run = Path(shutil.copytree(runs["vision"].parent.parent, tmp_path / "run"))
    before = snapshot(run)
    refused(
        train_main(VISION, ["--no-progress", "--out", str(run), "--resume", *flags]), "--resume", flags[-2]
    )
    assert snapshot(run) == before


def test_cross_validation_again_keeps_every_earlier_result(tmp_path, refused):
    from nlp.train import main

    out = tmp_path / "cv"
    flags = [
        "--data",
        str(reviews_csv(tmp_path / "r.csv")),
        "--cv",
        "3",
        "--baseline",
        "tfidf",
        "--no-progress",
        "--out",
        str(out),
    ]
    assert main(flags) == 0
    first = (out / "cv.json").read_text()
    refused(main(flags), "fold-0", "holds a run")
    assert main([*flags, "--overwrite"]) == 0
    assert [p.read_text() for p in out.glob("previous/*/cv.json")] == [first]
    assert all(len(list(out.glob(f"fold-{k}/previous/*/final.json"))) == 1 for k in range(3))


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "symlink-out", "hardlink-out"])
def test_hostile_archive_members_are_refused_and_leave_nothing(tmp_path, kind):
    import io
    import tarfile

    from core.errors import DataError
    from nlp.download import unpack

    archive = tmp_path / "evil.tar"
    with tarfile.open(archive, "w") as tar:
        good = tarfile.TarInfo("aclImdb/train/pos/0_9.txt")
        good.size = 5
        tar.addfile(good, io.BytesIO(b"great"))
        evil = tarfile.TarInfo(
            {"dotdot": "aclImdb/../../escaped.txt", "absolute": str(tmp_path / "escaped.txt")}.get(
                kind, "aclImdb/link"
            )
        )
        if kind == "symlink-out":
            evil.type, evil.linkname = tarfile.SYMTYPE, "/etc/passwd"
        elif kind == "hardlink-out":
            evil.type, evil.linkname = tarfile.LNKTYPE, "../../outside.txt"
        else:
            evil.size = 4
        tar.addfile(evil, io.BytesIO(b"evil") if evil.isfile() else None)
    root = tmp_path / "data"
    root.mkdir()
    with pytest.raises(DataError, match="evil.tar: cannot unpack"):
        unpack(archive, root / "aclImdb", member="aclImdb")
    assert list(root.iterdir()) == []  # nothing unpacked, no staging folder left
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path.parent / "escaped.txt").exists()
