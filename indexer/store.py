"""The on-disk index: one folder per build, published by an atomic pointer swap.

    data/index/builds/<build-id>/chroma/      embedded Chroma, one collection per embedder
    data/index/builds/<build-id>/units.json   every unit with its metadata and lexical tokens
    data/index/builds/<build-id>/meta.json    documents, versions, warnings, fingerprint
    data/index/CURRENT                        the build id that serves

A build is written in full before CURRENT moves to it, so a build that fails half way leaves the
previous index serving; readers never see a half-written index.
"""
from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from indexer.parse import Unit

COLLECTION_PREFIX = "units-"


def _client(path: Path):
    import chromadb

    return chromadb.PersistentClient(path=str(path), settings=chromadb.Settings(anonymized_telemetry=False))


class IndexMissing(RuntimeError):
    """No index has been built yet."""


@dataclass
class Index:
    """A published build, opened read-only for retrieval."""

    build_dir: Path
    meta: dict
    units: list[Unit]
    tokens: list[list[str]]

    def __post_init__(self) -> None:
        self.by_id = {u.id: u for u in self.units}
        self.position = {u.id: i for i, u in enumerate(self.units)}
        self._collections: dict[str, object] = {}
        self._vectors: dict[str, np.ndarray] = {}

    def collection(self, embedder: str):
        if embedder not in self._collections:
            self._collections[embedder] = _client(self.build_dir / "chroma").get_collection(COLLECTION_PREFIX + embedder)
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

        An exact scan of the stored vectors rather than Chroma's approximate HNSW query: at this size
        (hundreds to a few thousand units) it takes well under a millisecond, and HNSW returned slightly
        different neighbours from one process to the next, so the same question could get two answers."""
        scores = self.vectors(embedder) @ np.asarray(query_vector, dtype=np.float32)
        top = np.argsort(-scores, kind="stable")[:n]
        return {self.units[i].id: float(scores[i]) for i in top}


class IndexStore:
    def __init__(self, index_dir: Path, keep_builds: int = 2) -> None:
        self.index_dir = Path(index_dir)
        self.builds = self.index_dir / "builds"
        self.keep_builds = keep_builds

    @property
    def pointer(self) -> Path:
        return self.index_dir / "CURRENT"

    def current_dir(self) -> Path | None:
        if not self.pointer.exists():
            return None
        build = self.builds / self.pointer.read_text(encoding="utf-8").strip()
        return build if (build / "meta.json").exists() else None

    def current_meta(self) -> dict | None:
        build = self.current_dir()
        return json.loads((build / "meta.json").read_text(encoding="utf-8")) if build else None

    def open(self) -> Index:
        build = self.current_dir()
        if build is None:
            raise IndexMissing(f"no index in {self.index_dir}; run `python app.py index`")
        meta = json.loads((build / "meta.json").read_text(encoding="utf-8"))
        rows = json.loads((build / "units.json").read_text(encoding="utf-8"))
        units = [Unit(**{k: v for k, v in row.items() if k != "tokens"}) for row in rows]
        return Index(build, meta, units, [row["tokens"] for row in rows])

    def write_build(self, units: list[Unit], tokens: list[list[str]], vectors: dict[str, np.ndarray], meta: dict) -> Path:
        """Write a complete build into a fresh folder and publish it; on any error nothing changes."""
        self.builds.mkdir(parents=True, exist_ok=True)
        build_id = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        build = self.builds / build_id
        try:
            client = _client(build / "chroma")
            for name, matrix in vectors.items():
                collection = client.create_collection(
                    COLLECTION_PREFIX + name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
                )
                for start in range(0, len(units), 1000):
                    part = units[start:start + 1000]
                    collection.add(
                        ids=[u.id for u in part],
                        embeddings=matrix[start:start + len(part)],
                        documents=[u.text for u in part],
                        metadatas=[{
                            "doc_id": u.doc_id, "doc_title": u.doc_title, "label": u.label,
                            "path": " > ".join(u.path), "kind": u.kind, "order": u.order,
                        } for u in part],
                    )
            rows = [u.to_dict() | {"tokens": t} for u, t in zip(units, tokens)]
            (build / "units.json").write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
            meta = meta | {"build_id": build_id, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
            (build / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
            del client
        except BaseException:
            shutil.rmtree(build, ignore_errors=True)
            raise
        tmp = self.pointer.with_suffix(".tmp")
        tmp.write_text(build_id, encoding="utf-8")
        os.replace(tmp, self.pointer)
        self._prune(keep=build_id)
        return build

    def _prune(self, keep: str) -> None:
        builds = sorted(p for p in self.builds.iterdir() if p.is_dir())
        old = [p for p in builds if p.name != keep][: max(0, len(builds) - self.keep_builds)]
        for path in old:
            shutil.rmtree(path, ignore_errors=True)
