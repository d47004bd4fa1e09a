"""审计: supervisors filter the answers and draft screens, open one with its evidence, review it, export,
see statistics."""
from __future__ import annotations

import json
import math
from dataclasses import asdict

import gradio as gr

from audit.log import REVIEW_STATUSES, Filters, day, evidence, export_lines, stream_export
from indexer.parse import Unit
from qa.screen import LABEL_ZH as SCREEN_LABEL  # a screen's labels, in words
from qa.screen import LABELS
from qa.verdict import VERDICT_ZH, VERDICTS
from service import Service
from ui.common import Guard, download, esc

FEEDBACK = [("全部", ""), ("👍", "up"), ("👎", "down"), ("有评论", "comment"), ("无反馈", "none")]
REVIEW = [("全部", ""), ("未审核", "unreviewed"), ("正确", "correct"), ("错误", "incorrect"), ("需跟进", "follow_up")]
KB_ROWS = 500  # knowledge-base changes listed in 审计 (all are in `python app.py audit kb`)
KB_LABEL = {"add": "加入", "replace": "替换", "remove": "删除"}
PAGE_ROWS = 50  # rows per page of the results table; the count (SQL COUNT) and the exports cover every match
SHORT_ID = 8  # characters of an id in the table's first column (the full id is the last)
UNIT_SHOWN = 40  # characters of a unit's text in a candidate unit's label
UNITS_FOUND = 20  # units a search for the right units adds to the candidates
DATE_WIDTH = 220  # pixels a date picker needs for its text box and its calendar button
HEADERS = ["编号", "时间", "用户", "渠道", "类型", "问题 / 文稿", "结论", "依据", "👍/👎", "审核", "ID"]
STATUS_LABEL = {"correct": "正确", "incorrect": "错误", "follow_up": "需跟进", "unreviewed": "未审核"}
KIND_LABEL = {"answer": "问答", "screen": "文稿检查"}
KINDS = [("全部", ""), ("问答", "answer"), ("文稿检查", "screen")]
DRAFT_SHOWN = 80  # characters of a draft shown in the results table
# the right verdict a review may give: an answer's verdicts, or a screen's labels
ANSWER_VERDICTS = [("", "")] + [(VERDICT_ZH[v], v) for v in VERDICTS]
SCREEN_VERDICTS = [("", "")] + [(f"{SCREEN_LABEL[v]}（{v}）", v) for v in LABELS]


class FilterError(ValueError):
    """A filter a supervisor typed that cannot be used (a date that is no date); said in words."""


def verdict_word(verdict: str, kind: str = "answer") -> str:
    """An answer's verdict or a screen's label in words (the enum value if it is neither)."""
    words = SCREEN_LABEL if kind == "screen" else VERDICT_ZH
    return words.get(verdict, verdict)


def unit_choice(unit: Unit) -> tuple[str, str]:
    """A unit as a supervisor ticks it: 文档 · 第N条 · the start of its text; the value is its id."""
    text = unit.text[len(unit.label):].strip() if unit.text.startswith(unit.label) else unit.text.strip()
    short = text[:UNIT_SHOWN] + ("…" if len(text) > UNIT_SHOWN else "")
    return f"{unit.doc_title} · {unit.label} · {short}", unit.id


def pages(total: int) -> int:
    return max(1, math.ceil(total / PAGE_ROWS))


