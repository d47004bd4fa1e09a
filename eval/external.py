"""Corpora of added documents: the five documents plus public regulations, each added through the same
path as `python app.py add`.

- `external` (the sealed split): six regulations the project was never tuned on (../shared/external/);
- `bulk` (the `added` dev split): six laws from ../shared/external/bulk/ with questions written blind
  like the sealed sets, but open: their misses may be read, so that work on added documents has a
  dev set that is not the sealed one.

The corpus and its index live in their own folder under the data dir (the product's own corpus is not
touched) and are reused while nothing changed, so only the first run pays for the adds. The embedding
cache is shared with the main index.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

from config import ROOT, Settings
from indexer.build import add_document, build_index, load_manifest

EXTERNAL_DIR = ROOT.parent / "shared" / "external"
DOCUMENTS = ("securities-law", "fund-law", "consumer-law", "advisory-measures", "private-fund-regulation",
             "ecommerce-law")
BULK = ("反洗钱法", "劳动合同法", "股票发行与交易管理暂行条例", "价格法", "个人所得税法实施条例", "社会保险费征缴暂行条例")
CORPORA = {"external": ("", DOCUMENTS), "bulk": ("bulk", BULK)}


def external_dir() -> Path:
    """../shared/external beside the checkout (CI lays a copy of shared/ there too)."""
    for candidate in (EXTERNAL_DIR, Path.cwd().parent / "shared" / "external"):
        if (candidate / "securities-law.md").exists():
            return candidate
    raise SystemExit(f"the external documents are missing: expected them in {EXTERNAL_DIR}")


def prepare(settings: Settings, progress: bool = False, corpus: str = "external") -> Settings:
    """Settings for the five documents plus one corpus's added documents, built (or brought up to date) on first use."""
    folder, documents = CORPORA[corpus]
    home = settings.data_dir / f"eval-{corpus}"
    ext = replace(settings, corpus_dir=home / "corpus", data_dir=home / "data",
                  embedding_cache=str(settings.cache_path), reviewed_memory=False)
    source = external_dir() / folder
    ext.corpus_dir.mkdir(parents=True, exist_ok=True)
    # the five documents as the product ships them (refreshed if they changed)
    for doc in load_manifest(settings.corpus_dir):
        target = ext.corpus_dir / doc.file
        if not target.exists() or target.read_bytes() != (settings.corpus_dir / doc.file).read_bytes():
            shutil.copyfile(settings.corpus_dir / doc.file, target)
    manifest = json.loads((settings.corpus_dir / "manifest.json").read_text(encoding="utf-8"))
    ours = {d["file"] for d in manifest["documents"]}
    if (ext.corpus_dir / "manifest.json").exists():
        current = json.loads((ext.corpus_dir / "manifest.json").read_text(encoding="utf-8"))["documents"]
        manifest["documents"] += [d for d in current if d["file"] not in ours]
    (ext.corpus_dir / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n",
                                                  encoding="utf-8")
    build_index(ext, progress=progress)
    present = {d.id for d in load_manifest(ext.corpus_dir)}
    for name in documents:
        if name not in present:
            add_document(ext, source / f"{name}.md", doc_id=name, progress=progress)
    return ext
