"""corpus/ → parse → embed (cached) → store. The one entry point for (re)building the index."""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from config import Settings
from indexer.embed import EmbeddingCache, make_embedder
from indexer.loaders import SUPPORTED, DocumentError, read_document
from indexer.parse import ParseResult, Unit, parse
from indexer.store import open_store, unit_of
from indexer.tokenize import lexicon, tokens

PARSER_VERSION = "3"


@dataclass
class Document:
    id: str
    title: str
    file: str
    source: str = ""
    version: str = ""


@dataclass
class BuildReport:
    documents: int = 0
    units: int = 0
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    skipped: bool = False  # the index was already up to date
    embedded: int = 0  # passages actually embedded (not from the cache)
    conflicts: list[dict] = field(default_factory=list)  # a new document's permissions another forbids
    change: dict = field(default_factory=dict)  # the knowledge-base change this build made (KbChange)


def unit_passage(unit: Unit) -> str:
    """What the dense models see: the heading path gives a bare item ("3.负责…") its context."""
    return " > ".join(unit.context() + [unit.text])


VALID_ID = re.compile(r"[0-9A-Za-z\u4e00-\u9fff_-]{1,40}")  # no ':' (it separates a unit id), no '/' or '..'


def slug(name: str) -> str:
    return re.sub(r"[^0-9A-Za-z\u4e00-\u9fff_-]+", "-", name).strip("-")[:40] or "doc"


def load_manifest(corpus_dir: Path) -> list[Document]:
    """Documents listed in manifest.json, then any other supported file a user dropped in corpus/."""
    manifest = corpus_dir / "manifest.json"
    docs = []
    if manifest.exists():
        docs = [Document(**{k: v for k, v in d.items() if k in Document.__dataclass_fields__})
                for d in json.loads(manifest.read_text(encoding="utf-8"))["documents"]]
    listed = {d.file for d in docs}
    for path in sorted(corpus_dir.iterdir()) if corpus_dir.exists() else []:
        if path.suffix.lower() in SUPPORTED and path.name not in listed and not path.name.startswith("."):
            if path.name.lower() == "readme.md":
                continue
            docs.append(Document(id=slug(path.stem), title=path.stem, file=path.name, source=path.name))
    return docs


def read_units(corpus_dir: Path, docs: list[Document]) -> tuple[list[Unit], BuildReport]:
    report = BuildReport()
    units: list[Unit] = []
    for doc in docs:
        try:
            text = read_document(corpus_dir / doc.file)
        except DocumentError as exc:
            report.errors.append(str(exc))
            continue
        doc.version = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
        result = parse(doc.id, doc.title, text)
        if not result.units:
            report.errors.append(f"{doc.file}: no citable text found")
            continue
        report.documents += 1
        report.warnings += result.warnings
        units += result.units
    report.units = len(units)
    return units, report


def fingerprint(docs: list[Document], settings: Settings) -> str:
    """Changes with the documents, the parser, the models and the vocabulary's whole terms (jieba keeps
    them unsplit, so they shape every unit's tokens)."""
    terms = hashlib.sha256(json.dumps(lexicon().get("terms", []), ensure_ascii=False).encode()).hexdigest()[:8]
    parts = [PARSER_VERSION, ",".join(settings.embedders), terms] + [f"{d.id}:{d.title}:{d.version}" for d in docs]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


Progress = Callable[[int, int], None]  # (passages done, passages in all)


