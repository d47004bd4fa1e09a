"""What every tab shares: HTML escaping, the permission guard, files handed to the browser."""
from __future__ import annotations

import html
import tempfile
from pathlib import Path

import gradio as gr

from auth.users import Forbidden, Users


# Markdown punctuation (and the colon of a URL, which the autolinker would take) as character references:
# the text shows as typed, in Markdown and in HTML alike,
# and a user's ![x](http://…) or [x](javascript:…) never becomes an image fetch or a link.
# One pass over the text: escaping HTML first and Markdown after would turn the "#" of html.escape's
# &#x27; into &#35;, and an apostrophe would show as "&#x27;".
MARKDOWN = str.maketrans({c: f"&#{ord(c)};" for c in "[]()!*_`#|~:\\"}
                         | {c: html.escape(c, quote=True) for c in "&<>\"'"})


def esc(text: str) -> str:
    """User or document text for a Markdown or HTML component: no tag, no Markdown syntax."""
    return (text or "").translate(MARKDOWN)


class Guard:
    """Server-side permission check for every handler and API endpoint: a role without the right
    gets an error and nothing is done."""

    def __init__(self, users: Users) -> None:
        self.users = users

    def __call__(self, request: gr.Request | None, right: str) -> str:
        name = getattr(request, "username", None) if request is not None else None
        try:
            return self.users.require(name, right)
        except Forbidden as exc:
            raise gr.Error(str(exc)) from exc

    def may(self, request: gr.Request | None, right: str) -> bool:
        return self.users.allowed(getattr(request, "username", None) if request is not None else None, right)


def download(text: str, name: str, encoding: str = "utf-8") -> str:
    """Write text to a fresh temporary file for a download button; returns its path."""
    path = Path(tempfile.mkdtemp(prefix="policyqa-")) / name
    path.write_text(text, encoding=encoding)
    return str(path)
