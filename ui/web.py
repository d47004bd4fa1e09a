"""The web app: 问答 (chat with cited answers) and 知识库 (the knowledge base a user can see and extend).

Every answer comes from ``Service.ask``, the path the CLI and the API use too; this module only
turns answers into HTML and wires the events. The page loads nothing from the web.
"""
from __future__ import annotations

import html
import tempfile
import time
from pathlib import Path

import gradio as gr

from indexer.loaders import SUPPORTED, DocumentError
from qa.answer import Answer, Citation, QuestionError
from service import Service

BADGE = {"allowed": "可以", "prohibited": "不可以", "required": "必须", "info": "参考", "not_covered": "未涵盖"}
EXAMPLES = [
    "我能以公司名义和客户签合同吗？",
    "客户送的购物卡可以收吗？",
    "投资咨询合同要保存多少年？",
    "外场活动要提前多少天申请？",
    "Can I accept a gift from a client?",
    "公司的年假有几天？",
]
STREAM_CHUNK = 3  # characters per streamed update of the conclusion
STREAM_PAUSE = 0.015  # seconds between updates, so the answer visibly streams

CSS = Path(__file__).with_name("web.css").read_text(encoding="utf-8")


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _highlight(text: str, quote: str) -> str:
    """The unit's full text with the clause the answer rests on marked."""
    at = text.find(quote) if quote else -1
    if at < 0:
        return _e(text)
    return _e(text[:at]) + "<mark>" + _e(quote) + "</mark>" + _e(text[at + len(quote):])


def _head(answer: Answer, conclusion: str) -> str:
    badge = BADGE[answer.verdict]
    return (f'<div class="pq-answer"><span class="pq-badge pq-{answer.verdict}" data-verdict="{answer.verdict}">{badge}</span> '
            f'<span class="pq-conclusion">{_e(conclusion)}</span></div>')


