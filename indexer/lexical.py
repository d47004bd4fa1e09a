"""The lexical indexes: BM25 over a build's units, in three fields, as bm25s sparse matrices.

    bm25     the unit's jieba words (the build's stored tokens: nearest heading + text)
    bigram   the Chinese character bigrams of the unit's text
    heading  the jieba words of the unit's heading path

Scores are BM25Okapi's (rank_bm25, which this replaced): k1 1.5, b 0.75, term frequency
tf·(k1+1)/(tf + k1·(1−b+b·dl/avgdl)), idf log((N−df+0.5)/(df+0.5)) with a negative idf (a word in
more than half the units) floored at 0.25 × the average idf. bm25s has the same term frequency
("atire") but no such floor: its "robertson" idf floors at 0 and its others are always positive and
differ in scale. So each field is indexed with bm25s (method "atire", idf "lucene", which is positive
for every word and so keeps every unit-word pair in the matrix) and each word's column is then rescaled
from the lucene idf to the Okapi one: the scores equal rank_bm25's to float rounding
(docs/retrieval.md has the measured comparison). The matrices are float64, so near ties order as before.

A build writes the three indexes into its folder (``save``, under ``lexical/``, the marker
``lexical.json`` last); an index opens them memory-mapped (``load``). A build without them (older
builds, the Chroma-server store) builds them in memory when it opens.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from collections import Counter
from pathlib import Path

import numpy as np

from indexer.tokenize import to_simplified, tokens

K1, B, EPSILON = 1.5, 0.75, 0.25
FIELDS = ("bm25", "bigram", "heading")
VERSION = "okapi-1"  # changes when the scoring or the fields change: older saved indexes are then rebuilt
MARKER = "lexical.json"


def bigrams(text: str) -> list[str]:
    """Overlapping character pairs of the Chinese in a text (traditional folded to simplified)."""
    han = "".join(re.findall(r"[\u4e00-\u9fff]+", to_simplified(text)))
    return [han[i:i + 2] for i in range(len(han) - 1)]


def heading_tokens(unit) -> list[str]:
    return tokens(" ".join(unit.context())) or ["_"]


def field_corpus(units, unit_tokens: list[list[str]]) -> dict[str, list[list[str]]]:
    """Each field's token lists, one per unit, in unit order."""
    return {"bm25": unit_tokens, "bigram": [bigrams(u.text) for u in units],
            "heading": [heading_tokens(u) for u in units]}


def okapi_idf(df: np.ndarray, n: int) -> np.ndarray:
    """rank_bm25's BM25Okapi idf for document frequencies ``df`` among ``n`` documents."""
    idf = np.log(n - df + 0.5) - np.log(df + 0.5)
    floor = EPSILON * (idf.sum() / len(idf)) if len(idf) else 0.0
    return np.where(idf < 0, floor, idf)


class Lexical:
    """One field's BM25 index."""

    def __init__(self, bm25) -> None:
        self.bm25 = bm25
        self.size = int(bm25.scores["num_docs"])

    @classmethod
    def build(cls, corpus: list[list[str]]) -> "Lexical":
        import bm25s

        bm25 = bm25s.BM25(k1=K1, b=B, method="atire", idf_method="lucene", dtype="float64")
        bm25.index(corpus, show_progress=False)
        n = len(corpus)
        df = Counter(t for doc in corpus for t in set(doc))
        indptr = bm25.scores["indptr"]
        columns = len(indptr) - 1
        counts = np.zeros(columns)
        for word, column in bm25.vocab_dict.items():
            if column < columns:  # the empty token bm25s adds to the vocabulary has no column
                counts[column] = df.get(word, 0)
        present = counts > 0
        factor = np.ones(columns)
        lucene = np.log1p((n - counts[present] + 0.5) / (counts[present] + 0.5))
        factor[present] = okapi_idf(counts[present], n) / lucene
        bm25.scores["data"] = bm25.scores["data"] * np.repeat(factor, np.diff(indptr))
        return cls(bm25)

    def scores(self, query: list[str]) -> np.ndarray:
        """BM25 of every unit for a query's tokens (a repeated token counts each time, as in rank_bm25)."""
        columns = len(self.bm25.scores["indptr"]) - 1
        ids = [i for i in self.bm25.get_tokens_ids(query) if i < columns]
        if not ids:
            return np.zeros(self.size)
        return self.bm25.get_scores_from_ids(ids)

    def save(self, path: Path) -> None:
        self.bm25.save(str(path), show_progress=False)

    @classmethod
    def load(cls, path: Path, mmap: bool = True) -> "Lexical":
        import bm25s

        return cls(bm25s.BM25.load(str(path), mmap=mmap, show_progress=False))


def build_all(units, unit_tokens: list[list[str]]) -> dict[str, Lexical]:
    return {name: Lexical.build(corpus) for name, corpus in field_corpus(units, unit_tokens).items()}


def save_all(build: Path, indexes: dict[str, Lexical]) -> None:
    """Write the indexes into a build folder: into a fresh folder first, moved into place whole, the
    marker last, so a reader sees all three or none."""
    target = build / "lexical"
    tmp = build / f".lexical-{uuid.uuid4().hex[:6]}"
    try:
        for name, index in indexes.items():
            index.save(tmp / name)
        (build / MARKER).unlink(missing_ok=True)
        shutil.rmtree(target, ignore_errors=True)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    (build / MARKER).write_text(json.dumps({"version": VERSION, "fields": list(indexes),
                                            "units": next(iter(indexes.values())).size}), encoding="utf-8")


def saved(build: Path, units: int) -> bool:
    """Does the build folder hold this version's indexes, for this many units?"""
    try:
        marker = json.loads((build / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return marker.get("version") == VERSION and marker.get("units") == units and set(marker.get("fields", [])) == set(FIELDS)


def load_all(build: Path) -> dict[str, Lexical]:
    return {name: Lexical.load(build / "lexical" / name) for name in FIELDS}