def build_index(settings: Settings, force: bool = False, progress: bool | Progress = False,
                conflicts_for: str | None = None, recover: bool = True) -> BuildReport:
    """Build or refresh the index; unchanged corpora are a no-op, unchanged units are not re-embedded.
    An add that was killed before it finished is rolled back first (``recover_pending``).

    ``progress`` is True for a terminal progress bar, or a function the web app uses for its own.
    ``conflicts_for``: a document just added, whose permissions are checked against other documents'
    prohibitions (reported and kept in the build's metadata)."""
    rolled_back = recover_pending(settings.corpus_dir) if recover else []
    docs = load_manifest(settings.corpus_dir)
    units, report = read_units(settings.corpus_dir, docs)
    report.warnings.extend(rolled_back)
    store = open_store(settings)
    if not units:
        raise DocumentError("no documents could be indexed: " + "; ".join(report.errors or ["corpus is empty"]))
    indexed = [d for d in docs if d.version]
    stamp = fingerprint(indexed, settings)
    current = store.current_meta()
    if current and current.get("fingerprint") == stamp and not force:
        problem = store.damage(store.current_dir()) if hasattr(store, "damage") else ""
        if not problem:
            report.skipped = True
            if hasattr(store, "add_lexical") and store.add_lexical():
                report.warnings.append("the current build had no saved BM25 indexes; they were added")
            return report
        report.warnings.append(f"the current build was damaged ({problem}); rebuilt")

    cache = EmbeddingCache(settings.cache_path)
    passages = [unit_passage(u) for u in units]
    vectors = {}
    total = len(passages) * len(settings.embedders)
    done = 0
    bar = None
    if progress is True:
        from tqdm import tqdm

        bar = tqdm(total=total, desc="embedding", unit="unit")

    def advance(n: int) -> None:
        nonlocal done
        done += n
        if bar:
            bar.update(n)
        elif callable(progress):
            progress(done, total)

    try:
        for name in settings.embedders:
            embedder = make_embedder(name, settings.threads, settings.st_model_path)
            vectors[name], embedded = cache.passages(embedder, passages, progress=advance)
            report.embedded += embedded
            advance(len(passages) - embedded)  # the cached ones
    finally:
        if bar:
            bar.close()
        cache.close()
    unit_tokens = UnitTokens(store.current_rows() if current and not force else [], current)
    if conflicts_for:
        report.conflicts = _conflicts(settings, units, passages, vectors, conflicts_for, unit_tokens.text_only)
    # pairs flagged by earlier adds stay flagged while both units are indexed (answers read them)
    ids = {u.id for u in units}
    earlier = [c for c in (current or {}).get("conflicts", []) if c["new"] in ids and c["existing"] in ids
               and c not in report.conflicts and c["new"].split(":", 1)[0] != conflicts_for]
    meta = {
        "conflicts": earlier + report.conflicts,
        "fingerprint": stamp,
        "parser_version": PARSER_VERSION,
        "embedders": list(settings.embedders),
        "documents": [d.__dict__ | {"units": sum(1 for u in units if u.doc_id == d.id)} for d in indexed],
        "warnings": report.warnings,
        "errors": report.errors,
        "units": len(units),
    }
    meta["tokenizer"] = tokenizer_version()
    store.write_build(units, unit_tokens.all(units), vectors, meta,
                      keys=[hashlib.sha256(p.encode("utf-8")).hexdigest()[:16] for p in passages], incremental=not force)
    return report


def tokenizer_version() -> str:
    """Tokens depend on indexer/tokenize.py and the vocabulary's whole terms: one build's tokens are
    reused by the next only while both are unchanged."""
    from indexer import tokenize

    terms = json.dumps(lexicon().get("terms", []), ensure_ascii=False).encode()
    return hashlib.sha256(Path(tokenize.__file__).read_bytes() + terms).hexdigest()[:12]


def _lexical_text(unit: Unit) -> str:
    """What a unit's lexical tokens are made of: its nearest heading, then its text."""
    return " ".join(unit.context(1) + [unit.text])


class UnitTokens:
    """Each unit's lexical tokens, tokenised once per build and reused from the previous build while the
    tokenizer is the same: adding one law to thousands of units re-tokenises only that law (jieba and
    OpenCC are most of an add's time otherwise)."""

    def __init__(self, previous_rows: list[dict], previous_meta: dict | None) -> None:
        self.known: dict[str, list[str]] = {}
        if previous_rows and (previous_meta or {}).get("tokenizer") == tokenizer_version():
            for row in previous_rows:
                self.known[_lexical_text(unit_of(row))] = row["tokens"]
        self._headings: dict[str, list[str]] = {}

    def of(self, unit: Unit) -> list[str]:
        text = _lexical_text(unit)
        if text not in self.known:
            self.known[text] = tokens(text)
        return self.known[text]

    def all(self, units: list[Unit]) -> list[list[str]]:
        return [self.of(u) for u in units]

    def text_only(self, unit: Unit) -> list[str]:
        """The tokens of the unit's text alone (the heading's are a prefix: the space between them ends
        every token, so tokens(heading + " " + text) == tokens(heading) + tokens(text))."""
        heading = " ".join(unit.context(1))
        if heading not in self._headings:
            self._headings[heading] = tokens(heading)
        return self.of(unit)[len(self._headings[heading]):]


