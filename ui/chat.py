"""问答: answers in the asker's language with a verdict badge, citation cards (each opens its whole
document at the cited article), feedback, the user's own history kept on the server; and the /ask API."""
from __future__ import annotations

import gradio as gr

from indexer.parse import Unit
from qa.answer import Answer, Citation, QuestionError
from qa.intent import language_of
from service import Service
from ui.common import Guard, esc
from ui.strings import PAGE, ChatStrings, chat_strings, in_language

EXAMPLES = [
    "我能以公司名义和客户签合同吗？",
    "客户送的购物卡可以收吗？",
    "投资咨询合同要保存多少年？",
    "外场活动要提前多少天申请？",
    "Can I accept a gift from a client?",
    "公司的年假有几天？",
]
SEPARATORS = " ，,。.:：;；—–-"  # what may follow a badge word at the start of a conclusion

# A card's "whole document" button is HTML inside a chat message, which cannot wire a Gradio event:
# one listener on the page hands its article to the hidden #doc-open button (ui/web.py installs it).
OPEN_DOCUMENT_JS = """() => {
  document.addEventListener('click', (event) => {
    const button = event.target.closest('.pq-open-doc');
    if (!button) return;
    event.preventDefault();
    window.pqDocTarget = button.dataset.lang + ' ' + button.dataset.unit;
    document.querySelector('#doc-open').click();
  });
}"""
TAKE_TARGET_JS = "(target) => window.pqDocTarget || target"
SCROLL_JS = """() => { setTimeout(() => {
  const here = document.querySelector('#doc-view .pq-here');
  if (here) here.scrollIntoView({block: 'center'}); }, 50); }"""


def _highlight(text: str, quote: str) -> str:
    """The unit's full text with the clause the answer rests on marked."""
    at = text.find(quote) if quote else -1
    if at < 0:
        return esc(text)
    return esc(text[:at]) + "<mark>" + esc(quote) + "</mark>" + esc(text[at + len(quote):])


def _when(created: str) -> str:
    """An audit timestamp (ISO 8601, UTC) as the history shows it."""
    return created[:16].replace("T", " ") + " UTC"


def without_badge(conclusion: str, badge: str) -> str:
    """The conclusion as shown beside its badge: a leading badge word (不可以，… / No — …) is not said
    twice. Display only; the recorded and the API's answer keep the whole text."""
    rest = conclusion[len(badge):] if conclusion.startswith(badge) else None
    if rest is None or (rest and rest[0].isalnum()):  # "Not sure" does not start with the word "No"
        return conclusion
    rest = rest.lstrip(SEPARATORS)
    return rest[:1].upper() + rest[1:]


def head(answer: Answer, s: ChatStrings) -> str:
    """The badge once, then the conclusion without it."""
    badge = s.badges[answer.verdict]
    return (f'<div class="pq-answer" data-language="{esc(answer.language)}">'
            f'<span class="pq-badge pq-{answer.verdict}" data-verdict="{answer.verdict}">{esc(badge)}</span> '
            f'<span class="pq-conclusion">{esc(without_badge(answer.answer, badge))}</span></div>')


def _unit_line(u: Unit) -> str:
    """A unit's label and text; no label when the text begins with it, or with its own marker (the
    "6." of "二、 20、客户开发主管岗位职责 6.", whose headings the context already shows)."""
    marker = u.label.split()[-1] if u.label.split() else u.label
    said = u.text.startswith(u.label) or u.text.startswith(marker)
    return f'{"" if said else f"<b>{esc(u.label)}</b> "}{esc(u.text)}'


def document_view(units: list[Unit], unit_id: str, s: ChatStrings) -> str:
    """A whole document, its headings as they change, the cited article marked (id "pq-here") so the
    page can scroll to it."""
    here = next((u for u in units if u.id == unit_id), None)
    if here is None:
        return f'<div class="pq-doc-view pq-empty">{esc(s.document_gone)}</div>'
    parts = [f'<div class="pq-doc-view" data-doc="{esc(here.doc_id)}" data-unit="{esc(unit_id)}">',
             f'<div class="pq-doc-title">{esc(s.document_title.format(title=here.doc_title, label=here.label))}</div>']
    path: list[str] = []
    for i, u in enumerate(units):
        if u.path != path:
            path = u.path
            parts.append(f'<div class="pq-doc-heading">{esc(" > ".join(path[1:]))}</div>')
        marked = u.id == unit_id
        parts.append(f'<div class="pq-doc-unit{" pq-here" if marked else ""}" id="{"pq-here" if marked else f"pq-u{i}"}"'
                     f' data-unit="{esc(u.id)}">{_unit_line(u)}</div>')
    return "".join(parts) + "</div>"


