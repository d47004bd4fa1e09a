"""How the project (P) and the plain LangChain + Chroma pipeline (B, eval/baseline.py) scale (issue 17).

    python bench/bench_scale.py [--sizes 467,5000,50000] [--quick] [--external DIR] [--keep DIR] [--json FILE]
    python bench/bench_scale.py --report FILE [FILE ...]     # one table from earlier --json files

Three corpus sizes, each in its own private folder (POLICYQA_DATA, POLICYQA_CORPUS and
POLICYQA_EMBEDDING_CACHE set per size, so settings are always fresh):

- 467: the five shipped documents (corpus/);
- 5000: the five + the six public regulations in DIR + the bulk laws in DIR/bulk/ but one, held out for
  the add (3,703 units) + varied copies of some of them (below) up to 5,000 units (5,021). The
  documents go into the corpus with the manifest entry `python app.py add` would write (id = slug of
  the file name) and are indexed by one cold build (the brief allows that for "cold build");
- 50000: the same real documents + varied copies up to 50,000 units.

A varied copy (``vary``) replaces common statute words by other words of the same length (应当→应该,
管理→治理 …, a different subset for each copy) and renames the document, so every copy's passages are
new texts (the embedding cache cannot make them free), its articles parse into the same units and
its 300-character chunks fall where the original's do.

Measured vs extrapolated (printed beside each figure):

- 467 and 5000: everything measured. The cold builds start from an empty embedding cache of their
  own and really embed every passage (P: e5 + USE for every unit; B: e5 for every chunk); the
  embedding time inside each build is timed too, which gives a rate per passage.
- 50000: embedding 100,000 passages on two shared cores would take about an hour, so the vectors of a
  varied copy are *synthetic*: the original unit's (or chunk's) real vector from the 5000 build plus
  Gaussian noise, renormalised (cosine about 0.93 to it), put in the 50000 size's cache before the
  build. The 50000 index is therefore real in every other way (units, tokens, BM25, Chroma
  collections, files on disk) and its serving figures (start → first answer, warm p50/p95, RSS,
  disk, throughput) and the add are measured on it with real question embeddings. Its cold build is
  *extrapolated*: the build measured with the seeded cache (parse, BM25, Chroma writes) plus the
  5000 build's embedding seconds per passage × the 50000 passages.

Phases run in fresh child processes (this script with --phase), so each has its own peak RSS
(ru_maxrss) and CPU seconds (process_time: all threads). The machine has two cores shared with other
work: every phase also records the 1-minute load average when it ended.

- cold build: P `indexer.build.build_index`; B `eval.baseline.TutorialPipeline` (its chunking, e5
  through the same embedding cache code, a Chroma collection; it also maps chunks to P's units for
  scoring, which the B figures include, its peak RSS too, with P's units loaded). Chroma refuses more
  than its max batch (5,461) in one add, which the baseline's single `add_documents` exceeds at 50000
  (26,621 chunks): the bench splits that call, as its user would have to, and prints that it did.
- add one document (a bulk law not in the index, on a copy of the built index; the copy is not timed):
  P `indexer.build.add_document` (model loading, re-parse, embeds only the new units, writes a new
  build); B opens its Chroma store, splits the law with the baseline's splitter and appends the chunks.
- start → first answer: a fresh process from spawn to the first answer (Python start, imports, open,
  one question); P `Assistant.open` + `ask`, B reopens its Chroma collection + `retriever.invoke`.
- warm answers: the `question` field of eval/dev_realistic.jsonl and eval/dev_added.jsonl.
- throughput: P only, questions answered per second by 1 thread vs 4 threads calling `Assistant.ask`.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# ---- constants (one place) ----
DEFAULT_SIZES = "467,5000,50000"
DEFAULT_EXTERNAL = ROOT.parent / "shared" / "external"
QUESTION_FILES = ("eval/dev_realistic.jsonl", "eval/dev_added.jsonl")
QUICK_QUESTIONS = 20
CONCURRENCY_QUESTIONS, QUICK_CONCURRENCY_QUESTIONS = 64, 12
CLIENTS = 4
ADD_LAW = "长城保护条例"  # held out of every corpus, added by the add phase
REAL_MAX = 5000  # sizes above this get synthetic (seeded) vectors for their varied copies
SEED_SIZE = 5000  # the size whose real vectors seed the synthetic ones
COPY_NAME = re.compile(r"-v\d+\.md$")  # a varied copy's file name: <original stem>-v<copy>.md
NOISE_SIGMA = 0.02  # per component, 384 dims: cosine ≈ 0.93 to the real vector
# same-length substitutions: structure markers (第 条 章 节 款 项, numerals, punctuation) untouched
VARIANTS = (("应当", "应该"), ("规定", "规则"), ("国家", "全国"), ("管理", "治理"), ("部门", "机构"),
            ("人民", "公民"), ("企业", "公司"), ("单位", "机关"), ("进行", "开展"), ("有关", "相关"),
            ("可以", "能够"), ("违反", "违背"), ("保护", "维护"), ("负责", "主管"), ("建设", "建造"),
            ("组织", "团体"), ("工作", "事务"), ("监督", "监察"), ("情况", "情形"), ("法律", "法规"))
ALWAYS = ("的", "之")  # in almost every unit, so that almost no copied passage equals its original
# floors (issue 17): (what, size, P figure key, limit, how it compares)
FLOORS = (
    ("warm p50 ≤ 50 ms", 5000, "p_p50", 50.0, "le"),
    ("warm p95 ≤ 150 ms", 5000, "p_p95", 150.0, "le"),
    ("warm p95 ≤ 300 ms", 50000, "p_p95", 300.0, "le"),
    ("start → first answer ≤ 3 s", 5000, "p_start", 3.0, "le"),
    ("start → first answer ≤ 10 s", 50000, "p_start", 10.0, "le"),
    ("add one document ≤ 1.2 × B's append", 5000, "add_ratio", 1.2, "le"),
    ("disk ≤ 2 × B's", 5000, "disk_ratio", 2.0, "le"),
    ("4 clients ≥ 1.7 × one client's throughput", 5000, "tput_ratio", 1.7, "ge"),
)


# ---- helpers shared by parent and children ----

def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def disk_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file()) / 1e6


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def questions(quick: bool) -> list[str]:
    """Realistic long questions (the `question` field only)."""
    qs = [json.loads(line)["question"] for f in QUESTION_FILES
          for line in (ROOT / f).read_text(encoding="utf-8").splitlines() if line.strip()]
    return qs[:QUICK_QUESTIONS] if quick else qs


class Clock:
    """Wall and CPU seconds of a block (CPU of the whole process, every thread)."""

    def __enter__(self) -> Clock:
        self.w, self.c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self.w, time.process_time() - self.c


@dataclass(frozen=True)
class Layout:
    """One size's private folder."""

    home: Path

    corpus = property(lambda self: self.home / "corpus")
    data = property(lambda self: self.home / "data")
    p_cache = property(lambda self: self.home / "p-cache.sqlite")
    b_cache = property(lambda self: self.home / "b-cache.sqlite")
    b_index = property(lambda self: self.home / "b-index")
    builds = property(lambda self: self.home / "builds.json")

    def env(self) -> dict[str, str]:
        return os.environ | {"POLICYQA_DATA": str(self.data), "POLICYQA_CORPUS": str(self.corpus),
                             "POLICYQA_EMBEDDING_CACHE": str(self.p_cache)}


