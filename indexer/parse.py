"""Turn a policy document's text into citable units.

A unit is what an answer cites: an article (第二十五条), a numbered item (1、 / 8. / (1)), or the
paragraphs under a heading. Real policy text is messy, so parsing runs in three passes:

1. ``_merge_wraps``: re-join lines that were wrapped mid-sentence (a long line with no closing
   punctuation followed by a line that starts no new item);
2. ``_split_inline``: split lines that hold several units (两条 on one line, "1.…;2.…;3.…" duties,
   "职责――1.…" labelled lists, "… 20、…" a new heading at the end of a line);
3. an outline pass that keeps a stack of open headings by level and gives every unit its label,
   heading path and stable id.

Nothing here knows about the five seed documents: it recognises 第X篇/部分/章/节/条, 一、, （一）,
1、, 1., (1), "标签――1." lists and short free-standing headings in any file.

Statutes are read as statutes: an article (第X条) is one unit holding its lead-in, its numbered items
and the paragraphs after them, because a law is cited by article and an item means nothing without
its lead-in ("禁止任何人以下列手段操纵证券市场：（一）…"). Markdown markup and the metadata block
before `<!-- INFO END -->` (promulgation dates) are dropped; `## 第一章 总则` is a chapter.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

CN_NUM = "零〇一二三四五六七八九十百两"
_N = rf"[{CN_NUM}\d]+"
TERMINAL = "。；;！？!?：:”」）)】"
SOFT_PUNCT = "，,。；;！？!?→"
WRAP_MIN_CHARS = 28  # a line shorter than this ended on purpose
HEADING_MAX_CHARS = 18
STUB_MAX_CHARS = 8
LIST_DASH = "――"

# (kind, level, pattern). Lower level = higher in the outline. Articles are leaves inside 节.
MARKERS: list[tuple[str, float, re.Pattern[str]]] = [
    ("part", 0, re.compile(rf"^(第{_N}篇)[:：\s]*(.*)$")),
    ("section", 1, re.compile(rf"^(第{_N}部分)[:：\s]*(.*)$")),
    ("chapter", 2, re.compile(rf"^(第{_N}章)[:：\s]*(.*)$")),
    ("subsection", 3, re.compile(rf"^(第{_N}节)[:：\s]*(.*)$")),
    ("article", 4, re.compile(rf"^(第{_N}条)[:：\s]*(.*)$")),
    ("cn_enum", 5, re.compile(r"^([一二三四五六七八九十]+、)(.*)$")),
    ("cn_paren", 6, re.compile(r"^([（(][一二三四五六七八九十]+[）)])(.*)$")),
    ("num_dun", 7, re.compile(r"^(\d{1,2}、)(.*)$")),
    ("list_label", 8, re.compile(r"^(\S{1,6}?)――(?=\d{1,2}[.．])(.*)$")),
    ("num_dot", 9, re.compile(r"^(\d{1,2}[.．])(?!\d)(.*)$")),
    ("num_paren", 10, re.compile(r"^([（(]\d{1,2}[）)])(.*)$")),
]
MD_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
MD_COMMENT = re.compile(r"<!--.*?-->")
INFO_END = "<!-- INFO END -->"
ITEM_KINDS = {"cn_enum", "cn_paren", "num_dun", "num_dot", "num_paren"}
BULLET = re.compile(r"^[·•●▪◆■□\-\*]\s*")
HEADING_KINDS = {"part", "section", "chapter", "subsection", "free", "list_label"}
STRUCTURAL = {"part", "section", "chapter", "subsection"}

ARTICLE_INLINE = re.compile(rf"(?<=[。；;！？!?])\s*(?=第({_N})条)")
LABEL_INLINE = re.compile(r"(?<=\s)(?=\S{1,6}?――\d{1,2}[.．])")


def cn_to_int(text: str) -> int | None:
    """第二十五 → 25; digits pass through. Enough for article numbers (up to 999)."""
    if text.isdigit():
        return int(text)
    digits = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"〇": 0, "两": 2}
    total, current = 0, 0
    for ch in text:
        if ch in digits:
            current = digits[ch]
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
        elif ch == "百":
            total += (current or 1) * 100
            current = 0
        else:
            return None
    return total + current


@dataclass
class Unit:
    id: str
    doc_id: str
    doc_title: str
    label: str
    path: list[str]
    text: str
    kind: str
    line: int
    order: int
    stub: bool = False

    def to_dict(self) -> dict:
        return asdict(self)

    def context(self, levels: int = 2, max_chars: int = 20) -> list[str]:
        """The nearest headings that name this unit's topic (a long table-of-contents line names none)."""
        return [h for h in self.path[-levels:] if len(h) <= max_chars]


