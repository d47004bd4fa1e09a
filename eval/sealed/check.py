"""Check a sealed question file: format and that every evidence span occurs verbatim in its document.
Usage: python check.py FILE.jsonl"""
import json, re, sys, pathlib
HERE = pathlib.Path(__file__).resolve().parent
CORPUS = HERE.parent.parent / "corpus"
EXTERNAL = HERE.parent.parent.parent / "shared" / "external"
DOCS = {f"p{i}": str(CORPUS / f"p{i}.txt") for i in range(1, 6)}
for stem in ["securities-law", "fund-law", "consumer-law", "advisory-measures", "private-fund-regulation", "ecommerce-law"]:
    DOCS[stem] = str(EXTERNAL / f"{stem}.md")
VERDICTS = {"allowed", "prohibited", "required", "info", "not_covered"}
TAGS = {"scenario", "short", "colloquial", "traditional", "typo", "english", "near_miss", "out_of_scope", "two_articles", "paraphrase"}
def norm(s):
    s = re.sub(r"\s+", "", s)
    return s.translate(str.maketrans(",;:()!?", "，；：（）！？"))
texts = {k: norm(pathlib.Path(v).read_text(encoding="utf-8")) for k, v in DOCS.items()}
bad = 0; n = 0; ids = set()
for i, line in enumerate(open(sys.argv[1], encoding="utf-8"), 1):
    if not line.strip(): continue
    n += 1
    q = json.loads(line)
    for f in ("id", "question", "lang", "doc", "evidence", "verdict", "tags", "why"):
        if f not in q: print(f"line {i}: missing {f}"); bad += 1
    if q["id"] in ids: print(f"line {i}: duplicate id"); bad += 1
    ids.add(q["id"])
    if q["verdict"] not in VERDICTS: print(f"line {i}: bad verdict"); bad += 1
    if q["lang"] not in ("zh", "en"): print(f"line {i}: bad lang"); bad += 1
    if set(q["tags"]) - TAGS: print(f"line {i}: unknown tags {set(q['tags']) - TAGS}"); bad += 1
    if q["verdict"] == "not_covered":
        if q["doc"] is not None or q["evidence"]: print(f"line {i}: out of scope must have doc null, evidence []"); bad += 1
        continue
    if q["doc"] not in DOCS: print(f"line {i}: unknown doc {q['doc']}"); bad += 1; continue
    if not q["evidence"]: print(f"line {i}: no evidence"); bad += 1
    for ev in q["evidence"]:
        e = norm(ev)
        if len(e) < 6: print(f"line {i}: evidence too short: {ev!r}"); bad += 1
        elif e not in texts[q["doc"]]: print(f"line {i}: evidence not found verbatim in {q['doc']}: {ev!r}"); bad += 1
print(f"{n} questions, {bad} problems")