def vary(text: str, copy: int) -> str:
    """A varied copy of a document: a copy-specific subset of same-length word substitutions."""
    rng = random.Random(copy)
    chosen = [pair for pair in VARIANTS if rng.random() < 0.5] + [ALWAYS]
    for old, new in chosen:
        text = text.replace(old, new)
    return text


# ---- corpora (parent) ----

def prepare_corpus(size: int, layout: Layout, external: Path) -> dict:
    """The size's corpus folder: the five documents, the real external documents, then varied copies
    up to ``size`` units. Returns what went in (files, units, copies)."""
    from indexer.build import load_manifest, slug
    from indexer.loaders import read_document
    from indexer.parse import parse

    five = load_manifest(ROOT / "corpus")
    manifest = json.loads((ROOT / "corpus" / "manifest.json").read_text(encoding="utf-8"))
    real = [p for p in sorted(external.glob("*.md")) + sorted((external / "bulk").glob("*.md"))
            if p.name.lower() != "readme.md" and p.stem != ADD_LAW]
    units_of = {p: len(parse(slug(p.stem), p.stem, read_document(p)).units) for p in real}
    files: list[tuple[str, str, str]] = []  # (name in corpus, title, text)
    total = sum(len(parse(d.id, d.title, read_document(ROOT / "corpus" / d.file)).units) for d in five)
    if size > total:
        for p in real:
            files.append((p.name, p.stem, read_document(p)))
            total += units_of[p]
    copy = 0
    while size > total:
        copy += 1
        for p in real:
            if total >= size:
                break
            files.append((f"{p.stem}-v{copy}.md", f"{p.stem}（{copy}）", vary(read_document(p), copy)))
            total += units_of[p]
    signature = {"files": [f[0] for f in files], "units": total, "copies": copy}
    layout.home.mkdir(parents=True, exist_ok=True)
    if (layout.home / "corpus.json").exists() and json.loads((layout.home / "corpus.json").read_text()) == signature:
        return signature  # kept: unchanged
    shutil.rmtree(layout.corpus, ignore_errors=True)
    layout.corpus.mkdir(parents=True)
    for d in five:
        shutil.copyfile(ROOT / "corpus" / d.file, layout.corpus / d.file)
    for name, title, text in files:
        (layout.corpus / name).write_text(text, encoding="utf-8")
        manifest["documents"].append({"id": slug(Path(name).stem), "title": title, "file": name, "source": name})
    (layout.corpus / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    (layout.home / "corpus.json").write_text(json.dumps(signature, ensure_ascii=False))
    for done in (layout.builds, layout.home / "p-build.json", layout.home / "b-build.json"):
        done.unlink(missing_ok=True)  # a new corpus: earlier builds do not count
    return signature


# ---- child phases ----

def _timed_embedding() -> dict[str, float]:
    """Wrap EmbeddingCache.passages (used by P's build and B's pipeline alike) to time the embedding."""
    from indexer.embed import EmbeddingCache

    spent = {"wall": 0.0, "cpu": 0.0, "passages": 0}
    original = EmbeddingCache.passages

    def passages(self, embedder, texts, progress=None):
        with Clock() as c:
            matrix, embedded = original(self, embedder, texts, progress)
        spent["wall"] += c.wall
        spent["cpu"] += c.cpu
        spent["passages"] += embedded
        return matrix, embedded

    EmbeddingCache.passages = passages
    return spent


class _Fixed:
    """An 'embedder' handing out given vectors (a random unit vector for a text it lacks, counted), so
    that a cache is read and filled through its own code."""

    def __init__(self, name: str, table: dict[str, Any]) -> None:
        import numpy as np

        self.name, self.table, self.lacked = name, table, 0
        self._rng = np.random.default_rng(0)

    def embed_passages(self, texts: list[str]):
        import numpy as np

        rows = []
        for t in texts:
            if t not in self.table:
                self.lacked += 1
                v = self._rng.normal(size=384).astype(np.float32)
                self.table[t] = v / np.linalg.norm(v)
            rows.append(self.table[t])
        return np.stack(rows)


def _seed(layout: Layout, passages_of: Callable[[Path], list[str]], models: list[str],
          source_cache: Path, target_cache: Path) -> dict:
    """Fill target_cache with a vector for every passage of layout's corpus: an original document's real
    vectors (read from source_cache), a varied copy's the original's at the same position plus noise."""
    import numpy as np

    from indexer.build import load_manifest
    from indexer.embed import EmbeddingCache

    rng = np.random.default_rng(17)
    pairs: list[tuple[str, str]] = []  # (passage, the original passage it varies)
    for d in load_manifest(layout.corpus):
        origin = COPY_NAME.sub(".md", d.file)
        mine = passages_of(layout.corpus / d.file)
        theirs = mine if origin == d.file else passages_of(layout.corpus / origin)
        pairs += [(t, theirs[min(i, len(theirs) - 1)]) for i, t in enumerate(mine)]
    source, target = EmbeddingCache(source_cache), EmbeddingCache(target_cache)
    out = {"passages": 0, "lacked": 0}
    for model in models:
        refs = list(dict.fromkeys(r for _, r in pairs))
        reader = _Fixed(model, {})
        real = dict(zip(refs, source.passages(reader, refs)[0]))
        table: dict[str, Any] = {}
        for text, ref in pairs:
            if text in table:
                continue
            vec = real[ref]
            if text != ref:
                vec = vec + rng.normal(0, NOISE_SIGMA, vec.shape).astype(np.float32)
                vec = vec / np.linalg.norm(vec)
            table[text] = vec
        out["passages"] += target.passages(_Fixed(model, table), list(table))[1]
        out["lacked"] += reader.lacked
    source.close()
    target.close()
    return out


def _unit_passages(path: Path) -> list[str]:
    """The passages P embeds for one file (they depend on its text only, not on its id or title)."""
    from indexer.build import unit_passage
    from indexer.loaders import read_document
    from indexer.parse import parse

    return [unit_passage(u) for u in parse("x", "", read_document(path)).units]


def _chunks(path: Path) -> list[str]:
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from eval.baseline import CHUNK_OVERLAP, CHUNK_SIZE
    from indexer.loaders import read_document

    splitter = RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP, add_start_index=True)
    return [c.page_content for c in splitter.create_documents([read_document(path)])]


