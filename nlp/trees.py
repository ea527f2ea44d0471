"""The Stanford Sentiment Treebank as PTB trees: every node carries a 0-4 sentiment label.

    (3 (2 (2 The) (2 Rock)) (4 (2 is) ...))

A leaf is ``(label text)`` where the text runs to the closing bracket and may hold a space
(``(2 8 1\\/2)`` is the one leaf "8 1/2"; the real files write that space as U+00A0).
PTB escapes are undone (``-LRB-`` -> "(", ``\\/`` -> "/", ``\\*`` -> "*", ````` and ``''`` -> '"'),
so phrases read like the sentences a user would type. An unbalanced line is a DataError naming the file and line.

Datasets built from the trees (Socher et al. 2013; Kim 2014; Tai et al. 2015):

- ``sst5``: training on every distinct phrase of the training trees (159,273, five classes),
  validation and test on the root sentences of dev and test (1,101 / 2,210);
- ``sst2-phrases``: the same with neutral phrases dropped (0-1 negative, 3-4 positive): 77,616
  training phrases, validation and test on the binary roots (872 / 1,821).

A phrase that occurs in several trees is kept once (the treebank labels each distinct phrase once).

Example:
    >>> tree = parse_tree("(3 (2 (2 8 1\\\\/2) (2 Mile)) (4 rocks))")
    >>> tree.label, tree.text, [(p.label, p.text) for p in tree.phrases()][:2]
    (3, '8 1/2 Mile rocks', [(3, '8 1/2 Mile rocks'), (2, '8 1/2 Mile')])
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import DataError

SST5_CLASSES = ("0 very negative", "1 negative", "2 neutral", "3 positive", "4 very positive")
"""Numbered so that the sorted class list keeps the scale in order."""
_UNESCAPE = {"-LRB-": "(", "-RRB-": ")", "-LCB-": "{", "-RCB-": "}", "``": '"', "''": '"'}


@dataclass
class Node:
    """One labelled span: a leaf holds ``word``, an inner node its ``children``."""

    label: int
    word: str = ""
    children: list[Node] = field(default_factory=list)

    @property
    def words(self) -> list[str]:
        if not self.children:
            return [self.word]
        return [w for child in self.children for w in child.words]

    @property
    def text(self) -> str:
        return " ".join(self.words)

    def phrases(self) -> Iterator[Node]:
        """Every node, root first (pre-order)."""
        yield self
        for child in self.children:
            yield from child.phrases()


def _unescape(word: str) -> str:
    word = _UNESCAPE.get(word, word)
    return word.replace("\\/", "/").replace("\\*", "*")


def _label(text: str, where: str) -> int:
    if text not in ("0", "1", "2", "3", "4"):
        raise DataError(f"{where}: label {text!r} is not one of 0-4")
    return int(text)


def parse_tree(line: str, where: str = "tree") -> Node:
    """One bracketed tree; DataError naming ``where`` for unbalanced brackets or a bad label."""
    stack: list[Node] = []
    root, pos, end = None, 0, len(line)
    while pos < end:
        char = line[pos]
        if char == "(":
            if root is not None:
                raise DataError(f"{where}: text after the closing bracket of the tree (unbalanced brackets)")
            space = line.find(" ", pos)
            if space < 0:
                raise DataError(f"{where}: unbalanced brackets (node at column {pos + 1} never closes)")
            node = Node(_label(line[pos + 1 : space], where))
            pos = space + 1
            if line[pos : pos + 1] != "(":  # a leaf: the word runs to the next ")"
                close = line.find(")", pos)
                if close < 0:
                    raise DataError(f"{where}: unbalanced brackets (leaf at column {pos + 1} never closes)")
                node.word, pos = _unescape(line[pos:close]), close  # the ")" below closes this leaf
            if stack:
                stack[-1].children.append(node)
            stack.append(node)
        elif char == ")":
            if not stack:
                raise DataError(f"{where}: unbalanced brackets (')' at column {pos + 1} closes nothing)")
            closed = stack.pop()
            root = closed if not stack else root
            pos += 1
        else:
            pos += 1  # spaces between siblings
    if stack or root is None:
        raise DataError(
            f"{where}: unbalanced brackets ({len(stack)} node(s) left open)"
            if stack
            else f"{where}: no tree on this line"
        )
    return root


def read_trees(path: Path) -> list[Node]:
    """Every tree of a PTB file (one a line, blank lines ignored)."""
    try:
        raw = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: cannot read ({getattr(err, 'strerror', None) or err})") from None
    return [
        parse_tree(line.strip(), f"{path}:{number}")
        for number, line in enumerate(raw.split("\n"), start=1)
        if line.strip()
    ]


def binary_label(label: int) -> str | None:
    """SST-2's mapping: 0-1 negative, 3-4 positive, 2 (neutral) dropped."""
    return None if label == 2 else ("negative" if label < 2 else "positive")


def sentence_rows(trees: list[Node], *, classes: str) -> list[tuple[str, str]]:
    """(text, label) of every root: ``classes`` "sst5" (five labels) or "sst2" (neutral dropped)."""
    if classes == "sst5":
        return [(tree.text, SST5_CLASSES[tree.label]) for tree in trees]
    return [(tree.text, label) for tree in trees if (label := binary_label(tree.label))]


def phrase_rows(trees: list[Node], *, classes: str = "sst2") -> list[tuple[str, str]]:
    """Every distinct phrase of ``trees`` with its label (``classes`` as in ``sentence_rows``), first-seen order."""
    seen: dict[str, str] = {}
    for tree in trees:
        for node in tree.phrases():
            label = SST5_CLASSES[node.label] if classes == "sst5" else binary_label(node.label)
            if label and node.text not in seen:
                seen[node.text] = label
    return list(seen.items())


def read_sst_trees(folder: Path, dataset: str) -> dict[str, list[tuple[str, str]]]:
    """train (phrases) / val / test (root sentences) of ``dataset`` (sst5 | sst2-phrases) from ``folder``."""
    classes = "sst5" if dataset == "sst5" else "sst2"
    trees = {
        split: read_trees(Path(folder) / f"{name}.txt")
        for split, name in (("train", "train"), ("val", "dev"), ("test", "test"))
    }
    rows = {split: sentence_rows(t, classes=classes) for split, t in trees.items()}
    rows["train"] = phrase_rows(trees["train"], classes=classes)
    return rows
