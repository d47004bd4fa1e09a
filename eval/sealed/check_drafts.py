"""Check a draft file: format, sentence coverage, and that every evidence span occurs verbatim in its document.
Usage: python eval/sealed/check_drafts.py FILE.jsonl  (documents: corpus/, ../shared/external/ and its bulk/)"""
import json, re, sys, pathlib
ROOT = pathlib.Path(__file__).resolve().parents[2]
EXTERNAL = ROOT.parent / "shared" / "external"
DOCS = {p.stem: p for folder in (ROOT / "corpus", EXTERNAL, EXTERNAL / "bulk") if folder.is_dir()
        for p in folder.iterdir() if p.suffix in (".txt", ".md") and p.stem != "README"}
KINDS = {"message", "post", "invitation", "flyer", "email"}
TAGS = {"colloquial", "typo", "traditional", "long", "subtle", "english", "two_rules"}
def norm(s):
    s = re.sub(r"\s+", "", s)
    return s.translate(str.maketrans(",;:()!?", "，；：（）！？"))
texts = {k: norm(v.read_text(encoding="utf-8")) for k, v in DOCS.items()}
bad = 0; n = 0; ids = set(); sents = flagged = clean = english = 0
for i, line in enumerate(open(sys.argv[1], encoding="utf-8"), 1):
    if not line.strip(): continue
    n += 1
    d = json.loads(line)
    for f in ("id", "kind", "lang", "draft", "sentences", "clean", "tags", "why"):
        if f not in d: print(f"line {i}: missing {f}"); bad += 1
    if d.get("id") in ids: print(f"line {i}: duplicate id"); bad += 1
    ids.add(d.get("id"))
    if d.get("kind") not in KINDS: print(f"line {i}: bad kind"); bad += 1
    if d.get("lang") not in ("zh", "en"): print(f"line {i}: bad lang"); bad += 1
    if set(d.get("tags", [])) - TAGS: print(f"line {i}: unknown tags {set(d['tags']) - TAGS}"); bad += 1
    english += d.get("lang") == "en"
    ss = d.get("sentences", [])
    if re.sub(r"\s+", "", "".join(s.get("text", "") for s in ss)) != re.sub(r"\s+", "", d.get("draft", "")):
        print(f"line {i}: sentences joined do not equal the draft (whitespace ignored)"); bad += 1
    pos = 0
    for j, s in enumerate(ss):
        sents += 1
        t = s.get("text", "")
        k = d["draft"].find(t, pos)
        if not t.strip() or k < 0: print(f"line {i} sentence {j}: not a verbatim substring of the draft in order"); bad += 1
        else: pos = k + len(t)
        if s.get("label") not in ("ok", "breach", "risk"): print(f"line {i} sentence {j}: bad label"); bad += 1; continue
        if s["label"] == "ok":
            if s.get("doc") is not None or s.get("evidence"): print(f"line {i} sentence {j}: ok needs doc null, evidence []"); bad += 1
            continue
        flagged += 1
        if s.get("doc") not in DOCS: print(f"line {i} sentence {j}: unknown doc {s.get('doc')}"); bad += 1; continue
        if not s.get("evidence"): print(f"line {i} sentence {j}: no evidence"); bad += 1
        for ev in s.get("evidence", []):
            e = norm(ev)
            if len(e) < 6: print(f"line {i} sentence {j}: evidence too short: {ev!r}"); bad += 1
            elif e not in texts[s["doc"]]: print(f"line {i} sentence {j}: evidence not verbatim in {s['doc']}: {ev!r}"); bad += 1
    is_clean = all(s.get("label") == "ok" for s in ss)
    clean += is_clean
    if d.get("clean") != is_clean: print(f"line {i}: clean flag disagrees with the labels"); bad += 1
print(f"{n} drafts, {sents} sentences, {flagged} flagged, {clean} clean drafts, {english} English; {bad} problems")
