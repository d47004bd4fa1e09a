"""Quiz exports (JSON, CSV, Moodle GIFT, Aiken, Markdown) and readers for GIFT and Aiken.

GIFT and Aiken follow Moodle's published descriptions (docs.moodle.org, "GIFT format" and "Aiken
format"). The readers are written from the same descriptions, independently of the writers' code
paths, so that the tests can parse every export back and compare it with the items.
"""
from __future__ import annotations

import csv
import io
import json
import re

from quiz.generate import Item

LETTERS = "ABCDEFGH"
GIFT_SPECIAL = "~=#{}:"
# Moodle accepts only these percentages in GIFT answer weights.
GIFT_WEIGHTS = {1: "100", 2: "50", 3: "33.33333", 4: "25", 5: "20"}


def answer_of(item: Item):
    """The key as a trainer reads it: one string, or a list for multiple choice."""
    return list(item.answer) if item.type == "multi" else item.answer[0]


def letters_of(item: Item) -> list[str]:
    """The key's letters in alphabetical order ("BCE", never "EBC"), whatever order the key lists."""
    return sorted(LETTERS[item.options.index(a)] for a in item.answer) if item.options else []


def to_json(items: list[Item], meta: dict) -> str:
    rows = []
    for item in items:
        row = item.to_dict()
        row["answer"] = answer_of(item)
        row["answer_letters"] = letters_of(item)
        rows.append(row)
    return json.dumps({"meta": meta, "items": rows}, ensure_ascii=False, indent=1) + "\n"


def to_csv(items: list[Item]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "type", "stem", *[f"option_{c}" for c in LETTERS[:5]], "answer", "answer_letters",
                     "explanation", "doc_id", "doc_title", "label", "source_text"])
    for item in items:
        options = item.options + [""] * (5 - len(item.options))
        writer.writerow([item.id, item.type, item.stem, *options[:5], " | ".join(item.answer), "".join(letters_of(item)),
                         item.explanation, item.source.doc_id, item.source.doc_title, item.source.label, item.source.text])
    return out.getvalue()


def gift_escape(text: str) -> str:
    text = text.replace("\\", "\\\\")
    for ch in GIFT_SPECIAL:
        text = text.replace(ch, "\\" + ch)
    return text.replace("\n", "\\n")


def to_gift(items: list[Item]) -> str:
    blocks = ["// policy-qa quiz (Moodle GIFT format)", ""]
    for item in items:
        title = f"::{gift_escape(item.source.label + ' ' + item.id)}::"
        feedback = f"####{gift_escape(item.explanation)}"
        if item.type == "tf":
            truth = "T" if item.answer[0] in ("正确", "True") else "F"
            blocks.append(f"{title}{gift_escape(item.stem)} {{{truth}{feedback}}}")
        elif item.type == "choice":
            opts = " ".join(("=" if o in item.answer else "~") + gift_escape(o) for o in item.options)
            blocks.append(f"{title}{gift_escape(item.stem)} {{{opts} {feedback}}}")
        elif item.type == "multi":
            right = GIFT_WEIGHTS[len(item.answer)]
            opts = " ".join(f"~%{right if o in item.answer else '-100'}%{gift_escape(o)}" for o in item.options)
            blocks.append(f"{title}{gift_escape(item.stem)} {{{opts} {feedback}}}")
        else:  # cloze: GIFT's missing-word form, the answer in braces where the blank was
            before, _, after = item.stem.partition("____")
            blocks.append(f"{title}{gift_escape(before)}{{={gift_escape(item.answer[0])}{feedback}}}{gift_escape(after)}")
        blocks.append("")
    return "\n".join(blocks)


def _one_line(text: str) -> str:
    """Aiken has one line per question and per option."""
    return " ".join(text.split())


class ExportError(ValueError):
    """The items cannot be written in the format asked for (the CLI exits 2, the UI shows the message)."""


def to_aiken(items: list[Item]) -> tuple[str, int]:
    """Aiken holds single-answer multiple choice only: true/false become two options; cloze items
    are left out (the count is returned). Multiple-answer items are refused, not dropped: Aiken has no
    form for them, and a quiz silently missing its multi items (or an empty file) is worse than an error."""
    multi = sum(1 for item in items if item.type == "multi")
    if multi:
        raise ExportError(f"Aiken has no multiple-answer form: {multi} of the {len(items)} items are multiple-answer; "
                          "leave them out (--type tf,choice) or choose another format (gift, json, csv, md)")
    blocks, skipped = [], 0
    for item in items:
        if item.type not in ("tf", "choice"):
            skipped += 1
            continue
        lines = [_one_line(item.stem)]
        lines += [f"{LETTERS[i]}. {_one_line(o)}" for i, o in enumerate(item.options)]
        lines.append(f"ANSWER: {letters_of(item)[0]}")
        blocks.append("\n".join(lines))
    if not blocks:
        raise ExportError("Aiken holds single-answer questions only and none of these items is one (cloze items "
                          "have no Aiken form); choose --type tf,choice or another format")
    return "\n\n".join(blocks) + "\n", skipped


