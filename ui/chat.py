"""问答: answers streamed with a verdict badge, citation cards and feedback; and the /ask API."""
from __future__ import annotations

import time

import gradio as gr

from qa.answer import Answer, Citation, QuestionError
from qa.verdict import VERDICT_ZH as BADGE  # the verdicts in words, shared with 审计
from service import Service
from ui.common import Guard, esc

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


def _highlight(text: str, quote: str) -> str:
    """The unit's full text with the clause the answer rests on marked."""
    at = text.find(quote) if quote else -1
    if at < 0:
        return esc(text)
    return esc(text[:at]) + "<mark>" + esc(quote) + "</mark>" + esc(text[at + len(quote):])


def head(answer: Answer, conclusion: str) -> str:
    return (f'<div class="pq-answer"><span class="pq-badge pq-{answer.verdict}" data-verdict="{answer.verdict}">'
            f'{BADGE[answer.verdict]}</span> <span class="pq-conclusion">{esc(conclusion)}</span></div>')


class ChatTab:
    def __init__(self, service: Service, guard: Guard) -> None:
        self.service = service
        self.guard = guard

    def card(self, c: Citation, zh: bool) -> str:
        context = "".join(
            f'<div class="pq-neighbour{" pq-self" if u.id == c.id else ""}">'
            f'{"" if u.text.startswith(u.label) else f"<b>{esc(u.label)}</b> "}{esc(u.text)}</div>'
            for u in self.service.neighbours(c.id))
        summary = "查看上下文（前后条文）" if zh else "Show the neighbouring articles"
        return (f'<div class="pq-card" data-unit="{esc(c.id)}">'
                f'<div class="pq-card-head"><span class="pq-doc">{esc(c.doc_title)}</span> · '
                f'<span class="pq-label">{esc(c.label)}</span></div>'
                f'<div class="pq-path">{esc(c.heading_path)}</div>'
                f'<div class="pq-text">{_highlight(c.text, c.quote)}</div>'
                f'<details class="pq-context"><summary>{summary}</summary>{context}</details></div>')

    def render(self, answer: Answer) -> str:
        zh = answer.language == "zh"
        parts = [head(answer, answer.answer)]
        if answer.citations:
            parts.append(f'<div class="pq-section">{"依据" if zh else "Cited articles"}</div>')
            parts += [self.card(c, zh) for c in answer.citations]
        if answer.related:
            title = "相关条文（仅供参考，非依据）" if zh else "Related articles (for reference only, not a basis)"
            items = "".join(f'<li data-unit="{esc(c.id)}"><b>{esc(c.doc_title)} · {esc(c.label)}</b> {esc(c.text[:80])}</li>'
                            for c in answer.related)
            parts.append(f'<details class="pq-related"><summary>{title}</summary><ul>{items}</ul></details>')
        return "".join(parts)

    def respond(self, question: str, history: list[dict], turns: list[dict], request: gr.Request):
        """Stream one answer: the badge and conclusion first, a few characters at a time, then the cards."""
        user = self.guard(request, "ask")
        history = list(history or []) + [{"role": "user", "content": esc(question or "")}]
        previous = turns[-1]["resolved"] if turns else None
        try:
            answer = self.service.ask(question, previous, user=user, channel="ui")
        except QuestionError as exc:
            history.append({"role": "assistant", "content": f'<div class="pq-error">⚠️ {esc(str(exc))}</div>'})
            yield history, turns, ""
            return
        history.append({"role": "assistant", "content": ""})
        text = answer.answer
        for end in range(STREAM_CHUNK, len(text) + STREAM_CHUNK, STREAM_CHUNK):
            history[-1] = {"role": "assistant", "content": head(answer, text[:end])}
            yield history, turns, ""
            time.sleep(STREAM_PAUSE)
        history[-1] = {"role": "assistant", "content": self.render(answer)}
        turns = list(turns) + [{"message": len(history) - 1, "id": answer.id, "resolved": answer.resolved}]
        yield history, turns, ""

    def on_like(self, turns: list[dict], data: gr.LikeData, request: gr.Request) -> tuple[str, str]:
        user = self.guard(request, "ask")
        index = data.index if isinstance(data.index, int) else data.index[0]
        turn = next((t for t in turns if t["message"] == index), None)
        if turn is None:
            return "", "（这条消息不是回答，无法评价。）"
        rating = 1 if data.liked else -1 if data.liked is False else 0
        self.service.feedback(turn["id"], rating, user=user)
        note = "已记录：👍 有帮助" if rating > 0 else "已记录：👎 有问题。可在下方补充说明。" if rating < 0 else "已撤销评价"
        return turn["id"], note

    def on_comment(self, comment: str, target: str, turns: list[dict], request: gr.Request) -> tuple[str, str]:
        user = self.guard(request, "ask")
        answer_id = target or (turns[-1]["id"] if turns else "")
        if not answer_id:
            return comment, "还没有可以评论的回答。"
        if not (comment or "").strip():
            return comment, "评论是空的。"
        self.service.feedback(answer_id, 0, comment, user=user)
        return "", "评论已保存，谢谢！"

    def api_ask(self, question: str, previous: str = "", request: gr.Request = None) -> dict:
        """Answer a question as the chat does; `previous` is the last answer's `resolved` for a follow-up.
        Returns the answer as JSON (verdict, conclusion, citations with their text) or {"error": …}."""
        user = self.guard(request, "ask")
        try:
            return self.service.ask(question, previous or None, user=user, channel="api").to_dict()
        except QuestionError as exc:
            return {"question": question, "error": str(exc)}

    def build(self) -> None:
        limit = self.service.settings.max_question_chars
        turns = gr.State([])
        target = gr.State("")
        chat = gr.Chatbot(elem_id="chat", label="对话", height=560, sanitize_html=False, layout="panel",
                          feedback_options=("Like", "Dislike"), buttons=["copy"], placeholder="在下方输入问题，或点一个示例。")
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
        gr.api(self.api_ask, api_name="ask")