def phase_p_build(layout: Layout, seed: Layout | None) -> dict:
    import config
    from indexer.build import build_index

    settings = config.get_settings()
    shutil.rmtree(layout.data, ignore_errors=True)
    out: dict[str, Any] = {}
    if seed is None:
        layout.p_cache.unlink(missing_ok=True)
    else:
        with Clock() as c:
            out["seeded"] = _seed(layout, _unit_passages, list(settings.embedders), seed.p_cache, layout.p_cache)
        out["seed_s"] = c.wall
    spent = _timed_embedding()
    with Clock() as c:
        report = build_index(settings)
    return out | {"wall": c.wall, "cpu": c.cpu, "embed_wall": spent["wall"], "embed_cpu": spent["cpu"],
                  "embedded": report.embedded, "units": report.units, "documents": report.documents,
                  "passages": report.units * len(settings.embedders), "rss": peak_rss_mb(),
                  "disk": disk_mb(layout.data / "index"), "load": os.getloadavg()[0]}


def phase_b_build(layout: Layout, seed: Layout | None) -> dict:
    import config
    from eval.baseline import TutorialPipeline
    from indexer.store import open_store

    settings = replace(config.get_settings(), embedding_cache=str(layout.b_cache))
    index = open_store(settings).open()
    out: dict[str, Any] = {}
    if seed is None:
        layout.b_cache.unlink(missing_ok=True)
    else:
        with Clock() as c:
            out["seeded"] = _seed(layout, _chunks, ["e5"], seed.b_cache, layout.b_cache)
        out["seed_s"] = c.wall
    scratch = layout.home / "b-tmp"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    tempfile.tempdir = str(scratch)
    batches = _batched_chroma_adds()
    spent = _timed_embedding()
    with Clock() as c:
        pipeline = TutorialPipeline(settings, index)
    out["batches"] = batches[0]
    built = Path(pipeline._tmp.name)
    count = len(pipeline.retriever.vectorstore.get(include=[])["ids"])
    out |= {"wall": c.wall, "cpu": c.cpu, "embed_wall": spent["wall"], "embed_cpu": spent["cpu"],
            "embedded": spent["passages"], "chunks": pipeline.chunks, "stored": count, "rss": peak_rss_mb(),
            "disk": disk_mb(built), "load": os.getloadavg()[0]}
    shutil.rmtree(layout.b_index, ignore_errors=True)
    shutil.copytree(built, layout.b_index)  # kept for the other phases (the pipeline's own folder is temporary)
    return out


