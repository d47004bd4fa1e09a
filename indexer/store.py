"""The on-disk index: one folder per build, published by an atomic pointer swap.

    data/index/builds/<build-id>/chroma/      embedded Chroma, one collection of ids and vectors per embedder
    data/index/builds/<build-id>/units.json   every unit with its metadata and lexical tokens
    data/index/builds/<build-id>/meta.json    documents, versions, warnings, fingerprint
    data/index/builds/<build-id>/lexical/     the BM25 indexes (bm25s, indexer/lexical.py), lexical.json last
    data/index/CURRENT                        the build id that serves

A build is written in full before CURRENT moves to it, so a build that fails half way leaves the
previous index serving; readers never see a half-written index. A build starts from a copy of the
current one's Chroma folder and changes only the units that changed (IndexStore.write_build).

With CHROMA_HOST set, ServerIndexStore keeps the same things in a Chroma server instead (one
collection per build and embedder, the units in their metadata, the pointer in the metadata of a
small "policyqa-current" collection), so that several app instances share one index. The BM25
indexes are not kept there: each instance builds them in memory when it opens the index.
"""
from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from indexer import lexical
from indexer.parse import Unit

COLLECTION_PREFIX = "units-"
BATCH = 1000  # ids per Chroma call


def _client(path: Path):
    import chromadb

    return chromadb.PersistentClient(path=str(path), settings=chromadb.Settings(anonymized_telemetry=False))


class IndexMissing(RuntimeError):
    """No index has been built yet."""


@dataclass
class Index:
    """A published build, opened read-only for retrieval."""

    build_id: str
    meta: dict
    units: list[Unit]
    tokens: list[list[str]]
    collection_of: Callable[[str], object]  # embedder name → its Chroma collection in this build
    build_dir: Path | None = None  # the build folder, where its saved BM25 indexes are (None: a Chroma server)
    exact_scan_max: int = 10_000  # units up to which dense search scans every vector (Settings.exact_scan_max)

    def __post_init__(self) -> None:
        self.by_id = {u.id: u for u in self.units}
        self.position = {u.id: i for i, u in enumerate(self.units)}
        self._collections: dict[str, object] = {}
        self._vectors: dict[str, np.ndarray] = {}
        self._lexical: dict | None = None
        self.lexical_source = ""  # "saved" or "built": how lexical() got them

    def lexical(self) -> dict:
        """The BM25 indexes by field (indexer/lexical.py): the build's saved ones, memory-mapped, or, for
        a build without them (made before they were saved, or damaged, or in a Chroma server), built in
        memory from the units, once per Index."""
        if self._lexical is None:
            if self.build_dir is not None and lexical.saved(self.build_dir, len(self.units)):
                try:
                    self._lexical, self.lexical_source = lexical.load_all(self.build_dir), "saved"
                except Exception as exc:  # noqa: BLE001 (a damaged file: rebuild rather than fail)
                    self.meta.setdefault("warnings", []).append(f"the saved BM25 indexes could not be read "
                                                                f"({_described(exc)}); built in memory")
            if self._lexical is None:
                self._lexical, self.lexical_source = lexical.build_all(self.units, self.tokens), "built"
        return self._lexical

    def collection(self, embedder: str):
        if embedder not in self._collections:
            self._collections[embedder] = self.collection_of(embedder)
        return self._collections[embedder]

    def vectors(self, embedder: str) -> np.ndarray:
        """All unit vectors of one embedder, in unit order, read once from the Chroma collection."""
        if embedder not in self._vectors:
            stored = self.collection(embedder).get(include=["embeddings"])
            row = {uid: i for i, uid in enumerate(stored["ids"])}
            self._vectors[embedder] = np.asarray([stored["embeddings"][row[u.id]] for u in self.units], dtype=np.float32)
        return self._vectors[embedder]

    def dense_search(self, embedder: str, query_vector: np.ndarray, n: int) -> dict[str, float]:
        """Cosine similarity of the n nearest units, by unit id.

        Up to ``exact_scan_max`` units, an exact scan of the vectors, read once per process: well under a
        millisecond at a few thousand units, and the same neighbours in every process. Past it, Chroma's
        HNSW index answers (in the Chroma server with CHROMA_HOST), so no process reads every vector: at
        50,000 units that read alone would take seconds at start-up. Below it, a Chroma server's HNSW
        gave slightly different neighbours from run to run, and each query over HTTP cost ~60 ms.
        """
        if len(self.units) > self.exact_scan_max:
            return self._nearest(embedder, np.asarray(query_vector, dtype=np.float32), n)
        scores = self.vectors(embedder) @ np.asarray(query_vector, dtype=np.float32)
        top = np.argsort(-scores, kind="stable")[:n]
        return {self.units[i].id: float(scores[i]) for i in top}


    def _nearest(self, embedder: str, query: np.ndarray, n: int) -> dict[str, float]:
        """HNSW's n nearest, scored and ordered as the exact scan would (the same dot product, ties in
        unit order). Twice as many are fetched as are kept: HNSW's misses are at the tail, so the n kept
        are the exact scan's (checked on the shipped and external indexes, tests/test_index.py)."""
        found = self.collection(embedder).query(query_embeddings=[query], n_results=min(2 * n, len(self.units)),
                                                include=["embeddings"])
        ids = found["ids"][0]
        scores = np.asarray(found["embeddings"][0], dtype=np.float32) @ query
        order = sorted(range(len(ids)), key=lambda i: (-scores[i], self.position[ids[i]]))[:n]
        return {ids[i]: float(scores[i]) for i in order}


