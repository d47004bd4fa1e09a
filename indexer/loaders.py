"""Turn a policy file (.txt, .md, .docx, .pdf) into plain text, or refuse it with a clear reason.

Chinese policy files arrive as UTF-8, GBK or GB18030 (or UTF-16 with a byte-order mark); we try
UTF-8 first (it is strict, so a GBK file fails it) and fall back to GB18030, a superset of GBK.
"""
from __future__ import annotations

import io
from pathlib import Path

SUPPORTED = (".txt", ".md", ".docx", ".pdf")


def _limits():
    """The size limits (config.py: max_upload_bytes, max_unzipped_bytes, max_zip_ratio, max_zip_parts, max_pdf_pages)."""
    from config import get_settings

    return get_settings()


class DocumentError(ValueError):
    """A file we cannot index; the message names the file and says why."""


def decode_text(data: bytes, name: str) -> str:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16 with its byte-order mark (Windows Notepad's "Unicode")
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise DocumentError(f"{name}: starts like UTF-16 text but is not valid UTF-16") from exc
    if b"\x00" in data[:4096]:
        raise DocumentError(f"{name}: looks like a binary file, not text")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise DocumentError(f"{name}: not valid UTF-8, GBK or GB18030 text")
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\r\n\t\f")
    if controls > max(8, len(text) // 100):
        raise DocumentError(f"{name}: looks like a binary file, not text")
    return text


def check_zip(data: bytes, name: str) -> None:
    """Refuse a zip whose declared sizes would exhaust memory, before anything is inflated. The
    declared sizes are what python-docx's zipfile trusts too (it stops at the declared size)."""
    import zipfile

    limits = _limits()
    try:
        members = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, ValueError) as exc:
        raise DocumentError(f"{name}: not a readable .docx file (not a zip archive)") from exc
    if len(members) > limits.max_zip_parts:
        raise DocumentError(f"{name}: the .docx holds {len(members)} parts (at most {limits.max_zip_parts})")
    total = sum(m.file_size for m in members)
    if total > limits.max_unzipped_bytes:
        raise DocumentError(f"{name}: the .docx unpacks to {total // (1024 * 1024)} MB "
                            f"(at most {limits.max_unzipped_bytes // (1024 * 1024)} MB)")
    for m in members:
        if m.file_size > 1024 * 1024 and m.file_size > limits.max_zip_ratio * max(1, m.compress_size):
            raise DocumentError(f"{name}: part {m.filename} is compressed {m.file_size // max(1, m.compress_size)}:1 "
                                f"(a zip bomb?); at most {limits.max_zip_ratio}:1")


def _docx_text(data: bytes, name: str) -> str:
    import docx  # python-docx

    check_zip(data, name)
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises several types for a broken zip
        raise DocumentError(f"{name}: not a readable .docx file ({exc.__class__.__name__})") from exc
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            lines.append(" ".join(cell.text for cell in row.cells))
    return "\n".join(lines)


def _pdf_text(data: bytes, name: str) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    most = _limits().max_pdf_pages
    try:
        reader = PdfReader(io.BytesIO(data))
        pages = len(reader.pages)
        if pages <= most:
            return "\n".join(page.extract_text() or "" for page in reader.pages)
    except DocumentError:
        raise
    except (PdfReadError, ValueError, KeyError) as exc:
        raise DocumentError(f"{name}: not a readable .pdf file ({exc})") from exc
    raise DocumentError(f"{name}: the .pdf has {pages} pages (at most {most})")


def read_bytes(data: bytes, name: str) -> str:
    """Text of a file given its bytes and its name (the suffix picks the reader)."""
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED:
        raise DocumentError(f"{name}: unsupported file type '{suffix or '(none)'}'; use one of {', '.join(SUPPORTED)}")
    most = _limits().max_upload_bytes
    if len(data) > most:
        raise DocumentError(f"{name}: file is larger than {most // (1024 * 1024)} MB")
    if suffix == ".docx":
        text = _docx_text(data, name)
    elif suffix == ".pdf":
        text = _pdf_text(data, name)
    else:
        text = decode_text(data, name)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise DocumentError(f"{name}: the file holds no text")
    if not any(ch.isalnum() for ch in text):
        raise DocumentError(f"{name}: the file holds only punctuation or symbols, no words")
    return text


def read_document(path: Path) -> str:
    path = Path(path)
    if not path.is_file():
        raise DocumentError(f"{path.name}: file not found")
    return read_bytes(path.read_bytes(), path.name)
