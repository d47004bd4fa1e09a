"""Every string the 问答 tab shows, in one place.

An answer is shown in the asker's language (Answer.language): its badge, section titles, card
headings, errors and empty states come from ``chat_strings(language)``. The page's own controls
(labels, buttons) are Chinese like the rest of the app: ``PAGE``. A rule's text is never here: it is
always the article's own words.
"""
from __future__ import annotations

from dataclasses import dataclass

from qa.verdict import VERDICT_ZH


@dataclass(frozen=True)
class ChatStrings:
    """What one answer (and what opens from it) says around the articles, in one language."""

    badges: dict[str, str]  # verdict → badge word
    cited: str  # section title over the cited articles
    related: str  # the related articles, which are not a basis
    context: str  # a card's neighbouring articles
    open_document: str  # a card's button: the whole document at this article
    document_title: str  # the document view's heading: {title}, {label}
    document_gone: str  # the article is no longer indexed
    searching: str  # shown while the answer is computed
    from_history: str  # a re-opened answer: {when}
    not_an_answer: str
    liked: str
    disliked: str
    unrated: str
    nothing_to_comment: str
    empty_comment: str
    comment_saved: str


ZH = ChatStrings(
    badges=dict(VERDICT_ZH),  # the verdicts in words, shared with 审计
    cited="依据",
    related="相关条文（仅供参考，非依据）",
    context="查看上下文（前后条文）",
    open_document="查看全文并定位到本条",
    document_title="全文：{title}（已定位到{label}）",
    document_gone="这一条已不在知识库中（文档可能已更新或删除），无法打开全文。",
    searching="正在检索…",
    from_history="历史记录 · {when}（条文为回答时记录的原文）",
    not_an_answer="（这条消息不是回答，无法评价。）",
    liked="已记录：👍 有帮助",
    disliked="已记录：👎 有问题。可在下方补充说明。",
    unrated="已撤销评价",
    nothing_to_comment="还没有可以评论的回答。",
    empty_comment="评论是空的。",
    comment_saved="评论已保存，谢谢！",
)

EN = ChatStrings(
    badges={"allowed": "Yes", "prohibited": "No", "required": "Required", "info": "For reference",
            "not_covered": "Not covered"},
    cited="Cited articles",
    related="Related articles (for reference only, not a basis)",
    context="Show the neighbouring articles",
    open_document="Open the whole document at this article",
    document_title="Whole document: {title} (at {label})",
    document_gone="This article is no longer in the knowledge base (its document may have been updated or removed).",
    searching="Searching…",
    from_history="From your history · {when} (the articles as recorded when answered)",
    not_an_answer="(This message is not an answer and cannot be rated.)",
    liked="Saved: 👍 helpful",
    disliked="Saved: 👎 something is wrong. You can add a comment below.",
    unrated="Rating withdrawn",
    nothing_to_comment="There is no answer to comment on yet.",
    empty_comment="The comment is empty.",
    comment_saved="Comment saved, thank you!",
)

LANGUAGES = {"zh": ZH, "en": EN}


def chat_strings(language: str) -> ChatStrings:
    """The strings for an answer in this language (Chinese for anything but English)."""
    return LANGUAGES.get(language, ZH)


def in_language(message: str, language: str) -> str:
    """One half of a bilingual message ("请输入问题。 / The question is empty.", qa/answer.py's
    QuestionError): the asker's."""
    zh, _, en = message.partition(" / ")
    return en if language == "en" and en else zh


# The page's own controls, Chinese like the other tabs.
PAGE = {
    "chat": "对话",
    "chat_empty": "在下方输入问题，或点一个示例。",
    "question": "输入问题（中文或英文，最多 {limit} 字），按回车发送",
    "send": "发送",
    "new_chat": "新对话",
    "examples": "示例问题",
    "comment": "反馈说明（可选）",
    "comment_hint": "答得对吗？哪里不对？",
    "save_comment": "提交反馈",
    "history": "历史记录",
    "history_hint": "你之前的提问，最新的在前；选一条即在对话中重新打开。",
    "history_empty": "还没有提问记录。",
    "document": "全文",
    "document_empty": "点引用卡片上的“查看全文并定位到本条”，这里显示整篇文档。",
}