@dataclass
class ParseResult:
    units: list[Unit]
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Line:
    text: str
    line: int  # 1-based line number in the source


@dataclass
class _Node:
    kind: str
    level: float
    key: str  # short form used in labels: 第二十五条, 1、市场部, 8.
    title: str  # the whole heading line as written
    rest: str  # the line without its marker
    line: int
    parent: "_Node | None" = None
    body: list[str] = field(default_factory=list)
    children: int = 0


def match_marker(text: str) -> tuple[str, float, str, str] | None:
    m = MD_HEADING.match(text)
    if m:
        inner = m.group(2).strip()
        found = match_marker(inner)  # "## 第一章  总则" is a chapter, not a free heading
        if found and found[0] in STRUCTURAL:
            return found
        return "free", float(len(m.group(1))), inner, inner
    for kind, level, pattern in MARKERS:
        m = pattern.match(text)
        if m:
            return kind, level, m.group(1), m.group(2).strip()
    return None


def without_marker(text: str) -> str:
    """第二十五条营销人员… → 营销人员…; 6.负责… → 负责…; headings and plain text unchanged."""
    found = match_marker(text)
    if not found or found[0] in ("free", "list_label"):
        return text
    return text[text.index(found[2]) + len(found[2]):].lstrip()


def _starts_unit(text: str) -> bool:
    return match_marker(text) is not None or bool(BULLET.match(text))


def _is_heading_like(text: str) -> bool:
    """A short line with no sentence punctuation: a title such as 会前营销 or 会议的准备:."""
    return (
        len(text) <= HEADING_MAX_CHARS
        and not any(p in text for p in SOFT_PUNCT + "、()（）")
        and not BULLET.match(text)
    )


def _looks_wrapped(text: str) -> bool:
    """A long line that stops mid-sentence; a numbered heading line without punctuation is no wrap."""
    if len(text) < WRAP_MIN_CHARS or text[-1] in TERMINAL:
        return False
    is_heading = match_marker(text) is not None and not any(p in text for p in "，,；;：:。") and len(text) <= 40
    return not is_heading


def _merge_wraps(raw_lines: list[str]) -> list[_Line]:
    merged: list[_Line] = []
    wrapped_before = False
    for number, raw in enumerate(raw_lines, start=1):
        text = raw.strip()
        if not text:
            wrapped_before = False
            continue
        if wrapped_before and merged and not _starts_unit(text) and not _is_heading_like(text):
            merged[-1].text += text
        else:
            merged.append(_Line(text, number))
        wrapped_before = _looks_wrapped(text)
    return merged


def _split_numbered(text: str, opener: re.Pattern[str], make_next) -> list[str]:
    """Split "1.a;2.b 3.c" at each next number in sequence (so "3-4人" or "10年" never split)."""
    m = opener.match(text)
    if not m:
        return [text]
    number, pieces, start, pos = int(m.group(1)), [], 0, m.end()
    while True:
        nxt = make_next(number + 1).search(text, pos)
        if not nxt:
            break
        pieces.append(text[start:nxt.start()].strip())
        start, pos, number = nxt.start(), nxt.end(), number + 1
    pieces.append(text[start:].strip())
    return [p for p in pieces if p]