class ChatTab:
    def __init__(self, service: Service, guard: Guard) -> None:
        self.service = service
        self.guard = guard

    # --- rendering -------------------------------------------------------------------------------
    def card(self, c: Citation, zh: bool, whole_document: bool = False) -> str:
        """One cited article (the 文稿检查 tab shows the same cards); in the chat it also opens its
        whole document, in the chat's document panel."""
        language = "zh" if zh else "en"
        s = chat_strings(language)
        button = (f'<button type="button" class="pq-open-doc" data-unit="{esc(c.id)}" data-lang="{language}">'
                  f'{esc(s.open_document)}</button>') if whole_document else ""
        context = "".join(f'<div class="pq-neighbour{" pq-self" if u.id == c.id else ""}">{_unit_line(u)}</div>'
                          for u in self.service.neighbours(c.id))
        return (f'<div class="pq-card" data-unit="{esc(c.id)}">'
                f'<div class="pq-card-head"><span class="pq-doc">{esc(c.doc_title)}</span> · '
                f'<span class="pq-label">{esc(c.label)}</span></div>'
                f'<div class="pq-path">{esc(c.heading_path)}</div>'
                f'<div class="pq-text">{_highlight(c.text, c.quote)}</div>'
                f'<details class="pq-context"><summary>{esc(s.context)}</summary>{context}</details>{button}</div>')

    def render(self, answer: Answer, note: str = "") -> str:
        s = chat_strings(answer.language)
        parts = [head(answer, s)]
        if note:
            parts.append(f'<div class="pq-note pq-history-note">{esc(note)}</div>')
        if answer.citations:
            parts.append(f'<div class="pq-section">{esc(s.cited)}</div>')
            parts += [self.card(c, answer.language == "zh", whole_document=True) for c in answer.citations]
        if answer.related:
            items = "".join(f'<li data-unit="{esc(c.id)}"><b>{esc(c.doc_title)} · {esc(c.label)}</b> {esc(c.text[:80])}</li>'
                            for c in answer.related)
            parts.append(f'<details class="pq-related"><summary>{esc(s.related)}</summary><ul>{items}</ul></details>')
        return "".join(parts)

    # --- asking ----------------------------------------------------------------------------------
    def respond(self, question: str, history: list[dict], turns: list[dict], request: gr.Request):
        """A placeholder while the answer is computed, then the whole answer at once (an answer
        takes well under a second; replaying it piece by piece would only slow the reader down)."""
        user = self.guard(request, "ask")
        s = chat_strings(language_of(question or ""))
        history = list(history or []) + [{"role": "user", "content": esc(question or "")},
                                         {"role": "assistant", "content": f'<div class="pq-searching">{esc(s.searching)}</div>'}]
        yield history, turns, ""
        previous = turns[-1]["resolved"] if turns else None
        try:
            answer = self.service.ask(question, previous, user=user, channel="ui")
        except QuestionError as exc:
            message = in_language(str(exc), language_of(question or ""))
            history[-1] = {"role": "assistant", "content": f'<div class="pq-error">⚠️ {esc(message)}</div>'}
            yield history, turns, ""
            return
        history[-1] = {"role": "assistant", "content": self.render(answer)}
        yield history, list(turns) + [self._turn(len(history) - 1, answer)], ""

    @staticmethod
    def _turn(message: int, answer: Answer) -> dict:
        """What the tab remembers of an answer shown: its chat message, audit id, resolved question, language."""
        return {"message": message, "id": answer.id, "resolved": answer.resolved, "lang": answer.language}

    # --- feedback --------------------------------------------------------------------------------
    def on_like(self, turns: list[dict], data: gr.LikeData, request: gr.Request) -> tuple[str, str]:
        user = self.guard(request, "ask")
        index = data.index if isinstance(data.index, int) else data.index[0]
        turn = next((t for t in turns if t["message"] == index), None)
        if turn is None:
            return "", chat_strings("zh").not_an_answer
        s = chat_strings(turn.get("lang", "zh"))
        rating = 1 if data.liked else -1 if data.liked is False else 0
        self.service.feedback(turn["id"], rating, user=user)
        return turn["id"], s.liked if rating > 0 else s.disliked if rating < 0 else s.unrated

    def on_comment(self, comment: str, target: str, turns: list[dict], request: gr.Request) -> tuple[str, str]:
        user = self.guard(request, "ask")
        turn = next((t for t in turns if t["id"] == target), turns[-1] if turns else None)
        s = chat_strings(turn.get("lang", "zh") if turn else "zh")
        answer_id = target or (turn["id"] if turn else "")
        if not answer_id:
            return comment, s.nothing_to_comment
        if not (comment or "").strip():
            return comment, s.empty_comment
        self.service.feedback(answer_id, 0, comment, user=user)
        return "", s.comment_saved

    # --- history and the whole document ----------------------------------------------------------
    def on_history(self, request: gr.Request):
        """The signed-in user's recent answers, newest first (the server decides whose)."""
        if not self.guard.may(request, "ask"):
            return gr.Dropdown(choices=[], value=None, info=PAGE["history_empty"])
        user = self.guard(request, "ask")
        rows = self.service.history(user)
        choices = [(f'{_when(r["created"])} · {r["question"][:60]}', r["id"]) for r in rows]
        return gr.Dropdown(choices=choices, value=None, info=PAGE["history_hint"] if rows else PAGE["history_empty"])

    def reopen(self, answer_id: str, history: list[dict], turns: list[dict], target: str, request: gr.Request):
        """One of the user's own past answers back in the chat, as recorded, as a new conversation: a
        follow-up leans on it and feedback goes to it. Anything else leaves the chat as it was."""
        user = self.guard(request, "ask")
        found = self.service.recorded(answer_id, user=user) if answer_id else None
        if found is None:
            return history, turns, target
        answer, created = found
        note = chat_strings(answer.language).from_history.format(when=_when(created))
        shown = [{"role": "user", "content": esc(answer.question)},
                 {"role": "assistant", "content": self.render(answer, note)}]
        return shown, [self._turn(1, answer)], ""

    def open_document(self, target: str, request: gr.Request) -> str:
        """The whole document of a cited article, the article marked ("{lang} {unit id}" from a card)."""
        self.guard(request, "ask")
        language, _, unit_id = (target or "").partition(" ")
        return document_view(self.service.document_of(unit_id), unit_id, chat_strings(language))

    # --- the API ---------------------------------------------------------------------------------
    def api_ask(self, question: str, previous: str = "", request: gr.Request = None) -> dict:
        """Answer a question as the chat does; `previous` is the last answer's `resolved` for a follow-up.
        Returns the answer as JSON (verdict, conclusion, citations with their text) or {"error": …}."""
        user = self.guard(request, "ask")
        try:
            return self.service.ask(question, previous or None, user=user, channel="api").to_dict()
        except QuestionError as exc:
            return {"question": question, "error": str(exc)}

    def build(self, demo: gr.Blocks) -> None:
        limit = self.service.settings.max_question_chars
        turns = gr.State([])
        target = gr.State("")
        with gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(elem_id="chat", label=PAGE["chat"], height=560, sanitize_html=False, layout="panel",
                                  feedback_options=("Like", "Dislike"), buttons=["copy"], placeholder=PAGE["chat_empty"])
            with gr.Column(scale=2):
                # any id may come back from a page (Gradio checks only its own choices list): reopen()
                # decides, on the server, whether it is the user's own
                past = gr.Dropdown(label=PAGE["history"], choices=[], value=None, elem_id="history",
                                   info=PAGE["history_empty"], interactive=True, allow_custom_value=True)
                document = gr.HTML(f'<div class="pq-doc-view pq-empty">{esc(PAGE["document_empty"])}</div>',
                                   elem_id="doc-view", label=PAGE["document"])
        with gr.Row():
            box = gr.Textbox(elem_id="question", show_label=False, scale=8, autofocus=True,
                             placeholder=PAGE["question"].format(limit=limit))
            send = gr.Button(PAGE["send"], variant="primary", scale=1, elem_id="send")
            clear = gr.Button(PAGE["new_chat"], scale=1)
        gr.Examples(EXAMPLES, inputs=box, label=PAGE["examples"])
        with gr.Row():
            comment = gr.Textbox(label=PAGE["comment"], placeholder=PAGE["comment_hint"], scale=8, elem_id="comment")
            save = gr.Button(PAGE["save_comment"], scale=1, elem_id="save-comment")
        notice = gr.Markdown(elem_id="feedback-note")
        doc_target = gr.Textbox(visible="hidden", elem_id="doc-target")
        doc_open = gr.Button(visible="hidden", elem_id="doc-open")
        for trigger in (box.submit, send.click):
            trigger(self.respond, [box, chat, turns], [chat, turns, box], api_visibility="private").then(
                self.on_history, None, [past], api_visibility="private")
        clear.click(lambda: ([], [], ""), None, [chat, turns, target], api_visibility="private")
        chat.like(self.on_like, [turns], [target, notice], api_visibility="private")
        save.click(self.on_comment, [comment, target, turns], [comment, notice], api_visibility="private")
        past.input(self.reopen, [past, chat, turns, target], [chat, turns, target], api_visibility="private")
        doc_open.click(self.open_document, [doc_target], [document], js=TAKE_TARGET_JS,
                       api_visibility="private").then(None, None, None, js=SCROLL_JS, api_visibility="private")
        demo.load(self.on_history, None, [past], api_visibility="private")
        gr.api(self.api_ask, api_name="ask")