def _conflicts(settings: Settings, units: list[Unit], passages: list[str], vectors: dict, doc_id: str,
               words: Callable[[Unit], list[str]]) -> list[dict]:
    """The new document's contradictions, with the index's e5 vectors (embedded here if e5 is not indexed)."""
    from indexer.conflicts import as_meta, find_conflicts

    matrix = vectors.get("e5")
    if matrix is None:
        cache = EmbeddingCache(settings.cache_path)
        try:
            matrix = cache.passages(make_embedder("e5", settings.threads), passages)[0]
        finally:
            cache.close()
    return as_meta(find_conflicts(units, matrix, doc_id, min_similarity=settings.conflict_similarity,
                                  min_shared=settings.conflict_shared, words=words))


def _document_meta(settings: Settings, doc_id: str) -> dict:
    """The current build's entry for a document (version hash, units), or {} if it is not indexed."""
    meta = open_store(settings).current_meta() or {}
    return next((d for d in meta.get("documents", []) if d["id"] == doc_id), {})


def _change(settings: Settings, action: str, doc: Document, before: dict, conflicts: list[dict]) -> dict:
    """What a knowledge-base change did, for the audit trail (audit.log.AuditLog.record_kb_change)."""
    meta = open_store(settings).current_meta() or {}
    after = next((d for d in meta.get("documents", []) if d["id"] == doc.id), {}) if action != "remove" else {}
    return {"action": action, "doc_id": doc.id, "title": doc.title, "file": doc.file,
            "old_hash": before.get("version", ""), "new_hash": after.get("version", ""),
            "old_units": before.get("units", 0), "new_units": after.get("units", 0),
            "build_id": meta.get("build_id", ""), "conflicts": conflicts}


def check_document(settings: Settings, source: Path, doc_id: str | None = None,
                   title: str | None = None, replace: bool = False) -> tuple[Document, ParseResult]:
    """Read and parse a new policy file without touching the corpus: what the user confirms before adding."""
    text = read_document(source)
    if doc_id is not None and not VALID_ID.fullmatch(doc_id):
        raise DocumentError(f"{source.name}: the id '{doc_id}' may hold only letters, digits, Chinese characters, "
                            f"'-' and '_' (at most 40)")
    doc = Document(id=doc_id or slug(source.stem), title=title or source.stem, file=source.name, source=source.name)
    result = parse(doc.id, doc.title, text)
    if not result.units:
        raise DocumentError(f"{source.name}: no citable text found")
    docs = load_manifest(settings.corpus_dir)
    taken = {d.id: d.file for d in docs}
    if doc.id in taken and taken[doc.id] != source.name:
        raise DocumentError(f"{source.name}: a document with id '{doc.id}' already exists ({taken[doc.id]})")
    same = next((d for d in docs if d.file == source.name), None)
    if same is not None and not replace:
        raise DocumentError(f"{source.name}: the corpus already holds a file of that name ('{same.title}', id "
                            f"'{same.id}'); rename the file, or replace that document explicitly (add --replace)")
    return doc, result


def add_document(settings: Settings, source: Path, doc_id: str | None = None, title: str | None = None,
                 progress: bool | Progress = False, replace: bool = False) -> tuple[Document, BuildReport]:
    """Copy a checked policy file into the corpus and rebuild. If anything fails, the corpus is put
    back as it was, so the file is either indexed or not there at all. A file of the same name as a
    document in the corpus is refused unless ``replace``; the replaced file is kept in corpus/.versions/."""
    rolled_back = recover_pending(settings.corpus_dir)  # an earlier add that was killed
    doc, _ = check_document(settings, source, doc_id, title, replace)
    settings.corpus_dir.mkdir(parents=True, exist_ok=True)
    target = settings.corpus_dir / source.name
    manifest = settings.corpus_dir / "manifest.json"
    if replace and target.exists():
        kept = settings.corpus_dir / ".versions" / f"{time.strftime('%Y%m%dT%H%M%S')}-{target.name}"
        kept.parent.mkdir(exist_ok=True)
        shutil.copyfile(target, kept)
    else:
        kept = None
    before = _document_meta(settings, doc.id)
    with _pending(settings.corpus_dir, target, kept), _restorable(target, manifest):
        shutil.copyfile(source, target)
        _write_manifest(settings.corpus_dir, [d for d in load_manifest(settings.corpus_dir) if d.file != doc.file] + [doc])
        report = build_index(settings, progress=progress, conflicts_for=doc.id, recover=False)
        if any(e.startswith(source.name) for e in report.errors):
            raise DocumentError(next(e for e in report.errors if e.startswith(source.name)))
    report.warnings[:0] = rolled_back
    report.change = _change(settings, "replace" if before else "add", doc, before, report.conflicts)
    return doc, report


