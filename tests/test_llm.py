"""The optional language-model answerer: scripted LangChain fake models for every way a reply can
go wrong, and a scripted OpenAI-compatible server on localhost called through ChatOpenAI, the
client class a deployment uses (streaming included). Nothing here needs a real model."""
from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from qa.chain import build_chain
from qa.llm import LLMAnswerer, Prompts

CONTRACT = "我能以公司名义和客户签合同吗？"
GOOD = {"verdict": "prohibited", "conclusion": "不可以：营销人员不得以公司名义与客户签订合同。",
        "citations": ["p1:第二十五条"], "quotes": [{"id": "p1:第二十五条", "text": "不得以公司或证券营业部的名义"}]}


def run(assistant, reply: str | None = None, model=None, timeout: float = 5.0, question: str = CONTRACT):
    model = model or FakeListChatModel(responses=[reply])
    return build_chain(assistant, LLMAnswerer(model, timeout=timeout)).invoke({"question": question})


def test_prompts_are_versioned_files():
    prompts = Prompts()
    assert {"system.zh", "system.en", "answer_format", "refusal", "followup", "quiz_stem"} <= set(prompts.texts)
    assert "system.zh@1" in prompts.version and "{question}" in prompts["answer_format"]


def test_a_good_reply_is_used(assistant):
    outcome = run(assistant, json.dumps(GOOD, ensure_ascii=False))
    assert outcome.fallback == "" and outcome.answerer.startswith("llm:") and "prompts:" in outcome.answerer
    answer = outcome.answer
    assert answer.verdict == "prohibited" and answer.answer == GOOD["conclusion"]
    assert [c.id for c in answer.citations] == ["p1:第二十五条"]
    assert answer.citations[0].quote in answer.citations[0].text


@pytest.mark.parametrize("reply, reason", [
    (GOOD | {"citations": ["p1:第九十九条"], "quotes": []}, "not retrieved"),
    (GOOD | {"quotes": [{"id": "p1:第二十五条", "text": "经批准后可以以公司名义签合同"}]}, "quoted text is not in"),
    (GOOD | {"verdict": "maybe"}, "is not one of"),
    (GOOD | {"verdict": "not_covered"}, "not_covered answer cites"),
    (GOOD | {"conclusion": "不可以，违者罚款5000元。"}, "numbers"),
    (GOOD | {"verdict": "allowed", "conclusion": "可以。"}, "quotes a prohibition"),  # 可以 citing a 不得
    ("Sure! The answer is no, you cannot.", "malformed"),
])
def test_a_reply_that_fails_validation_is_replaced_by_the_rule_based_answer(assistant, reply, reason):
    text = reply if isinstance(reply, str) else json.dumps(reply, ensure_ascii=False)
    outcome = run(assistant, text)
    rules = assistant.ask(CONTRACT)
    assert outcome.fallback.startswith("rejected") and reason in outcome.fallback
    assert outcome.answerer.startswith("rules (fallback")
    assert outcome.answer.answer == rules.answer and [c.id for c in outcome.answer.citations] == ["p1:第二十五条"]


def test_a_slow_reply_times_out_and_falls_back(assistant):
    slow = FakeListChatModel(responses=[json.dumps(GOOD, ensure_ascii=False)], sleep=0.05)  # ~5 s in all
    started = time.perf_counter()
    outcome = run(assistant, model=slow, timeout=0.5)
    assert time.perf_counter() - started < 3
    assert outcome.fallback.startswith("timeout") and outcome.answer.verdict == "prohibited"


def test_a_model_error_falls_back(assistant):
    broken = FakeListChatModel(responses=[json.dumps(GOOD)], error_on_chunk_number=0)
    outcome = run(assistant, model=broken)
    assert outcome.fallback.startswith("error") and outcome.answer.citations[0].label == "第二十五条"


def test_service_records_the_answerer_and_the_fallback_reason(private_settings):
    from service import Service

    service = Service(private_settings)
    assert service.llm is None  # nothing configured: rule-based
    service.llm = LLMAnswerer(FakeListChatModel(responses=["not json"]))
    answer = service.ask(CONTRACT, user="amy")
    stored = service.audit.answer(answer.id)
    assert stored["answerer"].startswith("rules (fallback from llm:")
    assert stored["settings"]["llm_fallback"].startswith("rejected: malformed")
    assert stored["settings"]["prompts"] == service.llm.prompts.version