def _batched_chroma_adds() -> list[int]:
    """The baseline adds all its chunks in one call, which Chroma refuses above its max batch size
    (5,461 here: the 50,000 size has 26,621 chunks). Split such a call as its user would have to;
    counts the calls Chroma got (1 when nothing was split)."""
    from langchain_chroma import Chroma

    original, calls = Chroma.add_documents, [0]

    def add_documents(self, documents, **kwargs):
        size, ids = self._client.get_max_batch_size(), []
        for i in range(0, len(documents), size):
            calls[0] += 1
            ids += original(self, documents[i:i + size], **kwargs)
        return ids

    Chroma.add_documents = add_documents
    return calls


def _b_store(path: Path, cache_path: Path):
    """B's Chroma collection reopened, with the baseline's embeddings (e5, passages through the cache)."""
    import chromadb
    from langchain_chroma import Chroma
    from langchain_core.embeddings import Embeddings

    import config
    from indexer.embed import EmbeddingCache, make_embedder

    e5 = make_embedder("e5", config.get_settings().query_threads)
    cache = EmbeddingCache(cache_path)

    class E5(Embeddings):  # as in eval/baseline.TutorialPipeline
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return cache.passages(e5, texts)[0].tolist()

        def embed_query(self, text: str) -> list[float]:
            return e5.embed_queries([text])[0].tolist()

    client = chromadb.PersistentClient(str(path), settings=chromadb.Settings(anonymized_telemetry=False))
    return Chroma(collection_name="tutorial", embedding_function=E5(), client=client)


