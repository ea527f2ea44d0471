"""SST trees: the parser on synthetic lines and the real treebank's counts."""

from __future__ import annotations

from collections import Counter

import pytest

from core.errors import DataError
from nlp.sources import read_source
from nlp.train import NlpConfig
from nlp.trees import SST5_CLASSES, parse_tree, phrase_rows, read_trees, sentence_rows


def test_leaf_with_a_space_and_escapes_is_one_word():
    tree = parse_tree(r"(3 (2 (2 8 1\/2) (2 -LRB-Mile-RRB-)) (4 (2 ``) (4 rocks\*)))")
    leaves = [node.word for node in tree.phrases() if not node.children]
    assert leaves == ["8 1/2", "-LRB-Mile-RRB-", '"', "rocks*"]
    assert parse_tree("(2 (1 -LRB-) (2 x))").text == "( x"
    assert [node.label for node in tree.phrases()] == [3, 2, 2, 2, 4, 2, 4]


@pytest.mark.parametrize(
    "line, problem",
    [
        ("(3 (2 a) (2 b)", "left open"),
        ("(3 (2 a) (2 b)))", "closes nothing"),
        ("(3 (2 a", "never closes"),
        ("(3 (2 a)) (2 b)", "after the closing bracket"),
        ("(7 (2 a) (2 b))", "label '7'"),
    ],
)
def test_bad_tree_is_one_line_naming_file_and_line(tmp_path, line, problem):
    path = tmp_path / "train.txt"
    path.write_text("(2 (2 fine) (2 tree))\n" + line + "\n")
    with pytest.raises(DataError) as err:
        read_trees(path)
    message = str(err.value)
    assert message.startswith(f"{path}:2: ") and problem in message and "\n" not in message


def test_phrases_are_distinct_and_drop_neutral():
    trees = [parse_tree("(4 (3 good) (2 film))"), parse_tree("(1 (1 bad) (2 film))"), parse_tree("(3 good)")]
    assert phrase_rows(trees) == [
        ("good film", "positive"),
        ("good", "positive"),
        ("bad film", "negative"),
        ("bad", "negative"),
    ]


@pytest.mark.data
def test_real_treebank_counts(data_dir):
    folder = data_dir / "sentiment" / "sst-trees"
    train = read_trees(folder / "train.txt")
    assert len(train) == 8544
    nbsp_leaf = [n.word for n in train[4341].phrases() if not n.children and "1/2" in n.word]
    assert nbsp_leaf == ["8\u00a01/2"]  # line 4342: a leaf whose word holds a (no-break) space
    sst2 = read_source(NlpConfig(data="sst2-phrases", progress=False))
    assert {k: len(v) for k, v in sst2.items()} == {"train": 77616, "val": 872, "test": 1821}
    sst5 = read_source(NlpConfig(data="sst5", progress=False))
    assert {k: len(v) for k, v in sst5.items()} == {"train": 159273, "val": 1101, "test": 2210}
    roots = Counter(label for _, label in sst5["test"])
    assert [roots[name] for name in SST5_CLASSES] == [279, 633, 389, 510, 399]  # the README's counts
    binary_roots = [
        sentence_rows(read_trees(folder / f"{name}.txt"), classes="sst2") for name in ("train", "dev")
    ]
    assert [len(rows) for rows in binary_roots] == [6920, 872]
    assert set(sst2["train"]) >= set(binary_roots[0])  # every root sentence is one of the phrases
