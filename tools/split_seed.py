"""Split the seed file (five parts, 第一篇 … 第五篇) into one corpus file per part.

Run once when the seed changes; the corpus files are data the user may replace or extend.
Text is copied unchanged, line for line.
"""
from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path

PART = re.compile(r"^第([一二三四五六七八九十]+)篇[:：](.+)$")


def split(seed: Path, out: Path) -> list[dict]:
    parts: list[tuple[str, list[str]]] = []
    for line in seed.read_text(encoding="utf-8").splitlines(keepends=True):
        m = PART.match(line.strip())
        if m:
            parts.append((m.group(2).strip(), []))
        if parts:
            parts[-1][1].append(line)
    manifest = []
    for n, (title, lines) in enumerate(parts, start=1):
        text = "".join(lines)
        name = f"p{n}.txt"
        (out / name).write_text(text, encoding="utf-8")
        manifest.append({
            "id": f"p{n}",
            "title": title,
            "file": name,
            "source": f"{seed.name} (第{'一二三四五'[n - 1]}篇)",
            "version": hashlib.sha256(text.encode()).hexdigest()[:12],
        })
    return manifest


if __name__ == "__main__":
    seed, out = Path(sys.argv[1]), Path(sys.argv[2])
    docs = split(seed, out)
    (out / "manifest.json").write_text(json.dumps({"documents": docs}, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"{len(docs)} documents written to {out}")