def _add_law(external: Path) -> Path:
    return external / "bulk" / f"{ADD_LAW}.md"


def phase_p_add(layout: Layout, external: Path) -> dict:
    import config
    from indexer.build import add_document, slug

    work = layout.home / "add-p"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(layout.corpus, work / "corpus")
    shutil.copytree(layout.data, work / "data")
    shutil.copyfile(layout.p_cache, work / "cache.sqlite")
    settings = replace(config.get_settings(), corpus_dir=work / "corpus", data_dir=work / "data",
                       embedding_cache=str(work / "cache.sqlite"))
    law = _add_law(external)
    with Clock() as c:
        _, report = add_document(settings, law, doc_id=slug(law.stem))
    out = {"wall": c.wall, "cpu": c.cpu, "embedded": report.embedded, "units": report.units,
           "rss": peak_rss_mb(), "load": os.getloadavg()[0]}
    shutil.rmtree(work, ignore_errors=True)
    return out


def phase_b_add(layout: Layout, external: Path) -> dict:
    from langchain_core.documents import Document
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from eval.baseline import CHUNK_OVERLAP, CHUNK_SIZE
    from indexer.build import slug
    from indexer.loaders import read_document

    work = layout.home / "add-b"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(layout.b_index, work / "chroma")
    shutil.copyfile(layout.b_cache, work / "cache.sqlite")
    law = _add_law(external)
    with Clock() as c:
        store = _b_store(work / "chroma", work / "cache.sqlite")
        splitter = RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP, add_start_index=True)
        chunks = splitter.create_documents([read_document(law)], metadatas=[{"doc_id": slug(law.stem)}])
        store.add_documents([Document(page_content=d.page_content, metadata=d.metadata) for d in chunks])
    out = {"wall": c.wall, "cpu": c.cpu, "chunks": len(chunks), "rss": peak_rss_mb(), "load": os.getloadavg()[0]}
    shutil.rmtree(work, ignore_errors=True)
    return out


def _warm(ask: Callable[[str], object], qs: list[str]) -> dict:
    latencies = []
    with Clock() as c:
        for q in qs:
            t = time.perf_counter()
            ask(q)
            latencies.append((time.perf_counter() - t) * 1000)
    return {"p50": statistics.median(latencies), "p95": percentile(latencies, 0.95), "max": max(latencies),
            "n": len(qs), "cpu_ms": 1000 * c.cpu / len(qs)}


def phase_p_serve(spawned: float, quick: bool) -> dict:
    with Clock() as c:
        import config
        from qa.answer import Assistant

        settings = config.get_settings()
        qs = questions(quick)
        opened = time.perf_counter()
        assistant = Assistant.open(settings, build_if_missing=False)
        open_s = time.perf_counter() - opened
        assistant.ask(qs[0])
    start = time.time() - spawned
    return {"start": start, "start_cpu": time.process_time(), "open_ask": c.wall, "open": open_s,
            "units": len(assistant.retriever.index.units), "warm": _warm(assistant.ask, qs), "rss": peak_rss_mb(),
            "load": os.getloadavg()[0]}


def phase_b_serve(layout: Layout, spawned: float, quick: bool) -> dict:
    with Clock() as c:
        from eval.baseline import TOP_K

        qs = questions(quick)
        store = _b_store(layout.b_index, layout.b_cache)
        retriever = store.as_retriever(search_kwargs={"k": TOP_K})
        retriever.invoke(qs[0])
    start = time.time() - spawned
    return {"start": start, "start_cpu": time.process_time(), "open_ask": c.wall,
            "warm": _warm(retriever.invoke, qs), "rss": peak_rss_mb(), "load": os.getloadavg()[0]}