class WebApp:
    def __init__(self, service: Service) -> None:
        self.service = service

    # --- HTML ------------------------------------------------------------------------------------
    def card(self, c: Citation, zh: bool) -> str:
        context = "".join(
            f'<div class="pq-neighbour{" pq-self" if u.id == c.id else ""}">'
            f'{"" if u.text.startswith(u.label) else f"<b>{_e(u.label)}</b> "}{_e(u.text)}</div>'
            for u in self.service.neighbours(c.id))
        summary = "查看上下文（前后条文）" if zh else "Show the neighbouring articles"
        return (f'<div class="pq-card" data-unit="{_e(c.id)}">'
                f'<div class="pq-card-head"><span class="pq-doc">{_e(c.doc_title)}</span> · '
                f'<span class="pq-label">{_e(c.label)}</span></div>'
                f'<div class="pq-path">{_e(c.heading_path)}</div>'
                f'<div class="pq-text">{_highlight(c.text, c.quote)}</div>'
                f'<details class="pq-context"><summary>{summary}</summary>{context}</details></div>')

    def render(self, answer: Answer) -> str:
        zh = answer.language == "zh"
        parts = [_head(answer, answer.answer)]
        if answer.citations:
            parts.append(f'<div class="pq-section">{"依据" if zh else "Cited articles"}</div>')
            parts += [self.card(c, zh) for c in answer.citations]
        if answer.related:
            title = "相关条文（仅供参考，非依据）" if zh else "Related articles (for reference only, not a basis)"
            items = "".join(f'<li data-unit="{_e(c.id)}"><b>{_e(c.doc_title)} · {_e(c.label)}</b> {_e(c.text[:80])}</li>'
                            for c in answer.related)
            parts.append(f'<details class="pq-related"><summary>{title}</summary><ul>{items}</ul></details>')
        return "".join(parts)

    # --- 问答 --------------------------------------------------------------------------------------
    def respond(self, question: str, history: list[dict], turns: list[dict]):
        """Stream one answer: the badge and conclusion first, a few characters at a time, then the cards."""
        history = list(history or []) + [{"role": "user", "content": _e(question or "")}]
        previous = turns[-1]["resolved"] if turns else None
        try:
            answer = self.service.ask(question, previous, channel="ui")
        except QuestionError as exc:
            history.append({"role": "assistant", "content": f'<div class="pq-error">⚠️ {_e(str(exc))}</div>'})
            yield history, turns, ""
            return
        history.append({"role": "assistant", "content": ""})
        text = answer.answer
        for end in range(STREAM_CHUNK, len(text) + STREAM_CHUNK, STREAM_CHUNK):
            history[-1] = {"role": "assistant", "content": _head(answer, text[:end])}
            yield history, turns, ""
            time.sleep(STREAM_PAUSE)
        history[-1] = {"role": "assistant", "content": self.render(answer)}
        turns = list(turns) + [{"message": len(history) - 1, "id": answer.id, "resolved": answer.resolved}]
        yield history, turns, ""

    def on_like(self, turns: list[dict], data: gr.LikeData) -> tuple[str, str]:
        index = data.index if isinstance(data.index, int) else data.index[0]
        turn = next((t for t in turns if t["message"] == index), None)
        if turn is None:
            return "", "（这条消息不是回答，无法评价。）"
        rating = 1 if data.liked else -1 if data.liked is False else 0
        self.service.feedback(turn["id"], rating)
        note = "已记录：👍 有帮助" if rating > 0 else "已记录：👎 有问题。可在下方补充说明。" if rating < 0 else "已撤销评价"
        return turn["id"], note

    def on_comment(self, comment: str, target: str, turns: list[dict]) -> tuple[str, str]:
        answer_id = target or (turns[-1]["id"] if turns else "")
        if not answer_id:
            return comment, "还没有可以评论的回答。"
        if not (comment or "").strip():
            return comment, "评论是空的。"
        self.service.feedback(answer_id, 0, comment)
        return "", "评论已保存，谢谢！"

    # --- 知识库 ------------------------------------------------------------------------------------
    def documents(self):
        docs = self.service.documents()
        rows = [[d["id"], d["title"], d["file"], d.get("units", 0), d.get("version", "")] for d in docs]
        warnings = self.service.warnings()
        note = ("**解析提示：**\n" + "\n".join(f"- {_e(w)}" for w in warnings)) if warnings else "解析没有发现问题。"
        choices = [("全部文档", "")] + [(f'{d["title"]}（{d["id"]}）', d["id"]) for d in docs]
        removable = [(f'{d["title"]}（{d["id"]}）', d["id"]) for d in docs]
        return rows, note, gr.update(choices=choices, value=""), gr.update(choices=removable, value=None)

    def browse(self, doc_id: str, query: str):
        units = self.service.units(doc_id or None, query or "")
        return [[u.id, u.label, " > ".join(u.path), u.text] for u in units], f"共 {len(units)} 条"

    def preview(self, file, title: str):
        if file is None:
            return [], "请先选择文件。", gr.update(interactive=False)
        path = Path(file)
        try:
            doc, result = self.service.check(path, title=(title or "").strip() or None)
        except DocumentError as exc:
            return [], f"❌ 无法加入：{_e(str(exc))}。现有索引不受影响。", gr.update(interactive=False)
        rows = [[u.label, " > ".join(u.path), u.text] for u in result.units]
        warn = "".join(f"\n- ⚠️ {_e(w)}" for w in result.warnings)
        msg = f"《{_e(doc.title)}》解析出 {len(rows)} 条，请核对后点击“确认加入索引”。{warn}"
        return rows, msg, gr.update(interactive=True)

    def confirm(self, file, title: str, progress=gr.Progress()):  # noqa: B008 (Gradio's idiom)
        """Index the previewed file; on success the upload box is cleared for the next one."""
        if file is None:
            return "请先选择文件。", gr.update(interactive=False), None
        progress(0, desc="解析中")

        def step(done: int, total: int) -> None:
            progress(done / max(total, 1), desc=f"向量化 {done}/{total}")

        try:
            doc, report = self.service.add(Path(file), title=(title or "").strip() or None, progress=step)
        except DocumentError as exc:
            return f"❌ 无法加入：{_e(str(exc))}。现有索引不受影响。", gr.update(interactive=False), file
        return (f"✅ 已加入《{_e(doc.title)}》（{doc.id}）。索引现有 {report.documents} 个文档、{report.units} 条。",
                gr.update(interactive=False), None)

    def remove(self, doc_id: str | None, progress=gr.Progress()):  # noqa: B008 (Gradio's idiom)
        if not doc_id:
            return "请选择要删除的文档。"
        progress(0, desc="重建索引")
        try:
            report = self.service.remove(doc_id, progress=lambda d, t: progress(d / max(t, 1), desc="重建索引"))
        except DocumentError as exc:
            return f"❌ 无法删除：{_e(str(exc))}。"
        return f"✅ 已删除 {doc_id}。索引现有 {report.documents} 个文档、{report.units} 条。"

    # --- 题库 --------------------------------------------------------------------------------------
    def make_quiz(self, n, docs: list[str], types: list[str], seed, fmt: str, lang: str):
        """Preview and a file to download; a bad option gets a message and no file."""
        from quiz.formats import export, to_markdown
        from quiz.generate import QuizError

        try:
            quiz = self.service.quiz(int(n or 0), tuple(types or ()), int(seed or 0), lang, list(docs or []) or None)
        except (QuizError, ValueError) as exc:
            return f"❌ {_e(str(exc))}", "", gr.update(value=None, visible=False)
        meta = {"n": len(quiz.items), "seed": int(seed or 0), "types": list(types), "docs": list(docs or []),
                "lang": lang, "dropped_by_validation": dict(quiz.dropped), "duplicates_dropped": quiz.duplicates}
        text, notes = export(quiz.items, fmt, meta)
        folder = Path(tempfile.mkdtemp(prefix="quiz-"))
        suffix = {"md": "md", "gift": "gift.txt", "aiken": "aiken.txt"}.get(fmt, fmt)
        path = folder / f"quiz-{len(quiz.items)}-seed{int(seed or 0)}.{suffix}"
        path.write_text(text, encoding="utf-8-sig" if fmt == "csv" else "utf-8")
        dropped = sum(quiz.dropped.values())
        status = (f"✅ 生成 {len(quiz.items)} 题（{dropped} 个候选未通过校验被丢弃，{quiz.duplicates} 个重复被丢弃）。"
                  + "".join(f"\n\n⚠️ {_e(note)}" for note in notes))
        return status, to_markdown(quiz.items, "题库预览"), gr.update(value=str(path), visible=True)

    # --- the API (gradio_client) -----------------------------------------------------------------
    def api_ask(self, question: str, previous: str = "") -> dict:
        """Answer a question as the chat does; `previous` is the last answer's `resolved` for a follow-up.
        Returns the answer as JSON (verdict, conclusion, citations with their text) or {"error": …}."""
        try:
            return self.service.ask(question, previous or None, channel="api").to_dict()
        except QuestionError as exc:
            return {"question": question, "error": str(exc)}

    # --- layout ----------------------------------------------------------------------------------
    def build(self) -> gr.Blocks:
        limit = self.service.settings.max_question_chars
        with gr.Blocks(title="policy-qa 合规问答") as demo:
            gr.Markdown("## 合规问答 · policy-qa\n单用户模式：仅在本机使用，未配置用户与权限。回答只来自已收录的制度文档，每条回答都注明依据条文。")
            with gr.Tab("问答", id="chat"):
                turns = gr.State([])
                target = gr.State("")
                chat = gr.Chatbot(elem_id="chat", label="对话", height=560, sanitize_html=False, layout="panel",
                                  feedback_options=("Like", "Dislike"), buttons=["copy"],
                                  placeholder="在下方输入问题，或点一个示例。")
                with gr.Row():
                    box = gr.Textbox(elem_id="question", show_label=False, scale=8, autofocus=True,
                                     placeholder=f"输入问题（中文或英文，最多 {limit} 字），按回车发送")
                    send = gr.Button("发送", variant="primary", scale=1, elem_id="send")
                    clear = gr.Button("新对话", scale=1)
                gr.Examples(EXAMPLES, inputs=box, label="示例问题")
                with gr.Row():
                    comment = gr.Textbox(label="反馈说明（可选）", placeholder="答得对吗？哪里不对？", scale=8, elem_id="comment")
                    save = gr.Button("提交反馈", scale=1, elem_id="save-comment")
                notice = gr.Markdown(elem_id="feedback-note")
                for trigger in (box.submit, send.click):
                    trigger(self.respond, [box, chat, turns], [chat, turns, box], api_visibility="private")
                clear.click(lambda: ([], [], ""), None, [chat, turns, target], api_visibility="private")
                chat.like(self.on_like, [turns], [target, notice], api_visibility="private")
                save.click(self.on_comment, [comment, target, turns], [comment, notice], api_visibility="private")
            with gr.Tab("知识库", id="kb"):
                docs = gr.Dataframe(headers=["编号", "标题", "文件", "条数", "版本"], interactive=False, elem_id="docs")
                warnings = gr.Markdown(elem_id="warnings")
                with gr.Row():
                    which = gr.Dropdown(label="文档", choices=[("全部文档", "")], value="", scale=2)
                    query = gr.Textbox(label="搜索条文", placeholder="例如：合同、第四十二条", scale=4, elem_id="unit-search")
                    count = gr.Markdown()
                units = gr.Dataframe(headers=["编号", "标签", "标题路径", "内容"], interactive=False, wrap=True,
                                     elem_id="units", max_height=420)
                gr.Markdown(f"### 上传新制度文件\n支持 {' '.join(sorted(SUPPORTED))}，UTF-8 或 GBK 编码。先解析预览，确认后加入索引。")
                with gr.Row():
                    upload = gr.File(label="制度文件", file_types=sorted(SUPPORTED), elem_id="upload", scale=3)
                    title = gr.Textbox(label="文档标题（可选，默认用文件名）", scale=2, elem_id="upload-title")
                with gr.Row():
                    check = gr.Button("解析预览", elem_id="preview")
                    add = gr.Button("确认加入索引", variant="primary", interactive=False, elem_id="confirm")
                status = gr.Markdown(elem_id="upload-status")
                preview = gr.Dataframe(headers=["标签", "标题路径", "内容"], interactive=False, wrap=True, max_height=300)
                with gr.Row():
                    doomed = gr.Dropdown(label="删除文档（连同其全部条文）", scale=3, elem_id="remove-doc")
                    drop = gr.Button("删除", variant="stop", scale=1, elem_id="remove")
                removed = gr.Markdown()

                refresh_outputs = [docs, warnings, which, doomed]
                browse_args = dict(fn=self.browse, inputs=[which, query], outputs=[units, count], api_visibility="private")
                demo.load(self.documents, None, refresh_outputs, api_visibility="private").then(**browse_args)
                which.change(**browse_args)
                query.submit(**browse_args)
                check.click(self.preview, [upload, title], [preview, status, add], api_visibility="private")
                add.click(self.confirm, [upload, title], [status, add, upload], api_visibility="private").then(
                    self.documents, None, refresh_outputs, api_visibility="private").then(**browse_args)
                drop.click(self.remove, [doomed], [removed], api_visibility="private").then(
                    self.documents, None, refresh_outputs, api_visibility="private").then(**browse_args)
            with gr.Tab("题库", id="quiz"):
                gr.Markdown("从条文生成练习题：每题都注明出处，答案由条文原文校验；同一随机种子生成同一份题目。")
                with gr.Row():
                    qn = gr.Number(label="题目数量", value=20, precision=0, minimum=1, elem_id="quiz-n")
                    qseed = gr.Number(label="随机种子", value=0, precision=0, elem_id="quiz-seed")
                    qfmt = gr.Dropdown(label="导出格式", value="json", elem_id="quiz-format",
                                       choices=[("JSON", "json"), ("CSV（表格）", "csv"), ("Moodle GIFT", "gift"),
                                                ("Aiken", "aiken"), ("Markdown（打印）", "md")])
                    qlang = gr.Radio(label="题干语言", choices=[("中文", "zh"), ("English", "en")], value="zh")
                qtypes = gr.CheckboxGroup(label="题型", value=["tf", "choice", "multi", "cloze"], elem_id="quiz-types",
                                          choices=[("判断", "tf"), ("单选", "choice"), ("多选", "multi"), ("填空", "cloze")])
                qdocs = gr.CheckboxGroup(label="文档（不选即全部）", choices=[], elem_id="quiz-docs")
                qgo = gr.Button("生成题目", variant="primary", elem_id="quiz-go")
                qstatus = gr.Markdown(elem_id="quiz-status")
                qfile = gr.DownloadButton("下载题目文件", visible=False, elem_id="quiz-download")
                qpreview = gr.Markdown(elem_id="quiz-preview")
                qgo.click(self.make_quiz, [qn, qdocs, qtypes, qseed, qfmt, qlang], [qstatus, qpreview, qfile],
                          api_visibility="private")
                demo.load(lambda: gr.update(choices=[(f'{d["title"]}（{d["id"]}）', d["id"])
                                                     for d in self.service.documents()]),
                          None, qdocs, api_visibility="private")
            gr.api(self.api_ask, api_name="ask")
        return demo


def serve(service: Service, host: str, port: int, block: bool = True) -> gr.Blocks:
    demo = WebApp(service).build()
    demo.queue(default_concurrency_limit=4)
    demo.launch(server_name=host, server_port=port, share=False, inbrowser=False, prevent_thread_lock=not block,
                show_error=True, quiet=True, css=CSS, footer_links=[], enable_monitoring=False, ssr_mode=False,
                pwa=False, mcp_server=False)
    return demo