PENDING = ".pending-add.json"  # in the corpus dir while an add is under way


@contextmanager
def _pending(corpus_dir: Path, target: Path, kept: Path | None):
    """Journal an add before touching the corpus, so a process killed outright (SIGKILL, power loss)
    leaves a record the next build rolls back (``recover_pending``); removed once the add has ended,
    committed or restored by ``_restorable``."""
    manifest = corpus_dir / "manifest.json"
    entry = {"file": target.name, "created": not target.exists(), "kept": str(kept) if kept else None,
             "manifest": manifest.read_text(encoding="utf-8") if manifest.exists() else None}
    journal = corpus_dir / PENDING
    tmp = journal.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(entry, f, ensure_ascii=False)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, journal)
    try:
        yield
    finally:
        journal.unlink(missing_ok=True)


def recover_pending(corpus_dir: Path) -> list[str]:
    """Roll back an add that never finished (its process was killed): the file goes (or the replaced
    version comes back) and the manifest is as before. Returns what was done, for the report."""
    journal = corpus_dir / PENDING
    if not journal.exists():
        return []
    try:
        entry = json.loads(journal.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        journal.unlink(missing_ok=True)
        return ["an interrupted add left an unreadable journal; it was removed (check corpus/manifest.json)"]
    target = corpus_dir / Path(entry["file"]).name
    if entry.get("created"):
        target.unlink(missing_ok=True)
    elif entry.get("kept") and Path(entry["kept"]).exists():
        shutil.copyfile(entry["kept"], target)
    manifest = corpus_dir / "manifest.json"
    if entry.get("manifest") is None:
        manifest.unlink(missing_ok=True)
    else:
        manifest.write_text(entry["manifest"], encoding="utf-8")
    journal.unlink()
    return [f"an interrupted add of {target.name} was rolled back; add it again if it is wanted"]


def remove_document(settings: Settings, doc_id: str, progress: bool | Progress = False) -> BuildReport:
    """Take a document out of the corpus (file and manifest entry) and rebuild without its units."""
    docs = load_manifest(settings.corpus_dir)
    doc = next((d for d in docs if d.id == doc_id), None)
    if doc is None:
        raise DocumentError(f"no document with id '{doc_id}'")
    if len(docs) == 1:
        raise DocumentError("the last document cannot be removed: the index would be empty")
    target = settings.corpus_dir / doc.file
    manifest = settings.corpus_dir / "manifest.json"
    before = _document_meta(settings, doc_id)
    with _restorable(target, manifest):
        _write_manifest(settings.corpus_dir, [d for d in docs if d.id != doc_id])
        target.unlink(missing_ok=True)
        report = build_index(settings, progress=progress)
    report.change = _change(settings, "remove", doc, before, [])
    return report


def _write_manifest(corpus_dir: Path, docs: list[Document]) -> None:
    fields = ("id", "title", "file", "source")
    rows = [{k: getattr(d, k) for k in fields} | ({"version": d.version} if d.version else {}) for d in docs]
    path = corpus_dir / "manifest.json"
    old = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(old | {"documents": rows}, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


@contextmanager
def _restorable(*paths: Path):
    """Keep copies of these files; on any error put them back (or remove them if they were new)."""
    saved = {p: p.read_bytes() if p.exists() else None for p in paths}
    try:
        yield
    except BaseException:
        for path, data in saved.items():
            if data is None:
                path.unlink(missing_ok=True)
            else:
                path.write_bytes(data)
        raise
