"""The product never reads eval/: no import of the eval package and no path into it outside the
`eval` command, checked in the source and by watching a real process answer, review and remember.
The sealed question sets are unchanged since they were sealed."""
from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVAL_FILES = {"gold.jsonl", "variants.jsonl", "sets.json", "sealed.json", "expected.json", "loo.json",
              "five_docs.jsonl", "external.jsonl"}
EVAL_PATH = re.compile(r"^\S*eval/\S+$|^\S*/eval$")  # a path into eval/ (prose that mentions eval/ is fine)
PRODUCT = ["app.py", "service.py", "config.py", "qa", "indexer", "ui", "audit", "auth", "quiz"]


def product_files() -> list[Path]:
    out = []
    for name in PRODUCT:
        path = ROOT / name
        out += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return out


def test_no_product_module_imports_or_names_eval():
    offences = []
    for path in product_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        allowed = set()  # app.py's eval command may start the eval runner
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name == "cmd_eval" and path.name == "app.py":
                allowed |= {id(n) for n in ast.walk(node)}
        for node in ast.walk(tree):
            if id(node) in allowed:
                continue
            if isinstance(node, ast.Import) and any(a.name == "eval" or a.name.startswith("eval.") for a in node.names):
                offences.append(f"{path.relative_to(ROOT)}:{node.lineno} imports eval")
            if isinstance(node, ast.ImportFrom) and node.module and (node.module == "eval" or node.module.startswith("eval.")):
                offences.append(f"{path.relative_to(ROOT)}:{node.lineno} imports from eval")
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and (
                    EVAL_PATH.match(node.value) or node.value in EVAL_FILES):
                offences.append(f"{path.relative_to(ROOT)}:{node.lineno} names eval data: {node.value!r}")
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div) and isinstance(node.right, ast.Constant) \
                    and node.right.value == "eval":
                offences.append(f"{path.relative_to(ROOT)}:{node.lineno} builds a path into eval/")
    assert offences == []


def test_a_real_process_opens_nothing_under_eval(settings, built, tmp_path):
    """Answer, review and remember in a fresh interpreter that reports every file it opens and every
    module it imports: nothing under eval/, no eval module."""
    script = textwrap.dedent(f"""
        import json, sys
        opened = []
        def hook(event, args):
            if event == "open" and args and isinstance(args[0], (str, bytes)):
                opened.append(str(args[0]))
        sys.addaudithook(hook)
        sys.path.insert(0, {str(ROOT)!r})
        import config
        from service import Service
        service = Service(config.get_settings())
        answer = service.ask("我能以公司名义和客户签合同吗？", user="t")
        service.review(answer.id, reviewer="s", status="correct")
        again = service.ask("我能以公司名义和客户签合同吗？", user="t")
        print(json.dumps({{"opened": opened, "modules": sorted(m for m in sys.modules if m == "eval" or m.startswith("eval.")),
                          "remembered": again.remembered, "first": answer.id, "verdict": again.verdict}}))
    """)
    env = os.environ | {"POLICYQA_CORPUS": str(settings.corpus_dir), "POLICYQA_DATA": str(tmp_path / "data"),
                        "POLICYQA_EMBEDDING_CACHE": str(settings.cache_path)}
    import shutil

    shutil.copytree(settings.data_dir, tmp_path / "data",
                    ignore=shutil.ignore_patterns("audit.sqlite*", "users.json", "reviewed-memory.jsonl", "eval-*"))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    eval_dir = str(ROOT / "eval")
    assert [p for p in report["opened"] if p.startswith(eval_dir)] == []
    assert report["modules"] == []
    assert report["opened"], "the audit hook saw no file at all: the check would prove nothing"
    # the review became product data under the data dir, and the same question now recalls it
    assert report["remembered"] == report["first"] and report["verdict"] == "prohibited"
    memory = (tmp_path / "data" / "reviewed-memory.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(memory[0])["answer_id"] == report["first"]


def test_sealed_sets_are_unchanged():
    from eval.runner import all_sets, sealed_problems

    sealed = [s for s in all_sets() if s.sha256]
    assert {s.split for s in sealed} == {"sealed", "external"}
    assert sealed_problems() == []


def test_sealed_sets_have_the_promised_mix():
    from eval.runner import all_sets, load_set

    for s in all_sets():
        if not s.sha256:
            continue
        rows = load_set(s.path)
        tags = [t for r in rows for t in r["tags"]]
        n = len(rows)
        assert n >= (200 if s.split == "sealed" else 150)
        assert tags.count("scenario") >= n / 2 and tags.count("english") >= 0.4 * n
        oos = sum(r["verdict"] == "not_covered" for r in rows)
        assert 0.07 * n <= oos <= 0.15 * n and tags.count("near_miss") >= oos / 3
        for tag in ("colloquial", "traditional", "typo"):
            assert tags.count(tag) >= 5, tag


def test_forgetting_needs_an_answer_id_not_an_empty_prefix(tmp_path):
    from qa.memory import Remembered, ReviewedMemory

    memory = ReviewedMemory(tmp_path / "m.jsonl")
    for n in range(3):
        memory.remember(Remembered(answer_id=f"{n}0000000-aaaa", question=f"q{n}", verdict="prohibited"))
    assert not memory.forget("") and not memory.forget("   ") and not memory.forget("1000")
    assert len(memory.entries()) == 3
    assert memory.forget("10000000") and [e.question for e in memory.entries()] == ["q0", "q2"]


def test_sealed_drafts_are_unchanged_and_have_the_promised_mix():
    from eval.drafts import draft_sets, load, sealed_problems

    assert sealed_problems() == []
    sealed = [row for s in draft_sets() if s.sha256 for row in load(s.path)]
    assert len(sealed) >= 60
    assert sum(r["lang"] == "en" for r in sealed) >= len(sealed) / 3
    assert sum(all(x["label"] == "ok" for x in r["sentences"]) for r in sealed) >= len(sealed) / 3