def test_quiz_stems_reworded_by_a_model_are_revalidated(assistant):
    from quiz.generate import make_quiz, rephrase

    items = make_quiz(assistant.index.units, 12, types=("tf", "choice"), seed=5).items
    kept, refused = rephrase(items, assistant.index.units, "zh", lambda stem: "判断正误：营销人员可以随意签合同")
    assert refused == sum(1 for i in items if i.stem != "判断正误：营销人员可以随意签合同")  # every wrong rewording refused
    assert [i.stem for i in kept] == [i.stem for i in items]
    choice = [i for i in items if i.type == "choice"]
    kept, refused = rephrase(choice, assistant.index.units, "zh", lambda stem: "请选出正确的一项：" + stem)
    assert refused == 0 and all(k.stem.startswith("请选出正确的一项") for k in kept)


# --- an OpenAI-compatible endpoint on localhost --------------------------------------------------

class Scripted(BaseHTTPRequestHandler):
    replies: list[str] = []
    default = "not json"
    seen: list[dict] = []

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Scripted.seen.append(body)
        content = Scripted.replies.pop(0) if Scripted.replies else Scripted.default
        base = {"id": "chatcmpl-1", "created": int(time.time()), "model": body["model"]}
        if body.get("stream"):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            for i in range(0, len(content), 7):
                chunk = base | {"object": "chat.completion.chunk", "choices": [
                    {"index": 0, "delta": {"role": "assistant", "content": content[i:i + 7]}, "finish_reason": None}]}
                self.wfile.write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())
            done = base | {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
            self.wfile.write(f"data: {json.dumps(done)}\n\ndata: [DONE]\n\n".encode())
            return
        reply = base | {"object": "chat.completion", "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
        data = json.dumps(reply, ensure_ascii=False).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(scope="module")
def endpoint():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Scripted)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def test_openai_compatible_endpoint_through_chatopenai_with_streaming(private_settings, endpoint):
    from service import Service

    Scripted.seen.clear()
    Scripted.replies = [json.dumps(GOOD, ensure_ascii=False), "我能以公司名义和客户签合同吗，如果经过公司批准"]
    settings = replace(private_settings, llm_base_url=endpoint, llm_model="scripted-qwen", llm_api_key="test")
    service = Service(settings)
    assert type(service.llm.model).__name__ == "ChatOpenAI"
    answer = service.ask(CONTRACT)
    assert answer.verdict == "prohibited" and answer.answer == GOOD["conclusion"]
    request = Scripted.seen[0]
    assert request["stream"] is True and request["model"] == "scripted-qwen"
    assert "p1:第二十五条" in request["messages"][-1]["content"]  # the units were given with their ids
    assert service.audit.answer(answer.id)["answerer"].startswith("llm:scripted-qwen")
    follow = service.ask("那如果经过公司批准呢？", previous=answer.resolved)  # rewritten by the model, then answered
    assert follow.resolved == "我能以公司名义和客户签合同吗，如果经过公司批准"
    assert follow.citations[0].label == "第二十五条"


def test_eval_runner_reports_the_model_beside_the_rules(private_settings, endpoint, monkeypatch, tmp_path, capsys):
    import app
    from eval.runner import DEFAULT_SET, load_set

    rows = load_set(DEFAULT_SET)[:6]
    small = tmp_path / "small.jsonl"
    small.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    Scripted.replies, Scripted.default = [], "no JSON here"
    for key, value in {"LLM_BASE_URL": endpoint, "LLM_MODEL": "scripted", "POLICYQA_CORPUS": str(private_settings.corpus_dir),
                       "POLICYQA_DATA": str(private_settings.data_dir)}.items():
        monkeypatch.setenv(key, value)
    app.main(["eval", "--set", str(small), "--answerer", "llm", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert report["summary"]["all"]["llm_fallback_rate"] == 1.0
    assert report["summary"]["rules-based (same sets)"]["questions"] == 6
    assert report["summary"]["all"]["top1"] == report["summary"]["rules-based (same sets)"]["top1"]
