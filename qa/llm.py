"""Optional answers by a language model, held to the same citations as the rule-based answerer.

The model (any LangChain chat model: an OpenAI-compatible server through ChatOpenAI, or Ollama) is
given the retrieved units with their ids and must reply with a fixed JSON structure. The reply is
validated before anyone sees it: the verdict is one of the five, every cited id was retrieved, every
quoted span occurs verbatim in the unit it cites, and the conclusion states no number the cited
units do not. A reply that fails, times out or errors is replaced by the rule-based answer, and the
reason is kept (it goes into the audit trail). Prompts are files under prompts/, versioned.
"""
from __future__ import annotations

import concurrent.futures
import json
import re
from dataclasses import dataclass, replace
from pathlib import Path

from config import ROOT, Settings
from qa.answer import Answer, Citation
from qa.retrieve import Retrieval
from qa.verdict import VERDICTS, modality_disagrees

PROMPTS = ROOT / "prompts"
VERSION = re.compile(r"<!--\s*prompt:\s*([\w.]+)\s*·\s*version:\s*(\d+)\s*-->\s*")
NUMBER = re.compile(r"\d+(?:\.\d+)?")


class Prompts:
    """The prompt files, without their version comments; ``version`` names them all (for the audit)."""

    def __init__(self, folder: Path = PROMPTS) -> None:
        self.texts: dict[str, str] = {}
        versions = []
        for path in sorted(folder.glob("*.md")):
            raw = path.read_text(encoding="utf-8")
            m = VERSION.match(raw)
            if not m:
                raise ValueError(f"{path.name}: first line must be <!-- prompt: NAME · version: N -->")
            self.texts[path.stem] = raw[m.end():].strip()
            versions.append(f"{m.group(1)}@{m.group(2)}")
        self.version = ",".join(versions)

    def __getitem__(self, name: str) -> str:
        return self.texts[name]

    def refusal(self, lang: str) -> str:
        lines = dict(line.split(": ", 1) for line in self["refusal"].splitlines() if ": " in line)
        return lines[lang]


def make_chat_model(settings: Settings):
    """The configured chat model, or None (then the rule-based answerer serves alone)."""
    if settings.llm_base_url and settings.llm_model:
        from langchain_openai import ChatOpenAI

        return ChatOpenAI(base_url=settings.llm_base_url, model=settings.llm_model,
                          api_key=settings.llm_api_key or "not-needed", timeout=settings.llm_timeout,
                          max_retries=0, temperature=0)
    if settings.ollama_host and settings.llm_model:
        from langchain_ollama import ChatOllama

        return ChatOllama(base_url=settings.ollama_host, model=settings.llm_model, temperature=0)
    return None


class Rejected(ValueError):
    """The model's reply failed validation; the message says why."""


def parse_reply(text: str) -> dict:
    """The JSON object in a reply (a ```json fence around it is tolerated)."""
    body = text.strip()
    fence = re.search(r"```(?:json)?\s*(\{.*\})\s*```", body, re.S)
    if fence:
        body = fence.group(1)
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        raise Rejected(f"malformed reply: not JSON ({exc.msg})") from exc
    if not isinstance(data, dict):
        raise Rejected("malformed reply: not a JSON object")
    return data


def validate(data: dict, retrieval: Retrieval) -> dict:
    """Check a parsed reply against the retrieved units; returns it cleaned, or raises Rejected."""
    units = {h.unit.id: h.unit for h in retrieval.hits}
    verdict = data.get("verdict")
    if verdict not in VERDICTS:
        raise Rejected(f"verdict {verdict!r} is not one of {', '.join(VERDICTS)}")
    conclusion = data.get("conclusion")
    if not isinstance(conclusion, str) or not conclusion.strip():
        raise Rejected("no conclusion")
    cited = data.get("citations") or []
    quotes = data.get("quotes") or []
    if not isinstance(cited, list) or not isinstance(quotes, list):
        raise Rejected("malformed reply: citations and quotes must be lists")
    unknown = [c for c in cited if c not in units]
    if unknown:
        raise Rejected(f"cites {unknown}, which were not retrieved")
    if verdict == "not_covered" and cited:
        raise Rejected("a not_covered answer cites units")
    if verdict != "not_covered" and not cited:
        raise Rejected(f"a {verdict} answer cites nothing")
    for q in quotes:
        if not isinstance(q, dict) or q.get("id") not in cited or not isinstance(q.get("text"), str):
            raise Rejected("a quote does not name one of the cited units")
        if not q["text"].strip() or q["text"] not in units[q["id"]].text:
            raise Rejected(f"quoted text is not in {q['id']}: {q['text'][:40]}")
    if verdict != "not_covered" and not quotes:
        raise Rejected("no quoted text to rest the answer on")
    disagreement = modality_disagrees(verdict, [q["text"] for q in quotes])
    if disagreement:
        raise Rejected(disagreement)
    stated = set(NUMBER.findall(conclusion))
    backed = set(NUMBER.findall(" ".join(units[c].text for c in cited)))
    if stated - backed:
        raise Rejected(f"the conclusion states numbers no cited unit has: {sorted(stated - backed)}")
    return {"verdict": verdict, "conclusion": conclusion.strip(), "citations": list(dict.fromkeys(cited)),
            "quotes": quotes}