def to_markdown(items: list[Item], title: str = "题库") -> str:
    lines = [f"# {title}", ""]
    for n, item in enumerate(items, 1):
        lines.append(f"{n}. {item.stem}")
        lines += [f"   - {LETTERS[i]}. {o}" for i, o in enumerate(item.options)]
        lines.append("")
    lines += ["## 答案与依据", ""]
    for n, item in enumerate(items, 1):
        key = "".join(letters_of(item)) or "、".join(item.answer)
        lines.append(f"{n}. **{key}**：{item.explanation}")
    return "\n".join(lines) + "\n"


FORMATS = ("json", "csv", "gift", "aiken", "md")


def export(items: list[Item], fmt: str, meta: dict) -> tuple[str, list[str]]:
    """The file text and any notes for the user (e.g. items Aiken cannot hold)."""
    if fmt == "json":
        return to_json(items, meta), []
    if fmt == "csv":
        return to_csv(items), []
    if fmt == "gift":
        return to_gift(items), []
    if fmt == "aiken":
        text, skipped = to_aiken(items)
        return text, [f"{skipped} cloze items left out: Aiken holds single-answer questions only"] if skipped else []
    if fmt == "md":
        return to_markdown(items), []
    raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")


# --- readers (from the format descriptions) ------------------------------------------------------

class FormatError(ValueError):
    pass


def _unescape_gift(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), text).strip()


def _split_unescaped(text: str, marks: str) -> list[tuple[str, str]]:
    """Split on unescaped mark characters, keeping which mark opened each part."""
    parts, current, mark, i = [], "", "", 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            current += text[i:i + 2]
            i += 2
            continue
        if ch in marks:
            parts.append((mark, current))
            current, mark = "", ch
        else:
            current += ch
        i += 1
    parts.append((mark, current))
    return parts


def parse_gift(text: str) -> list[dict]:
    """Questions as dicts: title, stem (a cloze blank as "____"), kind, options, right, feedback."""
    questions = []
    for block in re.split(r"\n\s*\n", text):
        lines = [ln for ln in block.splitlines() if not ln.lstrip().startswith("//")]
        body = " ".join(ln.strip() for ln in lines).strip()
        if not body:
            continue
        title = ""
        m = re.match(r"::(.*?)(?<!\\)::", body)
        if m:
            title, body = _unescape_gift(m.group(1)), body[m.end():]
        braces = [(i, ch) for i, ch in enumerate(body) if ch in "{}" and (i == 0 or body[i - 1] != "\\")]
        if len(braces) != 2 or braces[0][1] != "{" or braces[1][1] != "}":
            raise FormatError(f"expected one answer block in: {body[:60]}")
        (start, _), (end, _) = braces
        before, inside, after = body[:start], body[start + 1:end], body[end + 1:]
        inside, _, feedback = inside.partition("####")
        inside = inside.strip()
        q = {"title": title, "feedback": _unescape_gift(feedback), "options": [], "right": []}
        if inside in ("T", "F", "TRUE", "FALSE"):
            q |= {"kind": "tf", "right": [inside.startswith("T")]}
        else:
            answers = [(mark, _unescape_gift(part)) for mark, part in _split_unescaped(inside, "=~") if mark]
            if not answers:
                raise FormatError(f"no answers in: {inside[:60]}")
            for mark, part in answers:
                w = re.match(r"%(-?[\d.]+)%", part)
                weight = float(w.group(1)) if w else (100.0 if mark == "=" else 0.0)
                option = part[w.end():].strip() if w else part
                q["options"].append(option)
                if weight > 0:
                    q["right"].append(option)
            tildes = all(mark == "~" for mark, _ in answers)
            q["kind"] = ("short" if all(mark == "=" for mark, _ in answers)
                         else "multi" if tildes else "choice")
        # a short answer's braces mark where the answer goes (GIFT's missing-word form when text follows)
        q["stem"] = _unescape_gift(before) + ("____" + _unescape_gift(after) if q["kind"] == "short" else "")
        questions.append(q)
    return questions


def parse_aiken(text: str) -> list[dict]:
    """Questions as dicts: stem, options, answer (the letter)."""
    questions = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = block.splitlines()
        if len(lines) < 4:
            raise FormatError(f"an Aiken question needs a stem, options and an ANSWER line: {block[:60]}")
        stem, *options, answer = lines
        parsed = []
        for i, line in enumerate(options):
            m = re.match(r"^([A-Z])[.)] (.+)$", line)
            if not m or m.group(1) != LETTERS[i]:
                raise FormatError(f"bad option line: {line[:60]}")
            parsed.append(m.group(2))
        m = re.match(r"^ANSWER: ([A-Z])$", answer)
        if not m or LETTERS.index(m.group(1)) >= len(parsed):
            raise FormatError(f"bad ANSWER line: {answer[:60]}")
        questions.append({"stem": stem, "options": parsed, "answer": m.group(1)})
    return questions
