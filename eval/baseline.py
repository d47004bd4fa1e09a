"""The pipeline a newcomer builds from a LangChain tutorial, run by the same eval runner for comparison.

Fixed-size character chunks (RecursiveCharacterTextSplitter, 300 characters, 50 overlap) of the raw
documents, one dense model (multilingual-e5-small, the same engine our index uses), a Chroma vector
store, top-3 retrieval, no verdict logic and no refusal.

To score it by unit ids, a retrieved chunk cites every unit it holds at least half of. Within one
chunk, the units sharing the most character pairs with the question come first: that gives the
baseline the benefit of the doubt a reader would (the right article is somewhere in the chunk shown).
"""
from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field

from config import Settings
from indexer.build import load_manifest
from indexer.embed import EmbeddingCache, make_embedder
from indexer.loaders import read_document
from indexer.store import Index
from qa.retrieve import bigrams

CHUNK_SIZE, CHUNK_OVERLAP, TOP_K = 300, 50, 3


@dataclass
class Cited:
    id: str


@dataclass
class BaselineAnswer:
    question: str
    answer: str
    citations: list[Cited]
    related: list[Cited] = field(default_factory=list)
    verdict: str = "info"  # never read: the baseline has no verdict logic (its outcomes carry None)
    latency_ms: float = 0.0


def _unit_spans(text: str, units) -> list[tuple[int, str]]:
    """Where each unit starts in its document's text, in document order."""
    spans, cursor = [], 0
    for u in units:
        for probe in (u.text[:8], u.text[:4]):
            at = text.find(probe, cursor)
            if at >= 0:
                cursor = at
                break
        spans.append((cursor, u.id))
    return spans


class TutorialPipeline:
    def __init__(self, settings: Settings, index: Index) -> None:
        import chromadb
        from langchain_chroma import Chroma
        from langchain_core.documents import Document
        from langchain_core.embeddings import Embeddings
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        e5 = make_embedder("e5", settings.query_threads)
        cache = EmbeddingCache(settings.cache_path)

        class E5(Embeddings):
            def embed_documents(self, texts: list[str]) -> list[list[float]]:
                return cache.passages(e5, texts)[0].tolist()

            def embed_query(self, text: str) -> list[float]:
                return e5.embed_queries([text])[0].tolist()

        splitter = RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP, add_start_index=True)
        chunks, self.spans, self.ends = [], {}, {}
        self.text_of = {u.id: u.text for u in index.units}
        for doc in load_manifest(settings.corpus_dir):
            units = [u for u in index.units if u.doc_id == doc.id]
            if not units:
                continue
            text = read_document(settings.corpus_dir / doc.file)
            self.spans[doc.id] = _unit_spans(text, units)
            self.ends[doc.id] = len(text)
            chunks += splitter.create_documents([text], metadatas=[{"doc_id": doc.id}])
        self._tmp = tempfile.TemporaryDirectory(prefix="baseline-")
        client = chromadb.PersistentClient(self._tmp.name, settings=chromadb.Settings(anonymized_telemetry=False))
        store = Chroma(collection_name="tutorial", embedding_function=E5(), client=client)
        store.add_documents([Document(page_content=c.page_content, metadata=c.metadata) for c in chunks])
        self.retriever = store.as_retriever(search_kwargs={"k": TOP_K})
        self.chunks = len(chunks)

    def units_of(self, chunk, question: str) -> list[str]:
        """The units the chunk holds at least half of, those closest to the question first."""
        start = chunk.metadata["start_index"]
        end = start + len(chunk.page_content)
        spans = self.spans[chunk.metadata["doc_id"]]
        held = []
        for i, (s, uid) in enumerate(spans):
            e = spans[i + 1][0] if i + 1 < len(spans) else self.ends[chunk.metadata["doc_id"]]
            if e > s and (min(e, end) - max(s, start)) >= 0.5 * (e - s):
                held.append(uid)
        wanted = set(bigrams(question))
        return sorted(held, key=lambda uid: -len(wanted & set(bigrams(self.text_of[uid]))))

    def ask(self, question: str) -> BaselineAnswer:
        started = time.perf_counter()
        docs = self.retriever.invoke(question)
        ids = list(dict.fromkeys(uid for d in docs for uid in self.units_of(d, question)))
        return BaselineAnswer(question, "\n\n".join(d.page_content for d in docs), [Cited(i) for i in ids],
                              latency_ms=round((time.perf_counter() - started) * 1000, 1))