class AuditTab:
    def __init__(self, service: Service, guard: Guard) -> None:
        self.service = service
        self.guard = guard

    @staticmethod
    def _date(value, name: str) -> str:
        """A date picker's value (YYYY-MM-DD, or empty), checked: a bad one is a FilterError in words."""
        value = str(value or "").strip()
        if not value:
            return ""
        try:
            return day(value)
        except ValueError:
            raise FilterError(f"{name}不是有效日期：{esc(value)}（应为 YYYY-MM-DD，如 2026-11-01）") from None

    @classmethod
    def _filters(cls, since, until, user, verdict, doc, feedback, review, kind="") -> Filters:
        since, until = cls._date(since, "起始日期"), cls._date(until, "截止日期")
        if since and until and since > until:
            raise FilterError(f"起始日期 {since} 晚于截止日期 {until}")
        return Filters(since, until, (user or "").strip(), verdict or "", doc or "", feedback or "", review or "",
                       kind or "")

    def _rows(self, since, until, user, verdict, doc, feedback, review, kind="") -> list[dict]:
        try:
            filters = self._filters(since, until, user, verdict, doc, feedback, review, kind)
        except FilterError as exc:
            raise gr.Error(str(exc)) from None
        return list(self.service.audit.iter_rows(filters))

    @staticmethod
    def _line(r: dict) -> list:
        """One row of the results table: an answer, or a draft screen (its draft cut short, its worst label in words)."""
        screen = r.get("kind") == "screen"
        text = r["question"]
        if screen and len(text) > DRAFT_SHOWN:
            text = text[:DRAFT_SHOWN] + "…"
        return [r["id"][:SHORT_ID], r["created"][:19].replace("T", " "), r["user"], r["channel"],
                KIND_LABEL.get(r.get("kind"), "问答"), text, verdict_word(r["verdict"], r.get("kind") or "answer"),
                " ".join(c["label"] for c in r["citations"]), r["thumbs"], STATUS_LABEL[r["review_status"]], r["id"]]

    def _page(self, filters: tuple, page: int):
        """One page (PAGE_ROWS) of the matching answers and screens, newest first, read with OFFSET/LIMIT,
        and how many match in all (SQL COUNT): the table, the count line and the page shown."""
        try:
            chosen = self._filters(*filters)
        except FilterError as exc:
            return [], f"❌ {exc}", 1
        log = self.service.audit
        total = log.count(chosen)
        page = min(max(1, int(page or 1)), pages(total))
        rows = list(log.iter_rows(chosen, limit=PAGE_ROWS, offset=(page - 1) * PAGE_ROWS))
        noun = {"screen": "文稿检查", "answer": "回答"}.get(chosen.kind, "回答与文稿检查")
        line = f"第 {page} 页 / 共 {pages(total)} 页 · 共 {total} 条{noun}（每页 {PAGE_ROWS} 条，导出可得全部）"
        return [self._line(r) for r in rows], line, page

    def search(self, since, until, user, verdict, doc, feedback, review, kind, request: gr.Request):
        """The first page of the matching answers and screens (查询, and when the page opens)."""
        self.guard(request, "audit")
        return self._page((since, until, user, verdict, doc, feedback, review, kind), 1)

    def on_load(self, since, until, user, verdict, doc, feedback, review, kind, request: gr.Request):
        """The newest answers as the page opens, for a role with the audit right; any other role gets
        an empty table (asking for it on purpose through 查询 is refused by the guard)."""
        if not self.guard.may(request, "audit"):
            return [], "", 1
        return self.search(since, until, user, verdict, doc, feedback, review, kind, request)

    def turn(self, since, until, user, verdict, doc, feedback, review, kind, page, step: int,
             request: gr.Request):
        """Another page of the same results (step -1, 0 or 1)."""
        self.guard(request, "audit")
        return self._page((since, until, user, verdict, doc, feedback, review, kind), int(page or 1) + step)

    def open(self, answer_id: str, request: gr.Request):
        """One answer or screen with its evidence, feedback and the review history; and the right
        verdicts a review of it may give (an answer's verdicts, or ok / risk / breach for a screen)."""
        self.guard(request, "audit")
        row = self.service.audit.answer((answer_id or "").strip())
        if row is None:
            return "没有这条记录。", gr.update(choices=ANSWER_VERDICTS, value=""), gr.update(choices=[], value=[])
        units = gr.update(choices=self._candidates(row), value=[])
        if row["kind"] == "screen":
            return self._screen(row), gr.update(choices=SCREEN_VERDICTS, value=""), units
        return self._answer(row), gr.update(choices=ANSWER_VERDICTS, value=""), units

    def _candidates(self, row: dict | None, more: list[str] = ()) -> list[tuple[str, str]]:
        """The units a review may tick: the row's citations and related units, the units its
        latest review named, then `more` (ticked or found), each once, if the current index holds it."""
        by_id = self.service.assistant.index.by_id
        row = row or {}
        reviewed = row["reviews"][-1]["right_units"] if row.get("reviews") else []
        ids = [c["id"] for c in row.get("citations", []) + row.get("related", [])] + reviewed + list(more)
        return [unit_choice(by_id[u]) for u in dict.fromkeys(ids) if u in by_id]

    def find_units(self, answer_id: str, query: str, ticked: list[str] | None, request: gr.Request):
        """Units whose id, label, headings or text contain the query, added to the candidates (the
        ticked ones stay ticked)."""
        self.guard(request, "audit")
        row = self.service.audit.answer((answer_id or "").strip())
        q = (query or "").strip().lower()
        found = [u.id for u in self.service.assistant.index.units
                 if q and (q in u.id.lower() or q in u.label.lower() or q in " ".join(u.path).lower()
                           or q in u.text.lower())][:UNITS_FOUND]
        ticked = list(ticked or [])
        more = f"（只列前 {UNITS_FOUND} 条，请输入更具体的词）" if len(found) == UNITS_FOUND else ""
        note = f"找到 {len(found)} 条{more}"
        return gr.update(choices=self._candidates(row, ticked + found), value=ticked), note if q else "请输入要查找的词。"

    def _reviews(self, row: dict) -> list[str]:
        status = row["reviews"][-1]["status"] if row["reviews"] else "unreviewed"
        lines = [f"**审核状态**：{STATUS_LABEL[status]}"]
        for f in row["feedback"]:
            lines.append(f"- 反馈 {'👍' if f['rating'] > 0 else '👎' if f['rating'] < 0 else '💬'} {esc(f['user'])}："
                         f"{esc(f['comment'])}")
        for r in row["reviews"]:
            lines.append(f"- 审核 {STATUS_LABEL[r['status']]} · {esc(r['reviewer'])} · {r['created'][:19]}："
                         f"{esc(r['note'])} {esc(' '.join(r['right_units']))} "
                         f"{esc(verdict_word(r['right_verdict'], row['kind']))}")
        return lines

    def _screen(self, row: dict) -> str:
        """A draft screen: each sentence with its label; a flagged one with its trigger words, the ruling
        clause and the cited text as the broker saw it (marked if the indexed text changed since), the advice."""
        index = self.service.assistant.index
        titles = {d["id"]: d.get("title", d["id"]) for d in self.service.documents()}
        cited = {c["id"]: c for c in row["citations"]}
        sentences = row["detail"].get("sentences", [])
        flagged = sum(s["label"] != "ok" for s in sentences)
        worst = SCREEN_LABEL.get(row["verdict"], esc(row["verdict"]))
        head = [f"**文稿检查**（结论：{worst}）：共 {len(sentences)} 句，标记 {flagged} 句",
                (f"用户 {esc(row['user'])} · {row['channel']} · {row['created']} · 索引 {row['index_version']} · "
                 f"{row['latency_ms']} ms"), "**逐句结果**："]
        items = []
        for n, s in enumerate(sentences, 1):
            items.append(f"{n}. 【{SCREEN_LABEL.get(s['label'], esc(s['label']))}】{esc(s['text'])}")
            if s["label"] == "ok":
                continue
            if s.get("trigger"):
                items.append(f"    - 触发词：{'、'.join(esc(w) for w in s['trigger'])}")
            for uid, quote in zip(s.get("citations", []), s.get("quotes", [])):
                c = cited.get(uid, {"id": uid})
                unit = index.by_id.get(uid)
                text, state = evidence(c, unit.text if unit else None)
                note = {"changed": " ⚠️ **当前条文已修改**", "gone": " ⚠️ **此条文已不在当前索引中**",
                        "unknown": "（未保存当时的条文，为当前文本）"}.get(state, "")
                items.append(f"    - 依据 {esc(titles.get(c.get('doc_id', ''), c.get('doc_id', '')))} · "
                             f"{esc(c.get('label', uid))}（{esc(uid)}）：「**{esc(quote)}**」")
                items.append(f"        - 条文：{esc(text)}{note}")
            if s.get("advice"):
                items.append(f"    - 建议：{esc(s['advice'])}")
        return "\n\n".join(head) + "\n\n" + "\n".join(items) + "\n\n" + "\n\n".join(self._reviews(row))

    def _answer(self, row: dict) -> str:
        index = self.service.assistant.index
        understood = f"**理解为**：{esc(row['resolved'])}" if row["resolved"] != row["question"] else ""
        provenance = (f"用户 {esc(row['user'])} · {row['channel']} · {row['created']} · 索引 {row['index_version']} · "
                      f"回答者 {row['answerer']} · {row['latency_ms']} ms")
        lines = [f"**问题**：{esc(row['question'])}", understood,
                 f"**回答**（{verdict_word(row['verdict'])}）：{esc(row['answer'])}",
                 provenance, "", "**依据条文**："]
        for c in row["citations"]:
            lines.append(self._evidence(c, index.by_id.get(c["id"])))
        if row["related"]:
            lines.append("**相关（非依据）**：" + "、".join(f"`{c['id']}`" for c in row["related"]))
        return "\n\n".join(lines + self._reviews(row))

    @staticmethod
    def _evidence(citation: dict, unit) -> str:
        """The cited text as the broker saw it, marked when the indexed text is no longer the same."""
        text, state = evidence(citation, unit.text if unit else None)
        line = f"- `{citation['id']}` 得分 {citation['score']}：{esc(text)}"
        if state == "changed":
            return line + f"\n\n  ⚠️ **当前条文已修改**，现在为：{esc(unit.text)}"
        if state == "gone":
            return line + "\n\n  ⚠️ **此条文已不在当前索引中**"
        if state == "unknown":
            return line + "\n\n  （此记录未保存当时的条文，以上为当前文本）" if unit else f"- `{citation['id']}`：（此条文已不在当前索引中）"
        return line

    def pick(self, event: gr.SelectData) -> str:
        """Clicking a row of the results opens that answer: the row's last cell is its full id
        (the clicked row's own values, so a sorted table opens the right one)."""
        row = event.row_value or []
        return str(row[-1]) if row else ""

    def review(self, answer_id: str, status: str, ticked: list[str] | None, typed: str, verdict: str, note: str,
               request: gr.Request) -> str:
        """Record a review; the right units are the ticked ones, then any typed ids (comma-separated)."""
        reviewer = self.guard(request, "audit")
        written = [u.strip() for u in (typed or "").replace("，", ",").split(",") if u.strip()]
        right = list(dict.fromkeys(list(ticked or []) + written))
        try:
            self.service.review((answer_id or "").strip(), reviewer=reviewer, status=status, right_units=right,
                                right_verdict=verdict or "", note=note or "")
        except (KeyError, ValueError) as exc:
            return f"❌ {esc(str(exc))}"
        return f"✅ 已记录审核：{STATUS_LABEL[status]}"

    def export(self, fmt: str, since, until, user, verdict, doc, feedback, review, kind, request: gr.Request):
        """Every matching answer, streamed page by page into the download file."""
        self.guard(request, "audit")
        try:
            filters = self._filters(since, until, user, verdict, doc, feedback, review, kind)
        except FilterError as exc:
            raise gr.Error(str(exc)) from None
        path = stream_export(self.service.audit, fmt, filters)
        return gr.update(value=str(path), visible=True)

    def stats(self, since="", until="", user="", verdict="", doc="", feedback="", review="", kind="",
              request: gr.Request = None) -> str:
        self.guard(request, "audit")
        try:
            s = self.service.audit.stats(self._filters(since, until, user, verdict, doc, feedback, review, kind))
        except FilterError as exc:
            return f"❌ {exc}"
        lines = [f"**回答总数** {s['answers']} · **已审核** {s['reviewed']} · **被标记比例** {s['flagged_share']:.1%}",
                 "**每日回答数**：" + "，".join(f"{d} {n}" for d, n in s["per_day"].items()),
                 "**结论分布**：" + "，".join(f"{VERDICT_ZH.get(v) or SCREEN_LABEL.get(v, v)} {n}"
                                        for v, n in s["verdicts"].items()),
                 "**最常引用条文**：" + "，".join(f"`{u}` {n}" for u, n in s["most_cited"]),
                 f"**制度未涵盖的问题（制度缺口）**：共 {s['not_covered']} 条"] + [
                     f"- {esc(q)}" for q in s["not_covered_questions"][:50]]
        return "\n\n".join(lines)

    def kb(self, request: gr.Request) -> str:
        """Every add, replace and remove of a document: who, when, versions, units, flagged contradictions."""
        self.guard(request, "audit")
        lines = ["| 时间 | 用户 | 操作 | 文档 | 版本 | 条数 | 可能冲突 |", "|---|---|---|---|---|---|---|"]
        for c in self.service.kb_changes(KB_ROWS):
            clash = "；".join(f"{esc(x['new'])} ↔ {esc(x['existing'])}" for x in c["conflicts"]) or "—"
            lines.append(f"| {c['created'][:19].replace('T', ' ')} | {esc(c['user'])} | {KB_LABEL.get(c['action'], c['action'])} "
                         f"| {esc(c['doc_id'])} | {c['old_hash'][:12] or '—'} → {c['new_hash'][:12] or '—'} "
                         f"| {c['old_units']} → {c['new_units']} | {clash} |")
        return "\n".join(lines) if len(lines) > 2 else "知识库尚无变更记录。"

    # --- the reviewed-answer memory (qa/memory.py) ----------------------------------------------
    def memory(self, request: gr.Request):
        """What the assistant remembers from reviews: listed, and offered as a JSONL download."""
        self.guard(request, "audit")
        entries = self.service.remembered()
        lines = [f"**已记住的审核问题**：{len(entries)} 条（同一问题再被问到时，按审核结果回答）"]
        lines += [f"- `{e.answer_id[:8]}` {esc(e.question)} → {e.verdict} {' '.join(e.units)} · {esc(e.reviewer)}"
                  for e in entries[-100:]]
        data = "".join(json.dumps(asdict(e), ensure_ascii=False) + "\n" for e in entries)
        return "\n\n".join(lines), gr.update(value=download(data, "reviewed-memory.jsonl"), visible=bool(entries))

    def forget(self, answer_id: str, request: gr.Request) -> str:
        self.guard(request, "audit")
        if self.service.forget((answer_id or "").strip()):
            return "✅ 已从记忆中移除"
        return "❌ 记忆中没有这个回答 ID"

    def _turner(self, step: int):
        """The handler of 上一页 (-1), 下一页 (1), or of the refresh after a review (0: the same page)."""
        def handler(since, until, user, verdict, doc, feedback, review, kind, page, request: gr.Request):
            return self.turn(since, until, user, verdict, doc, feedback, review, kind, page, step, request)
        return handler

    # --- API (supervisors and admins) ------------------------------------------------------------
    def api_search(self, since: str = "", until: str = "", user: str = "", verdict: str = "", doc: str = "",
                   feedback: str = "", review: str = "", kind: str = "", request: gr.Request = None) -> list[dict]:
        """Answers and draft screens (kind: answer | screen) in the audit trail matching the filters,
        newest first; each citation keeps the text the answer rested on and says whether the indexed
        text is now the same, changed or gone; a screen's sentences are in `detail`."""
        self.guard(request, "audit")
        rows = self._rows(since, until, user, verdict, doc, feedback, review, kind)
        index = self.service.assistant.index
        for r in rows:
            for c in r["citations"]:  # is the text the broker saw still the indexed text?
                unit = index.by_id.get(c["id"])
                c["current"] = evidence(c, unit.text if unit else None)[1]
        return rows

    def api_review(self, answer_id: str, status: str, right_units: str = "", right_verdict: str = "", note: str = "",
                   request: gr.Request = None) -> str:
        """Record a review: status correct | incorrect | follow_up; right_units comma-separated unit ids."""
        return self.review(answer_id, status, [], right_units, right_verdict, note, request)

    def api_export(self, fmt: str = "jsonl", request: gr.Request = None) -> str:
        """The whole audit trail as CSV or JSONL text, or the corrections as gold questions (fmt=gold).
        Read page by page; the reply is the complete text (the download in 审计 streams to a file)."""
        self.guard(request, "audit")
        return "".join(export_lines(self.service.audit, fmt, Filters()))

    def api_stats(self, request: gr.Request = None) -> dict:
        """Answers per day, verdict mix, flagged share, most-cited articles, not_covered questions,
        over the whole trail (aggregated in SQL)."""
        self.guard(request, "audit")
        return json.loads(json.dumps(self.service.audit.stats(), ensure_ascii=False))

    def build(self, demo: gr.Blocks) -> None:
        docs = [("全部", "")] + [(d["id"], d["id"]) for d in self.service.documents()]
        with gr.Row():
            since = gr.DateTime(label="起始日期", include_time=False, type="string", min_width=DATE_WIDTH,
                                elem_id="audit-since")
            until = gr.DateTime(label="截止日期", include_time=False, type="string", min_width=DATE_WIDTH,
                                elem_id="audit-until")
            user = gr.Textbox(label="用户", elem_id="audit-user")
            kind = gr.Dropdown(label="类型", choices=KINDS, value="", elem_id="audit-kind")
        with gr.Row():
            verdict = gr.Dropdown(label="结论", choices=[("全部", "")] + [(VERDICT_ZH[v], v) for v in VERDICTS]
                                  + [(f"{SCREEN_LABEL[v]}（文稿）", v) for v in reversed(LABELS)], value="",
                                  elem_id="audit-verdict")
            doc = gr.Dropdown(label="文档", choices=docs, value="")
            feedback = gr.Dropdown(label="反馈", choices=FEEDBACK, value="")
            review = gr.Dropdown(label="审核状态", choices=REVIEW, value="", elem_id="audit-review-filter")
        filters = [since, until, user, verdict, doc, feedback, review, kind]
        go = gr.Button("查询", variant="primary", elem_id="audit-search")
        page = gr.State(1)
        count = gr.Markdown(elem_id="audit-count")
        table = gr.Dataframe(headers=HEADERS, interactive=False, wrap=True, max_height=360, elem_id="audit-table")
        with gr.Row():
            back = gr.Button("上一页", size="sm", elem_id="audit-previous")
            forward = gr.Button("下一页", size="sm", elem_id="audit-next")
        answer_id = gr.Textbox(label="回答或文稿检查 ID（点表格中的一行即可打开）", elem_id="audit-answer-id")
        detail = gr.Markdown(elem_id="audit-detail")
        with gr.Row():
            status = gr.Radio(label="审核结论", choices=[(STATUS_LABEL[s], s) for s in REVIEW_STATUSES], value="correct",
                              elem_id="audit-status")
            right = gr.Dropdown(label="正确结论（错误时填；文稿检查为 通过/有风险/违规）", choices=ANSWER_VERDICTS, value="",
                                elem_id="audit-right-verdict")
        ticked = gr.CheckboxGroup(label="正确条文（错误时勾选；候选为依据与相关条文，可在下方查找更多）", choices=[],
                                  elem_id="audit-right-units")
        with gr.Row():
            query = gr.Textbox(label="查找条文（文档、条号或条文中的词）", scale=4, elem_id="audit-unit-query")
            find = gr.Button("查找", scale=1, elem_id="audit-unit-find")
        found = gr.Markdown(elem_id="audit-unit-found")
        with gr.Accordion("或直接输入条文 ID", open=False):
            units = gr.Textbox(label="条文 ID（逗号分隔，如 p1:第二十五条）", elem_id="audit-units")
        note = gr.Textbox(label="备注", elem_id="audit-note")
        submit = gr.Button("提交审核", elem_id="audit-submit")
        result = gr.Markdown(elem_id="audit-result")
        with gr.Row():
            fmt = gr.Radio(label="导出", choices=[("CSV", "csv"), ("JSONL", "jsonl"), ("评测题（JSONL）", "gold")],
                           value="csv", elem_id="audit-format")
            exporting = gr.Button("导出当前筛选结果", elem_id="audit-export")
            file = gr.DownloadButton("下载导出文件", visible=False, elem_id="audit-download")
        stats = gr.Markdown(elem_id="audit-stats")
        refresh = gr.Button("刷新统计", elem_id="audit-refresh-stats")

        shown = [table, count, page]
        opened = [detail, right, ticked]
        demo.load(self.on_load, filters, shown, api_visibility="private")
        go.click(self.search, filters, shown, api_visibility="private")
        for button, step in ((back, -1), (forward, 1)):
            button.click(self._turner(step), [*filters, page], shown, api_visibility="private")
        table.select(self.pick, None, answer_id, api_visibility="private").then(
            self.open, [answer_id], opened, api_visibility="private")
        answer_id.submit(self.open, [answer_id], opened, api_visibility="private")
        for trigger in (query.submit, find.click):
            trigger(self.find_units, [answer_id, query, ticked], [ticked, found], api_visibility="private")
        submit.click(self.review, [answer_id, status, ticked, units, right, note], result,
                     api_visibility="private").then(
            self.open, [answer_id], opened, api_visibility="private").then(
            self._turner(0), [*filters, page], shown, api_visibility="private")
        exporting.click(self.export, [fmt, *filters], file, api_visibility="private")
        refresh.click(self.stats, filters, stats, api_visibility="private")
        with gr.Accordion("知识库变更记录", open=False):
            kb_list = gr.Markdown(elem_id="audit-kb")
            kb_show = gr.Button("查看", elem_id="audit-kb-show")
        kb_show.click(self.kb, None, kb_list, api_visibility="private")
        with gr.Accordion("审核记忆（已审核的问题）", open=False):
            remembered = gr.Markdown(elem_id="audit-memory")
            with gr.Row():
                show = gr.Button("查看", elem_id="audit-memory-show")
                memory_file = gr.DownloadButton("导出记忆", visible=False, elem_id="audit-memory-download")
                forget_id = gr.Textbox(label="回答 ID（前 8 位即可）", elem_id="audit-memory-id")
                forget = gr.Button("从记忆中移除", elem_id="audit-memory-forget")
            forgotten = gr.Markdown(elem_id="audit-memory-result")
        show.click(self.memory, None, [remembered, memory_file], api_visibility="private")
        forget.click(self.forget, [forget_id], forgotten, api_visibility="private").then(
            self.memory, None, [remembered, memory_file], api_visibility="private")
        gr.api(self.api_search, api_name="audit_search")
        gr.api(self.api_review, api_name="audit_review")
        gr.api(self.api_export, api_name="audit_export")
        gr.api(self.api_stats, api_name="audit_stats")