_DOT_OPEN = re.compile(r"^(\d{1,2})[.．](?!\d)")
_PAREN_OPEN = re.compile(r"^[（(](\d{1,2})[）)]")


def _next_dot(n: int) -> re.Pattern[str]:
    return re.compile(rf"(?<!\d){n}[.．](?=[^\d\s])")


def _next_paren(n: int) -> re.Pattern[str]:
    return re.compile(rf"[（(]{n}[）)]")


def _split_inline(lines: list[_Line]) -> list[_Line]:
    out: list[_Line] = []
    last_article = 0
    last_dun = 0
    for ln in lines:
        pieces = [ln.text]
        # Two articles on one line: split where the next article number follows a sentence end.
        split_articles: list[str] = []
        for piece in pieces:
            m0 = MARKERS[4][2].match(piece)
            if m0:
                last_article = cn_to_int(m0.group(1)[1:-1]) or last_article
            start = 0
            for m in ARTICLE_INLINE.finditer(piece):
                n = cn_to_int(m.group(1))
                if n is not None and n == last_article + 1 and m.start() > start:
                    split_articles.append(piece[start:m.start()].strip())
                    start = m.start()
                    last_article = n
            split_articles.append(piece[start:].strip())
        pieces = split_articles
        # "… 职责――1.…": a labelled list starting mid-line.
        pieces = [p.strip() for piece in pieces for p in LABEL_INLINE.split(piece) if p.strip()]
        # "职责――1.a;2.b": the label becomes its own heading line.
        labelled: list[str] = []
        for piece in pieces:
            m = MARKERS[8][2].match(piece)
            if m:
                labelled += [m.group(1) + LIST_DASH, m.group(2)]
            else:
                labelled.append(piece)
        # "1.a;2.b;3.c" and "(1)a;(2)b" on one line.
        numbered: list[str] = []
        for piece in labelled:
            for part in _split_numbered(piece, _DOT_OPEN, _next_dot):
                numbered += _split_numbered(part, _PAREN_OPEN, _next_paren)
        # "… 8.完成工作 20、客户开发主管岗位职责": a new 1、-style heading at a line's end.
        final: list[str] = []
        for piece in numbered:
            m = re.match(r"^(\d{1,2})、", piece)
            if m:
                last_dun = int(m.group(1))
            nxt = re.search(rf"(?<=\s){last_dun + 1}、", piece)
            if nxt and last_dun:
                final += [piece[:nxt.start()].strip(), piece[nxt.start():].strip()]
                last_dun += 1
            else:
                final.append(piece)
        out += [_Line(p, ln.line) for p in final if p]
    return out


def _key(kind: str, marker: str, title: str) -> str:
    if kind in ("free", "list_label"):
        return title.rstrip(":：")[:12]
    if kind == "article":
        return marker
    short = title.rstrip(":：")
    if short and len(short) <= 10 and not any(p in short for p in SOFT_PUNCT + "：:"):
        return marker + short
    return marker


def _strip_markup(text: str) -> list[str]:
    """Lines without Markdown metadata: what precedes `<!-- INFO END -->` except the `# title`, and
    HTML comments anywhere."""
    lines = text.splitlines()
    if any(line.strip() == INFO_END for line in lines):
        end = next(i for i, line in enumerate(lines) if line.strip() == INFO_END)
        lines = [line for line in lines[:end] if MD_HEADING.match(line.strip())][:1] + lines[end + 1:]
    return [MD_COMMENT.sub("", line) for line in lines]