@dataclass
class Outcome:
    answer: Answer
    answerer: str  # what produced the answer, for the audit trail
    fallback: str = ""  # why the model's answer was not used ("" when it was)


class LLMAnswerer:
    def __init__(self, model, prompts: Prompts | None = None, timeout: float = 20.0, name: str = "") -> None:
        self.model = model
        self.prompts = prompts or Prompts()
        self.timeout = timeout
        self.name = name or getattr(model, "model_name", None) or getattr(model, "model", None) or type(model).__name__
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="llm")

    @property
    def label(self) -> str:
        return f"llm:{self.name} prompts:{self.prompts.version}"

    def messages(self, retrieval: Retrieval) -> list:
        from langchain_core.messages import HumanMessage, SystemMessage

        articles = "\n".join(f"[{h.unit.id}] {h.unit.doc_title} · {h.unit.label} · {' > '.join(h.unit.path)}\n{h.unit.text}"
                             for h in retrieval.hits)
        user = self.prompts["answer_format"].replace("{question}", retrieval.question).replace("{articles}", articles)
        return [SystemMessage(self.prompts[f"system.{retrieval.intent.language}"]), HumanMessage(user)]

    def _call(self, messages: list) -> str:
        """The model's whole reply, read as a stream (so a streaming endpoint is used as one)."""
        return "".join(str(chunk.content) for chunk in self.model.stream(messages))

    def complete(self, messages: list) -> str:
        """One model call under the time limit; raises TimeoutError or whatever the model raised."""
        future = self._pool.submit(self._call, messages)
        try:
            return future.result(timeout=self.timeout)
        except concurrent.futures.TimeoutError as exc:
            future.cancel()
            raise TimeoutError(f"no reply within {self.timeout:g} s") from exc

    def answer(self, retrieval: Retrieval, fallback: Answer) -> Outcome:
        """The model's answer if it validates; otherwise the rule-based one, with the reason."""
        try:
            data = validate(parse_reply(self.complete(self.messages(retrieval))), retrieval)
        except Rejected as exc:
            return Outcome(fallback, f"rules (fallback from {self.label})", f"rejected: {exc}")
        except TimeoutError as exc:
            return Outcome(fallback, f"rules (fallback from {self.label})", f"timeout: {exc}")
        except Exception as exc:  # noqa: BLE001 (any model or network failure falls back)
            return Outcome(fallback, f"rules (fallback from {self.label})", f"error: {type(exc).__name__}: {exc}")
        hits = {h.unit.id: h for h in retrieval.hits}
        quote_of = {}
        for q in data["quotes"]:
            quote_of.setdefault(q["id"], q["text"])
        citations = [Citation(u.id, u.doc_id, u.doc_title, u.label, " > ".join(u.path), u.text, round(hits[i].score, 4),
                              quote_of.get(i, "")) for i in data["citations"] for u in [hits[i].unit]]
        lang = retrieval.intent.language
        text = self.prompts.refusal(lang) if data["verdict"] == "not_covered" else data["conclusion"]
        related = [c for c in fallback.citations + fallback.related if c.id not in data["citations"]][:3]
        return Outcome(replace(fallback, answer=text, verdict=data["verdict"], citations=citations, related=related),
                       self.label)

    def rewrite_followup(self, question: str, previous: str, limit: int) -> str | None:
        """A standalone version of a follow-up, or None if the model fails or returns nothing usable."""
        from langchain_core.messages import HumanMessage

        prompt = self.prompts["followup"].replace("{previous}", previous).replace("{question}", question)
        try:
            text = self.complete([HumanMessage(prompt)]).strip().strip('"“”')
        except Exception:  # noqa: BLE001 (the rule-based reading serves instead)
            return None
        return text if 0 < len(text) <= limit and "\n" not in text else None

    def rephrase(self, stem: str) -> str | None:
        from langchain_core.messages import HumanMessage

        try:
            text = self.complete([HumanMessage(self.prompts["quiz_stem"].replace("{stem}", stem))]).strip()
        except Exception:  # noqa: BLE001
            return None
        return text or None
