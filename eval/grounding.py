"""Groundedness: an answer may only show text its cited units contain. A failure here is a defect
to fix before anything lands, never a rate to average away."""
from __future__ import annotations

from indexer.store import Index


def failures(answer, index: Index) -> list[str]:
    """What in this answer is not backed by the index, or [] if it is all grounded."""
    out = []
    for c in answer.citations + answer.related:
        unit = index.by_id.get(c.id)
        if unit is None:
            out.append(f"cites {c.id}, which is not in the index")
            continue
        if c.text != unit.text:
            out.append(f"{c.id}: the text shown differs from the indexed unit")
        if c.quote and c.quote not in unit.text:
            out.append(f"{c.id}: quoted span not in the unit: {c.quote[:40]}")
    if answer.verdict == "not_covered" and answer.citations:
        out.append("a not_covered answer cites units as its basis")
    if answer.verdict != "not_covered" and not answer.citations:
        out.append(f"a {answer.verdict} answer cites nothing")
    # A condition the conclusion names (不可以，除非经公司允许。) is the cited article's own words.
    for marker, end in (("除非经", "。"), ("须先经", "：")):
        if marker in answer.answer and answer.citations:
            cond = answer.answer.split(marker, 1)[1].split(end, 1)[0]
            if cond not in index.by_id.get(answer.citations[0].id, answer.citations[0]).text:
                out.append(f"conclusion names a condition the cited unit does not state: {cond}")
    # The conclusion quotes the ruling clause after its colon ("必须：…", "Per the policy: …").
    for sep in ("：", ": "):
        if sep in answer.answer and answer.citations:
            quoted = answer.answer.split(sep, 1)[1].strip()
            if quoted and answer.verdict in ("required", "info") and not any(
                    quoted in index.by_id[c.id].text for c in answer.citations if c.id in index.by_id):
                out.append(f"conclusion quotes text no cited unit contains: {quoted[:40]}")
            break
    return out