def parse(doc_id: str, doc_title: str, text: str) -> ParseResult:
    """Units of one document, in reading order, with warnings about what looked wrong."""
    lines = _split_inline(_merge_wraps(_strip_markup(text)))
    root = _Node("root", -1, "", "", "", 0)
    stack: list[_Node] = [root]
    nodes: list[_Node] = []
    root_title = ""
    seen_marker = False

    for idx, ln in enumerate(lines):
        t = ln.text
        found = match_marker(t)
        if found and found[0] == "part" and idx == 0:
            continue  # "第一篇:营销活动规范": the document's own name, already its title
        if not found and t.endswith(LIST_DASH) and len(t) <= 8:
            found = ("list_label", MARKERS[8][1], t[: -len(LIST_DASH)], t[: -len(LIST_DASH)])
        if not root_title and not seen_marker and (
            (found and found[0] == "free")  # "# Title" in markdown
            or (not found and len(t) <= 30 and not any(p in t for p in SOFT_PUNCT))
        ):
            root_title = (found[3] if found else t).rstrip(":：")
            continue
        if not found and _is_heading_like(t) and stack[-1].kind != "article":
            found = ("free", 1.0, t, t)  # (inside an article a short line is its lead-in: 前款所称重大事件包括：)
        if not found or (found[0] in ITEM_KINDS and stack[-1].kind == "article"):
            stack[-1].body.append(t)  # a numbered item of an article stays in the article
            continue
        seen_marker = True
        kind, level, marker, title = found
        while len(stack) > 1 and stack[-1].level >= level:
            stack.pop()
        heading = MD_HEADING.match(t)
        shown = heading.group(2).strip() if heading else t  # the line as a reader sees it, without "## "
        node = _Node(kind, level, _key(kind, marker, title), shown, title, ln.line, parent=stack[-1])
        stack[-1].children += 1
        stack.append(node)
        nodes.append(node)

    return _units(doc_id, doc_title or root_title, root_title, root, nodes)


def _units(doc_id: str, doc_title: str, root_title: str, root: _Node, nodes: list[_Node]) -> ParseResult:
    units: list[Unit] = []
    warnings: list[str] = []
    candidates: list[_Node] = ([root] if root.body else []) + nodes
    for node in candidates:
        is_item = node.kind not in HEADING_KINDS and node.kind != "root"
        if not node.body and (not is_item or node.children):
            continue  # a pure heading: it shows up in its children's paths
        ancestors: list[_Node] = []
        p = node.parent
        while p is not None and p.kind != "root":
            ancestors.insert(0, p)
            p = p.parent
        own_key = node.key if node.kind in HEADING_KINDS | {"article"} or node.children else node.title[: len(node.title) - len(node.rest)].strip()
        label_keys = [a.key for a in ancestors if a.kind not in STRUCTURAL] + [own_key or "导语"]
        own = node.title if node.kind != "root" else ""
        text = "\n".join(([own] if own else []) + node.body)
        content = node.rest if node.kind != "root" else text
        units.append(Unit(
            id="",
            doc_id=doc_id,
            doc_title=doc_title,
            label=" ".join(label_keys),
            path=[x for x in [root_title] + [a.title for a in ancestors] if x],
            text=text,
            kind="intro" if node.kind == "root" else node.kind,
            line=node.line if node.kind != "root" else 1,
            order=len(units),
            stub=not node.body and len(content.rstrip(":：")) <= STUB_MAX_CHARS,
        ))
    by_label: dict[str, list[Unit]] = {}
    for unit in units:
        by_label.setdefault(unit.label, []).append(unit)
    for label, same in by_label.items():
        base = f"{doc_id}:{label.replace(' ', '/')}"
        for n, unit in enumerate(same, start=1):
            unit.id = base if n == 1 else f"{base}#{n}"
        if len(same) > 1:
            where = ", ".join(f"line {u.line}" for u in same)
            ids = ", ".join(u.id for u in same)
            warnings.append(f"{doc_id}: {label} appears {len(same)} times ({where}); kept all as {ids}")
    if any(u.kind == "article" for u in units):
        for unit in units:
            if unit.kind != "article":
                warnings.append(f"{doc_id}: line {unit.line} is outside any article (kept as {unit.id}): "
                                f"{unit.text.splitlines()[0][:30]}")
    if not units:
        warnings.append(f"{doc_id}: no citable units found")
    return ParseResult(units, warnings)
