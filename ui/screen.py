"""文稿检查: a draft (pasted, or read from a .txt/.md/.docx) screened sentence by sentence, each flagged
sentence shown with its trigger words, the article it may breach and the article's own advice;
Markdown and JSON exports; and the /screen API.

Every screen comes from ``Service.screen``, which records it in the audit trail (审计 lists it as
文稿检查). The right is the one asking needs ("ask"): a draft is a question about many sentences.
"""
from __future__ import annotations

import json
from pathlib import Path

import gradio as gr

from indexer.loaders import DocumentError, read_document
from qa.screen import LABEL_ZH as LABEL
from qa.screen import Screen, ScreenedSentence, ScreenError
from service import Service
from ui.chat import ChatTab
from ui.common import Guard, download, esc

FILE_TYPES = [".txt", ".md", ".docx"]
EXAMPLE = ("王总您好！下周六上午十点，我们在公司三楼会议室举办投资策略交流会。"
           "本产品保证年化收益12%，稳赚不赔。欢迎您届时光临。")


def mark_triggers(text: str, words: list[str]) -> str:
    """The sentence escaped, with every occurrence of its trigger words marked (longest first, no overlap)."""
    taken = [False] * len(text)
    spans = []
    lower = text.lower()
    for word in sorted({w for w in words if w}, key=len, reverse=True):
        at = lower.find(word.lower())
        while at >= 0:
            end = at + len(word)
            if not any(taken[at:end]):
                spans.append((at, end))
                taken[at:end] = [True] * (end - at)
            at = lower.find(word.lower(), end)
    out, last = [], 0
    for start, end in sorted(spans):
        out.append(esc(text[last:start]) + f'<mark class="pq-trigger">{esc(text[start:end])}</mark>')
        last = end
    return "".join(out) + esc(text[last:])


class ScreenTab:
    def __init__(self, service: Service, guard: Guard) -> None:
        self.service = service
        self.guard = guard
        self.cards = ChatTab(service, guard)  # the chat's citation cards: the same look, the same escaping

    # --- rendering -------------------------------------------------------------------------------
    @staticmethod
    def summary(screen: Screen) -> str:
        s = screen.summary()
        return (f'<div class="pq-screen-summary" data-worst="{s["worst"]}">共 {s["sentences"]} 句，'
                f'标记 {s["flagged"]} 句（违规 {s["breach"]}，有风险 {s["risk"]}）· 结论：'
                f'<span class="pq-s-badge pq-s-{s["worst"]}">{LABEL[s["worst"]]}</span></div>')

    def sentence(self, n: int, s: ScreenedSentence, zh: bool = True) -> str:
        if s.label == "ok":
            return (f'<div class="pq-sentence pq-s-ok" data-label="ok"><span class="pq-s-n">{n}</span> '
                    f'<span class="pq-s-text">{esc(s.text)}</span></div>')
        trigger = (f'<div class="pq-s-trigger">触发词：{"、".join(esc(w) for w in s.trigger)}</div>'
                   if s.trigger else "")
        advice = f'<div class="pq-advice">建议：{esc(s.advice)}</div>' if s.advice else ""
        cards = "".join(self.cards.card(c, zh) for c in s.citations)
        return (f'<div class="pq-sentence pq-s-{s.label}" data-label="{s.label}">'
                f'<span class="pq-s-n">{n}</span> <span class="pq-s-badge pq-s-{s.label}">{LABEL[s.label]}</span> '
                f'<span class="pq-s-text">{mark_triggers(s.text, s.trigger)}</span>'
                f'{trigger}{advice}<div class="pq-s-cards">{cards}</div></div>')

    def render(self, screen: Screen) -> str:
        zh = screen.language == "zh"
        rows = "".join(self.sentence(n, s, zh) for n, s in enumerate(screen.sentences, 1))
        note = f'<div class="pq-s-id">审计编号 {esc(screen.id)}</div>' if screen.id else ""
        return f'{self.summary(screen)}<div class="pq-draft">{rows}</div>{note}'

    @staticmethod
    def error(message: str) -> str:
        return f'<div class="pq-error">⚠️ {esc(message)}</div>'

    # --- events ----------------------------------------------------------------------------------
    def load(self, file, request: gr.Request):
        """An uploaded draft file's text into the box, to be read over and checked; the upload box is
        emptied for the next file."""
        self.guard(request, "ask")
        if file is None:
            return gr.update(), "", None
        path = Path(file)
        name = path.name
        if path.suffix.lower() not in FILE_TYPES:
            return gr.update(), self.error(f"无法读取 {name}：只支持 {' '.join(FILE_TYPES)} 文件。"), None
        try:
            text = read_document(path)
        except DocumentError as exc:
            return gr.update(), self.error(f"无法读取文件：{exc}"), None
        return text, f'<div class="pq-note">已读取 {esc(name)}（{len(text)} 字），请核对后点击“检查”。</div>', None

    def check(self, draft: str, request: gr.Request):
        """Screen the draft; the result, and the Markdown and JSON exports as downloads."""
        user = self.guard(request, "ask")
        hidden = gr.update(value=None, visible=False)
        try:
            screen = self.service.screen(draft or "", user=user, channel="ui")
        except ScreenError as exc:
            return self.error(str(exc)), hidden, hidden
        stem = f"screen-{screen.id[:8]}" if screen.id else "screen"
        data = json.dumps(screen.to_dict(), ensure_ascii=False, indent=2)
        return (self.render(screen), gr.update(value=download(screen.to_markdown(), f"{stem}.md"), visible=True),
                gr.update(value=download(data, f"{stem}.json"), visible=True))

    def api_screen(self, draft: str, request: gr.Request = None) -> dict:
        """Screen a draft as 文稿检查 does: the summary and each sentence with its label (ok, risk,
        breach), trigger words, citations (with the ruling clause) and advice, or {"error": …}."""
        user = self.guard(request, "ask")
        try:
            return self.service.screen(draft or "", user=user, channel="api").to_dict()
        except ScreenError as exc:
            return {"error": str(exc)}

    def build(self) -> None:
        gr.Markdown("粘贴要发给客户的文稿（微信、短信、邀请函、宣传单……），或上传 .txt / .md / .docx 文件，"
                    "点击“检查”：逐句对照制度，标出可能违规或有风险的句子、依据条文和修改建议。检查记录进入审计。")
        with gr.Row():
            with gr.Column(scale=3):
                draft = gr.Textbox(label="文稿", lines=8, max_lines=20, elem_id="screen-draft",
                                   placeholder="例如：王总您好！本产品保证年化收益12%……")
            with gr.Column(scale=1):
                file = gr.File(label="或上传文件（.txt .md .docx）", file_types=FILE_TYPES, type="filepath",
                               elem_id="screen-file")
        gr.Examples([EXAMPLE], inputs=draft, label="示例文稿")
        with gr.Row():
            go = gr.Button("检查", variant="primary", elem_id="screen-go")
            md = gr.DownloadButton("导出 Markdown", visible=False, elem_id="screen-md")
            js = gr.DownloadButton("导出 JSON", visible=False, elem_id="screen-json")
        result = gr.HTML(elem_id="screen-result")
        file.upload(self.load, [file], [draft, result, file], api_visibility="private")
        go.click(self.check, [draft], [result, md, js], api_visibility="private")
        gr.api(self.api_screen, api_name="screen")
