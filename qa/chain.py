"""The answer chain as a LangChain runnable: understand (check, follow-up, retrieve) → answer.

The answer step is the rule-based answerer, or a language model's answer validated against the
retrieved units with the rule-based one as fallback (qa/llm.py). Either way the chain is the same
two named steps, so it is traced and called the same way whichever answerer runs.
"""
from __future__ import annotations

from langchain_core.runnables import Runnable, RunnableLambda

from qa.answer import Assistant, Turn
from qa.llm import LLMAnswerer, Outcome

RULES = "rules"


def build_chain(assistant: Assistant, llm: LLMAnswerer | None = None) -> Runnable:
    """Input {"question", "previous"} → qa.llm.Outcome (the answer, what produced it, any fallback reason).
    Safe to invoke from several threads at once: the embedding models are pooled (indexer/embed.EmbedderPool)."""
    limit = assistant.settings.max_question_chars

    def understand(inputs: dict) -> Turn:
        rewrite = (lambda q, p: llm.rewrite_followup(q, p, limit)) if llm else None
        return assistant.understand(inputs["question"], inputs.get("previous"), rewrite)

    def answer(turn: Turn) -> Outcome:
        rules = assistant.answer(turn)
        return llm.answer(turn.retrieval, rules) if llm else Outcome(rules, RULES)

    return RunnableLambda(understand, name="understand") | RunnableLambda(answer, name="answer")