class IndexStore:
    def __init__(self, index_dir: Path, keep_builds: int = 2, exact_scan_max: int = 10_000) -> None:
        self.index_dir = Path(index_dir)
        self.exact_scan_max = exact_scan_max
        self.builds = self.index_dir / "builds"
        self.keep_builds = keep_builds

    @property
    def pointer(self) -> Path:
        return self.index_dir / "CURRENT"

    def current_id(self) -> str | None:
        build = self.current_dir()
        return build.name if build else None

    def current_dir(self) -> Path | None:
        if not self.pointer.exists():
            return None
        build = self.builds / self.pointer.read_text(encoding="utf-8").strip()
        return build if (build / "meta.json").exists() else None

    def current_meta(self) -> dict | None:
        """The current build's metadata; None if there is none or it cannot be read (then it is rebuilt)."""
        build = self.current_dir()
        try:
            return json.loads((build / "meta.json").read_text(encoding="utf-8")) if build else None
        except (OSError, ValueError):
            return None

    @staticmethod
    def _read(build: Path) -> tuple[dict, list[dict]]:
        """A build's metadata and unit rows, checked whole (one vector per unit for every model);
        raises when anything is damaged (JSON, SQLite or Chroma errors, or a count that differs)."""
        meta = json.loads((build / "meta.json").read_text(encoding="utf-8"))
        rows = json.loads((build / "units.json").read_text(encoding="utf-8"))
        client = _client(build / "chroma")
        for name in meta.get("embedders", []):
            if client.get_collection(COLLECTION_PREFIX + name).count() != len(rows):
                raise ValueError(f"the {name} vectors do not match the units")
        return meta, rows

    def damage(self, build: Path) -> str:
        """'' when a build's files are whole; otherwise what is wrong with it."""
        try:
            self._read(build)
        except Exception as exc:  # a damaged file can fail in JSON, SQLite or Chroma
            return _described(exc)
        return ""

    def open(self) -> Index:
        """The current build; if it is damaged, the newest whole build before it (and a warning in its
        metadata). IndexMissing, with one line that says what to do, when there is none."""
        current = self.current_dir()
        if current is None and not (self.builds.exists() and any(self.builds.iterdir())):
            raise IndexMissing(f"no index in {self.index_dir}; run `python app.py index`")
        others = sorted((p for p in self.builds.iterdir() if p.is_dir() and p != current), reverse=True)
        problems = []
        for build in ([current] if current else []) + others:
            try:
                meta, rows = self._read(build)  # read once: checked and loaded
            except Exception as exc:  # a damaged file can fail in JSON, SQLite or Chroma
                problems.append(f"build {build.name} is damaged ({_described(exc)})")
                continue
            meta["warnings"] = problems + list(meta.get("warnings", []))
            units = [unit_of(row) for row in rows]
            return Index(build.name, meta, units, [row["tokens"] for row in rows],
                         lambda name, build=build: _client(build / "chroma").get_collection(COLLECTION_PREFIX + name),
                         build_dir=build, exact_scan_max=self.exact_scan_max)
        raise IndexMissing(f"the index in {self.index_dir} is damaged ({'; '.join(problems)}); "
                           f"run `python app.py index --force`")

    def add_lexical(self) -> bool:
        """Save the BM25 indexes into the current build if it has none (a build made before they were
        saved): `python app.py index` on an unchanged corpus does this instead of nothing. True if written."""
        build, meta = self.current_dir(), self.current_meta()
        if build is None or (meta and lexical.saved(build, meta.get("units"))):
            return False
        rows = json.loads((build / "units.json").read_text(encoding="utf-8"))
        if lexical.saved(build, len(rows)):
            return False
        units = [unit_of(row) for row in rows]
        lexical.save_all(build, lexical.build_all(units, [row["tokens"] for row in rows]))
        return True

    def current_rows(self) -> list[dict]:
        """The current build's unit rows (with their tokens and passage keys); [] if unreadable."""
        build = self.current_dir()
        try:
            return json.loads((build / "units.json").read_text(encoding="utf-8")) if build else []
        except (OSError, ValueError):
            return []

    def _base(self, embedders: list[str]) -> tuple[Path, dict[str, str]] | None:
        """The current build, if a new one can start from a copy of its Chroma folder: whole, the same
        models, and every unit's passage key recorded. Its unit id → passage key."""
        build = self.current_dir()
        if build is None:
            return None
        try:
            meta, rows = self._read(build)  # read once: checked whole and loaded
        except Exception:  # noqa: BLE001 (a damaged build is simply not copied)
            return None
        keys = {row["id"]: row.get("key") for row in rows}
        return (build, keys) if meta.get("embedders") == list(embedders) and keys and all(keys.values()) else None

    def write_build(self, units: list[Unit], tokens: list[list[str]], vectors: dict[str, np.ndarray], meta: dict,
                    keys: list[str] | None = None, incremental: bool = True) -> str:
        """Write a complete build into a fresh folder and publish it; on any error nothing changes.

        ``keys`` name each unit's passage (a hash): with them, the new build starts from a copy of the
        current build's Chroma folder and only adds the units whose passage is new and deletes the ones
        gone, so adding one law to thousands of units writes that law's vectors, not all of them.
        The collections hold ids and vectors only: the units themselves are in units.json."""
        self.builds.mkdir(parents=True, exist_ok=True)
        build_id = new_build_id()
        build = self.builds / build_id
        base = self._base(list(vectors)) if incremental and keys else None
        try:
            if base:
                shutil.copytree(base[0] / "chroma", build / "chroma")
            client = _client(build / "chroma")
            for name, matrix in vectors.items():
                if base:
                    collection = client.get_collection(COLLECTION_PREFIX + name)
                    self._update(collection, units, matrix, keys, base[1])
                else:
                    collection = client.create_collection(
                        COLLECTION_PREFIX + name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}})
                    _add(collection, [u.id for u in units], matrix)
                if collection.count() != len(units):
                    raise RuntimeError(f"the {name} collection holds {collection.count()} vectors for {len(units)} units")
            rows = [u.to_dict() | {"tokens": t} | ({"key": k} if keys else {})
                    for u, t, k in zip(units, tokens, keys or [None] * len(units))]
            (build / "units.json").write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
            lexical.save_all(build, lexical.build_all(units, tokens))
            meta = meta | {"build_id": build_id, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                           "incremental_from": base[0].name if base else ""}
            (build / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
            del client
        except BaseException:
            shutil.rmtree(build, ignore_errors=True)
            raise
        tmp = self.pointer.with_suffix(".tmp")
        tmp.write_text(build_id, encoding="utf-8")
        os.replace(tmp, self.pointer)
        self._prune(keep=build_id)
        return build_id

    @staticmethod
    def _update(collection, units: list[Unit], matrix: np.ndarray, keys: list[str], old: dict[str, str]) -> None:
        """Bring a copied collection to these units: drop the ids gone or re-worded, add the new ones."""
        new = dict(zip((u.id for u in units), keys))
        stale = [uid for uid, key in old.items() if new.get(uid) != key]
        for start in range(0, len(stale), BATCH):
            collection.delete(ids=stale[start:start + BATCH])
        fresh = [i for i, u in enumerate(units) if old.get(u.id) != keys[i]]
        _add(collection, [units[i].id for i in fresh], matrix[fresh])

    def _prune(self, keep: str) -> None:
        builds = sorted(p for p in self.builds.iterdir() if p.is_dir())
        old = [p for p in builds if p.name != keep][: max(0, len(builds) - self.keep_builds)]
        for path in old:
            shutil.rmtree(path, ignore_errors=True)


def unit_of(row: dict) -> Unit:
    """A unit from its row in units.json (which also holds its tokens and passage key)."""
    return Unit(**{k: v for k, v in row.items() if k in Unit.__dataclass_fields__})


def _add(collection, ids: list[str], matrix: np.ndarray) -> None:
    for start in range(0, len(ids), BATCH):
        collection.add(ids=ids[start:start + BATCH], embeddings=matrix[start:start + BATCH])


def _described(exc: Exception) -> str:
    return f"{exc.__class__.__name__}: {str(exc)[:120]}"


def new_build_id() -> str:
    """Sorts in the order builds were made (to the microsecond): pruning and falling back rely on it."""
    now = time.time()
    return time.strftime("%Y%m%d-%H%M%S", time.localtime(now)) + f"-{int(now * 1e6) % 1_000_000:06d}-" + uuid.uuid4().hex[:4]


class ServerIndexStore:
    """The index in a Chroma server (CHROMA_HOST), shared by every app instance pointing at it.

    There is no local build folder, so the BM25 indexes are not saved: ``Index.lexical`` builds them
    in memory from the units the first time a Retriever opens the index (about as long as rank_bm25's
    start-up was: 4–5 s at 3,734 units; docs/stack.md has the figures)."""

    POINTER = "policyqa-current"

    def __init__(self, host: str, port: int, keep_builds: int = 2, exact_scan_max: int = 10_000) -> None:
        import chromadb

        self.exact_scan_max = exact_scan_max
        self.client = chromadb.HttpClient(host=host, port=port, settings=chromadb.Settings(anonymized_telemetry=False))
        self.keep_builds = keep_builds

    def _pointer(self):
        return self.client.get_or_create_collection(self.POINTER, embedding_function=None)

    def current_meta(self) -> dict | None:
        meta = (self._pointer().metadata or {}).get("meta")
        return json.loads(meta) if meta else None

    def current_id(self) -> str | None:
        meta = self.current_meta()
        return meta["build_id"] if meta else None

    def _name(self, build_id: str, embedder: str) -> str:
        return f"b-{build_id}-{embedder}"

    def open(self) -> Index:
        from indexer.tokenize import tokens as tokenize

        meta = self.current_meta()
        if meta is None:
            raise IndexMissing("no index in the Chroma server yet; run `python app.py index`")
        build_id = meta["build_id"]
        stored = self.client.get_collection(self._name(build_id, meta["embedders"][0])).get(
            include=["documents", "metadatas"])
        rows = sorted(zip(stored["ids"], stored["documents"], stored["metadatas"]), key=lambda r: r[2]["position"])
        units = [Unit(id=uid, doc_id=m["doc_id"], doc_title=m["doc_title"], label=m["label"], path=json.loads(m["path_json"]),
                      text=text, kind=m["kind"], line=m["line"], order=m["order"], stub=m["stub"])
                 for uid, text, m in rows]
        return Index(build_id, meta, units, [tokenize(" ".join(u.context(1) + [u.text])) for u in units],
                     lambda name: self.client.get_collection(self._name(build_id, name)),
                     exact_scan_max=self.exact_scan_max)

    def current_rows(self) -> list[dict]:
        """Nothing to reuse: a server build is written whole (its tokens are not kept in the server)."""
        return []

    def write_build(self, units: list[Unit], tokens: list[list[str]], vectors: dict[str, np.ndarray], meta: dict,
                    keys: list[str] | None = None, incremental: bool = True) -> str:
        """Write every collection of the new build, then move the pointer; on any error drop them."""
        build_id = new_build_id()
        names = [self._name(build_id, name) for name in vectors]
        try:
            for name, matrix in vectors.items():
                collection = self.client.create_collection(self._name(build_id, name), embedding_function=None,
                                                           configuration={"hnsw": {"space": "cosine"}})
                for start in range(0, len(units), 500):
                    part = units[start:start + 500]
                    collection.add(
                        ids=[u.id for u in part], embeddings=matrix[start:start + len(part)],
                        documents=[u.text for u in part],
                        metadatas=[{"doc_id": u.doc_id, "doc_title": u.doc_title, "label": u.label,
                                    "path": " > ".join(u.path), "path_json": json.dumps(u.path, ensure_ascii=False),
                                    "kind": u.kind, "order": u.order, "line": u.line, "stub": u.stub,
                                    "position": start + i} for i, u in enumerate(part)],
                    )
        except BaseException:
            for name in names:
                try:
                    self.client.delete_collection(name)
                except Exception:  # noqa: BLE001 (it may never have been made)
                    pass
            raise
        meta = meta | {"build_id": build_id, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        self._pointer().modify(metadata={"meta": json.dumps(meta, ensure_ascii=False)})
        self._prune(keep=build_id)
        return build_id

    def _prune(self, keep: str) -> None:
        builds = sorted({c.name.split("-", 1)[1].rsplit("-", 1)[0] for c in self.client.list_collections()
                         if c.name.startswith("b-")})
        for old in [b for b in builds if b != keep][: max(0, len(builds) - self.keep_builds)]:
            for c in self.client.list_collections():
                if c.name.startswith(f"b-{old}-"):
                    self.client.delete_collection(c.name)


def open_store(settings) -> IndexStore | ServerIndexStore:
    """Where the index lives: a folder under the data dir, or a Chroma server when CHROMA_HOST is set."""
    if settings.chroma_host:
        return ServerIndexStore(settings.chroma_host, settings.chroma_port, settings.keep_builds,
                                settings.exact_scan_max)
    return IndexStore(settings.index_dir, settings.keep_builds, settings.exact_scan_max)