def phase_p_concurrency(quick: bool) -> dict:
    import config
    from qa.answer import Assistant

    qs = questions(False)[: QUICK_CONCURRENCY_QUESTIONS if quick else CONCURRENCY_QUESTIONS]
    assistant = Assistant.open(config.get_settings(), build_if_missing=False)
    assistant.ask(qs[0])
    deadline = time.time() + 120  # the pools load their further instances in the background
    while time.time() < deadline and any(getattr(p, "_free").qsize() < p.size for p in assistant.retriever.embedders.values()):
        time.sleep(0.2)
    for q in qs[:4]:
        assistant.ask(q)
    with Clock() as one:
        for q in qs:
            assistant.ask(q)
    latencies: list[float] = []
    lock = threading.Lock()

    def client(offset: int) -> None:
        for q in qs[offset:] + qs[:offset]:
            t = time.perf_counter()
            assistant.ask(q)
            with lock:
                latencies.append((time.perf_counter() - t) * 1000)

    with Clock() as many, ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(client, [i * len(qs) // CLIENTS for i in range(CLIENTS)]))
    return {"one": len(qs) / one.wall, "one_cpu": one.cpu, "many": CLIENTS * len(qs) / many.wall,
            "many_cpu": many.cpu, "many_p50": statistics.median(latencies), "many_p95": percentile(latencies, 0.95),
            "n": len(qs), "workers": config.get_settings().answer_workers, "load": os.getloadavg()[0]}


def child(args: argparse.Namespace) -> None:
    layout = Layout(Path(args.home))
    seed = Layout(Path(args.seed)) if args.seed else None
    external = Path(args.external)
    result = {
        "p-build": lambda: phase_p_build(layout, seed),
        "b-build": lambda: phase_b_build(layout, seed),
        "p-add": lambda: phase_p_add(layout, external),
        "b-add": lambda: phase_b_add(layout, external),
        "p-serve": lambda: phase_p_serve(args.spawned, args.quick),
        "b-serve": lambda: phase_b_serve(layout, args.spawned, args.quick),
        "p-conc": lambda: phase_p_concurrency(args.quick),
    }[args.phase]()
    print("RESULT " + json.dumps(result), flush=True)


# ---- parent ----

def run_phase(phase: str, layout: Layout, args: argparse.Namespace, seed: Layout | None = None) -> dict:
    """One phase in a fresh process; its stderr goes to the size's log."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--phase", phase, "--home", str(layout.home),
           "--external", str(args.external), "--spawned", repr(time.time())]
    if seed:
        cmd += ["--seed", str(seed.home)]
    if args.quick:
        cmd.append("--quick")
    with open(layout.home / "bench.log", "a") as log:
        log.write(f"\n== {phase} {time.strftime('%H:%M:%S')}\n")
        log.flush()
        done = subprocess.run(cmd, cwd=ROOT, env=layout.env(), stdout=subprocess.PIPE, stderr=log, text=True)
    lines = [l for l in done.stdout.splitlines() if l.startswith("RESULT ")]
    if done.returncode or not lines:
        tail = (layout.home / "bench.log").read_text(errors="replace")[-3000:]
        raise SystemExit(f"phase {phase} failed (exit {done.returncode}):\n{tail}")
    print(f"  [{time.strftime('%H:%M:%S')}] {phase} done", file=sys.stderr, flush=True)
    result = json.loads(lines[-1][len("RESULT "):])
    with open(layout.home / "phases.jsonl", "a") as f:  # every figure as soon as it is measured
        f.write(json.dumps({"phase": phase, "at": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())} | result) + "\n")
    return result


def builds(size: int, layout: Layout, args: argparse.Namespace, seed: Layout | None) -> dict:
    """P's and B's cold builds, or the ones recorded for this corpus by an earlier run (--keep); each
    is recorded as soon as it is done, so an interrupted run keeps what it built."""
    if layout.builds.exists() and (layout.data / "index" / "CURRENT").exists() and layout.b_index.exists():
        return json.loads(layout.builds.read_text()) | {"kept": True}
    result: dict[str, Any] = {}
    for who, ready in (("p", layout.data / "index" / "CURRENT"), ("b", layout.b_index)):
        done = layout.home / f"{who}-build.json"
        if done.exists() and ready.exists():
            result[who] = json.loads(done.read_text())
            result["kept"] = True
            continue
        result[who] = run_phase(f"{who}-build", layout, args, seed)
        done.write_text(json.dumps(result[who]))
    result["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    layout.builds.write_text(json.dumps(result))
    return result


def bench_size(size: int, root: Path, args: argparse.Namespace) -> dict:
    layout = Layout(root / f"s{size}")
    corpus = prepare_corpus(size, layout, args.external)
    seed = None
    if size > REAL_MAX:
        seed = Layout(root / f"s{SEED_SIZE}")
        if not (seed.builds.exists() and seed.p_cache.exists() and seed.b_cache.exists()):
            print(f"size {size} needs the real vectors of size {SEED_SIZE}: building it first", file=sys.stderr)
            prepare_corpus(SEED_SIZE, seed, args.external)
            builds(SEED_SIZE, seed, args, None)
    print(f"size {size}: {corpus['units']} units, {len(corpus['files'])} added files "
          f"({corpus['copies']} rounds of varied copies)", file=sys.stderr, flush=True)
    r: dict[str, Any] = {"size": size, "corpus": corpus, "build": builds(size, layout, args, seed)}
    if seed:
        r["seed_build"] = json.loads(seed.builds.read_text())  # its embedding rate, for the extrapolation
    for phase in ("p-add", "b-add", "p-serve", "b-serve", "p-conc"):
        r[phase] = run_phase(phase, layout, args)
    return r


def figures(r: dict) -> dict[str, float]:
    """The compared figures of one size."""
    return {"p_p50": r["p-serve"]["warm"]["p50"], "p_p95": r["p-serve"]["warm"]["p95"],
            "p_start": r["p-serve"]["start"], "add_ratio": r["p-add"]["wall"] / r["b-add"]["wall"],
            "disk_ratio": r["build"]["p"]["disk"] / r["build"]["b"]["disk"],
            "tput_ratio": r["p-conc"]["many"] / r["p-conc"]["one"]}


def extrapolated(results: list[dict]) -> dict[int, dict[str, float]]:
    """Cold build at a synthetic size: measured build (seeded cache) + the seed size's embedding seconds
    per passage (its real cold build, from these results or as recorded beside the synthetic size's)."""
    real = {r["size"]: r["build"] for r in results if r["size"] <= REAL_MAX}
    out = {}
    for r in results:
        if r["size"] <= REAL_MAX:
            continue
        ref = real.get(SEED_SIZE) or r.get("seed_build") or real[max(real)]
        est = {}
        for who, unit in (("p", "passages"), ("b", "chunks")):
            built, rb = r["build"][who], ref[who]
            rate_w, rate_c = rb["embed_wall"] / max(1, rb["embedded"]), rb["embed_cpu"] / max(1, rb["embedded"])
            n = built[unit]
            est[who] = {"wall": built["wall"] - built["embed_wall"] + rate_w * n,
                        "cpu": built["cpu"] - built["embed_cpu"] + rate_c * n, "n": n}
        out[r["size"]] = est
    return out


def report(results: list[dict], args: argparse.Namespace, started: float) -> None:
    est = extrapolated(results)
    print(f"# bench/bench_scale.py {' '.join(sys.argv[1:])}  ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"{os.cpu_count()} cores, load at start {os.getloadavg()[0]:.2f})")
    for r in results:
        b, p = r["build"]["b"], r["build"]["p"]
        synthetic = r["size"] > REAL_MAX
        kept = "  (builds kept from an earlier run)" if r["build"].get("kept") else ""
        print(f"\n## size {r['size']}: P {p['units']} units in {p['documents']} documents, B {b['chunks']} chunks"
              f"{'  [varied copies with synthetic vectors]' if synthetic else ''}{kept}")
        row = "  {:<40} {:>28} {:>28}"
        print(row.format("", "P (this project)", "B (LangChain + Chroma)"))
        if synthetic:
            e = est[r["size"]]
            print(row.format("cold build, wall / CPU s (EXTRAPOLATED)", f"{e['p']['wall']:.0f} / {e['p']['cpu']:.0f}",
                             f"{e['b']['wall']:.0f} / {e['b']['cpu']:.0f}"))
            print(row.format("  of which measured build, seeded cache", f"{p['wall']:.1f} / {p['cpu']:.1f}",
                             f"{b['wall']:.1f} / {b['cpu']:.1f}"))
            print(row.format("  passages to embed (e5+USE / e5)", f"{e['p']['n']}", f"{e['b']['n']}"))
        else:
            print(row.format("cold build, wall / CPU s", f"{p['wall']:.1f} / {p['cpu']:.1f}", f"{b['wall']:.1f} / {b['cpu']:.1f}"))
            print(row.format("  of which embedding, wall s (passages)", f"{p['embed_wall']:.1f} ({p['embedded']})",
                             f"{b['embed_wall']:.1f} ({b['embedded']})"))
        print(row.format("  peak RSS of the build, MB", f"{p['rss']:.0f}", f"{b['rss']:.0f}"))
        if b.get("batches", 1) > 1:
            print(row.format("  B's one add_documents split for Chroma", "", f"into {b['batches']} calls"))
        pa, ba = r["p-add"], r["b-add"]
        print(row.format(f"add one document ({ADD_LAW}), wall / CPU s", f"{pa['wall']:.2f} / {pa['cpu']:.2f}",
                         f"{ba['wall']:.2f} / {ba['cpu']:.2f}"))
        print(row.format("  embedded / peak RSS MB", f"{pa['embedded']} / {pa['rss']:.0f}",
                         f"{ba['chunks']} chunks / {ba['rss']:.0f}"))
        ps, bs = r["p-serve"], r["b-serve"]
        print(row.format("start → first answer, wall / CPU s", f"{ps['start']:.2f} / {ps['start_cpu']:.2f}",
                         f"{bs['start']:.2f} / {bs['start_cpu']:.2f}"))
        print(row.format("  of which open + first answer, s", f"{ps['open_ask']:.2f}", f"{bs['open_ask']:.2f}"))
        pw, bw = ps["warm"], bs["warm"]
        print(row.format(f"warm answer p50 / p95 / max ms (n={pw['n']})", f"{pw['p50']:.1f} / {pw['p95']:.1f} / {pw['max']:.0f}",
                         f"{bw['p50']:.1f} / {bw['p95']:.1f} / {bw['max']:.0f}"))
        print(row.format("  CPU ms per warm answer", f"{pw['cpu_ms']:.1f}", f"{bw['cpu_ms']:.1f}"))
        print(row.format("peak RSS serving, MB", f"{ps['rss']:.0f}", f"{bs['rss']:.0f}"))
        print(row.format("disk of the index, MB", f"{p['disk']:.1f}", f"{b['disk']:.1f}"))
        c = r["p-conc"]
        print(row.format(f"throughput 1 / {CLIENTS} clients, answers/s", f"{c['one']:.1f} / {c['many']:.1f} "
                         f"(×{c['many'] / c['one']:.2f})", "—"))
        print(row.format(f"  {CLIENTS} clients p50 / p95 ms; workers", f"{c['many_p50']:.0f} / {c['many_p95']:.0f}; {c['workers']}", ""))
        loads = [r["build"]["p"]["load"], r["build"]["b"]["load"]] + [r[k]["load"] for k in ("p-add", "b-add", "p-serve", "b-serve", "p-conc")]
        print(f"  1-min load average after each phase: {', '.join(f'{x:.1f}' for x in loads)}")
    print("\n## floors")
    by_size = {r["size"]: figures(r) for r in results}
    for what, size, key, limit, how in FLOORS:
        if size not in by_size:
            print(f"  {what:<44} at {size:>6}: not run")
            continue
        value = by_size[size][key]
        ok = value <= limit if how == "le" else value >= limit
        print(f"  {what:<44} at {size:>6}: {value:8.2f}  {'PASS' if ok else 'FAIL'}")
    if not args.report:
        print(f"\nwhole bench: {time.time() - started:.0f} s wall")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default=DEFAULT_SIZES)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_QUESTIONS} warm questions only")
    parser.add_argument("--external", type=Path, default=DEFAULT_EXTERNAL)
    parser.add_argument("--keep", type=Path, help="reuse (and keep) the built indexes in this folder")
    parser.add_argument("--json", type=Path, help="also write every figure here")
    parser.add_argument("--report", type=Path, nargs="+", metavar="JSON",
                        help="print the figures of earlier --json files (one table, all their sizes) and stop")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--home", help=argparse.SUPPRESS)
    parser.add_argument("--seed", help=argparse.SUPPRESS)
    parser.add_argument("--spawned", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.external = args.external.resolve()
    if args.phase:
        child(args)
        return 0
    if args.report:
        results = sorted((r for f in args.report for r in json.loads(f.read_text())), key=lambda r: r["size"])
        report(results, args, time.time())
        return 0
    if not (args.external / "bulk" / f"{ADD_LAW}.md").exists():
        raise SystemExit(f"the external documents are missing: expected {args.external}/*.md and bulk/")
    started = time.time()
    root = args.keep.resolve() if args.keep else Path(tempfile.mkdtemp(prefix="bench-scale-"))
    try:
        results = [bench_size(int(s), root, args) for s in sorted(int(x) for x in args.sizes.split(","))]
        if args.json:
            args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1))
        report(results, args, started)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
