"""Chinese-aware tokens for the lexical index and for question analysis.

jieba segments Chinese (with the firm's own terms added from qa/lexicon.json so 财物, 下线 or 擂台赛 stay
whole); traditional characters are folded to simplified first so 簽合同 matches 签合同.
"""
from __future__ import annotations

import functools
import json
import logging
import re
from pathlib import Path

LEXICON = Path(__file__).resolve().parent.parent / "qa" / "lexicon.json"
_WORD = re.compile(r"[\u4e00-\u9fff]+|[a-zA-Z]+|\d+")
STOPWORDS = set(
    "的 了 是 在 和 与 及 或 等 对 为 以 把 被 我 我们 你 他 她 它 吗 呢 吧 啊 呀 么 什么 怎么 怎样 如何 哪些 哪个 可以 能 能不能 "
    "可不可以 是否 有没有 要 要不要 需要 一个 这个 那个 这 那 就 都 也 还 又 并 而 之 其 中 上 下 请问 公司 营销 人员 营销人员 规定 "
    "a an the is are am be to of in on for and or do does can i my we our you your it this that what which who how "
    "with at by from as if may should must any have has".split()
)


@functools.cache
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    for term in lexicon().get("terms", []):
        jieba.add_word(term, freq=20000)
    return jieba


@functools.cache
def _t2s():
    from opencc import OpenCC

    return OpenCC("t2s")


@functools.cache
def lexicon() -> dict:
    return json.loads(LEXICON.read_text(encoding="utf-8")) if LEXICON.exists() else {}


_synonyms_override: dict[str, list[str]] | None = None
_synonyms_version = 0


def synonyms() -> dict[str, list[str]]:
    """The vocabulary in force: everyday or English phrase → the policies' words. An entry is either a
    list of words or {"words": [...], "concept": ..., "basis": ...} (qa/lexicon.json says why each is there)."""
    if _synonyms_override is not None:
        return _synonyms_override
    return {k: (v["words"] if isinstance(v, dict) else v) for k, v in lexicon().get("synonyms", {}).items()}


def use_synonyms(table: dict[str, list[str]] | None) -> None:
    """Replace the vocabulary for this process (None restores qa/lexicon.json). The eval uses it to
    measure the vocabulary's contribution and to leave one document's entries out."""
    global _synonyms_override, _synonyms_version
    _synonyms_override = table
    _synonyms_version += 1


def synonyms_version() -> int:
    """Changes whenever use_synonyms does, so caches derived from the vocabulary know to refresh."""
    return _synonyms_version


@functools.cache
def _changing() -> frozenset[str]:
    """The characters OpenCC's t2s tables change (in a character or phrase entry): a text holding none
    of them is already simplified, and skipping OpenCC's pure-Python matcher for it makes tokenising a
    unit or a question several times faster (checked: identical output on 10,918 unit texts, headings
    and questions, 10,780 of them taking the short cut)."""
    import opencc

    tables = Path(opencc.__file__).parent / "dictionary"
    changing: set[str] = set()
    for name in ("TSCharacters.txt", "TSPhrases.txt"):
        for line in (tables / name).read_text(encoding="utf-8").splitlines():
            key, _, values = line.partition("\t")
            targets = values.split()
            changing.update(c for c in key if not targets or any(c not in t for t in targets))
    return frozenset(changing)


def to_simplified(text: str) -> str:
    return text if _changing().isdisjoint(text) else _t2s().convert(text)


def tokens(text: str) -> list[str]:
    """Content tokens: simplified, lower-cased, jieba-segmented, stopwords and punctuation dropped."""
    text = to_simplified(text).lower()
    out: list[str] = []
    for chunk in _WORD.findall(text):
        if chunk.isascii():
            if chunk not in STOPWORDS and len(chunk) > 1:
                out.append(chunk)
            continue
        out += [w for w in _jieba().lcut(chunk) if w not in STOPWORDS and w.strip()]
    return out


def word_boundaries(text: str) -> set[int]:
    """Character offsets where jieba puts a word boundary (start and end of every word)."""
    bounds = {0, len(text)}
    for _, start, end in _jieba().tokenize(text):
        bounds.update((start, end))
    return bounds
