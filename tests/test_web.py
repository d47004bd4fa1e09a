"""The real web app on localhost: its API through gradio_client, and the page in headless Chromium.

Screenshots of each browser step go to test-artifacts/web/ (git-ignored).
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from audit.log import AuditLog

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts" / "web"
CHROMIUM = os.environ.get("POLICYQA_CHROMIUM", "/usr/bin/chromium")
# Chromium must not try Google's services: the network here is closed (see the machine notes).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
CONTRACT = "我能以公司名义和客户签合同吗？"


def audit_of(server) -> AuditLog:
    return AuditLog(f"sqlite:///{server['data'] / 'audit.sqlite'}")


# --- the API ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def client(web_server):
    from gradio_client import Client

    return Client(web_server["url"], verbose=False)


def test_api_answer_to_a_contract_question_cites_article_25(client, web_server):
    answer = client.predict(CONTRACT, "", api_name="/ask")
    assert answer["verdict"] == "prohibited" and answer["answer"].startswith("不可以")
    assert answer["citations"][0]["label"] == "第二十五条"
    assert answer["citations"][0]["quote"] in answer["citations"][0]["text"]
    stored = audit_of(web_server).answer(answer["id"])
    assert stored["channel"] == "api" and stored["verdict"] == "prohibited"
    assert stored["citations"][0]["id"] == "p1:第二十五条" and stored["index_version"]


def test_api_followup_and_bad_question(client):
    first = client.predict("Can I accept a gift from a client?", "", api_name="/ask")
    follow = client.predict("What about gifts under 100 yuan?", first["resolved"], api_name="/ask")
    assert follow["citations"][0]["label"] == "第三十条" and follow["language"] == "en"
    assert "error" in client.predict("   ", "", api_name="/ask")
    assert "500" in client.predict("合同" * 300, "", api_name="/ask")["error"]
    # an over-long previous turn is cut to the length a resolved question can have: bounded work
    flood = client.predict("那如果经过公司批准呢？", "我能以公司名义和客户签合同吗？" * 1400, api_name="/ask")
    assert flood["verdict"] and len(flood["resolved"]) <= 1000


# --- the page in a browser -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def page(web_server):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (.ci/run does)")
    from playwright.sync_api import sync_playwright

    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.outside = []  # every request the page makes off localhost
        page.on("request", lambda r: None if r.url.startswith(("http://127.0.0.1", "data:", "blob:"))
                else page.outside.append(r.url))
        page.goto(web_server["url"])
        page.locator("#question textarea").wait_for()
        yield page
        browser.close()


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


BOTS = ".message-row.bot-row, .message.bot"


def ask(page, question: str) -> None:
    """Send a question and wait until its own answer (not the previous one) is complete."""
    before = page.locator(BOTS).count()
    box = page.locator("#question textarea")
    box.fill(question)
    box.press("Enter")
    page.wait_for_function(
        """([selector, n]) => { const bots = document.querySelectorAll(selector);
               if (bots.length <= n) return false;
               const last = bots[bots.length - 1];
               return !!(last.querySelector('.pq-card, .pq-related, .pq-error, .pq-not_covered')); }""",
        arg=[BOTS, before], timeout=30000)
    last_answer(page).scroll_into_view_if_needed()


def last_answer(page):
    return page.locator(BOTS).last


def test_chat_shows_verdict_badge_and_the_article_card(page):
    ask(page, CONTRACT)
    answer = last_answer(page)
    assert answer.locator(".pq-badge").inner_text() == "不可以"
    card = answer.locator(".pq-card").first
    assert card.locator(".pq-label").inner_text() == "第二十五条"
    assert "第二节业务要求" in card.locator(".pq-path").inner_text()
    assert "签订任何合同" in card.locator("mark").inner_text()
    card.locator("details summary").click()
    assert card.locator(".pq-neighbour").filter(has_text="第二十六条").is_visible()
    shot(page, "1-contract-answer")


def test_followup_in_the_chat_rests_on_the_same_article(page):
    ask(page, "那如果经过公司批准呢？")
    answer = last_answer(page)
    assert answer.locator(".pq-card .pq-label").first.inner_text() == "第二十五条"
    assert "没有" in answer.locator(".pq-conclusion").inner_text()
    shot(page, "2-followup")


def test_feedback_on_an_answer_is_saved(page, web_server):
    last_answer(page).get_by_label("Like").last.click()  # the thumbs-up under the follow-up answer
    page.locator("#feedback-note").filter(has_text="已记录").wait_for(timeout=10000)
    page.locator("#comment textarea").fill("依据准确")
    page.locator("#save-comment").click()
    page.locator("#feedback-note").filter(has_text="评论已保存").wait_for(timeout=10000)
    shot(page, "3-feedback")
    with audit_of(web_server).engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT a.question, f.rating, f.comment FROM feedback f JOIN answers a ON a.id = f.answer_id "
            "ORDER BY f.id").all()
    assert ("那如果经过公司批准呢？", 1, "") in rows and ("那如果经过公司批准呢？", 0, "依据准确") in rows


def test_empty_and_uncovered_questions_get_clear_messages(page):
    ask(page, "   ")
    assert "请输入问题" in last_answer(page).locator(".pq-error").inner_text()
    ask(page, "公司的年假有几天？")
    answer = last_answer(page)
    assert answer.locator(".pq-badge").inner_text() == "未涵盖" and answer.locator(".pq-card").count() == 0
    shot(page, "4-empty-and-uncovered")


def test_markdown_in_a_question_is_shown_as_text(page, web_server):
    """A question carrying Markdown makes no request and no link, in the chat or in 审计."""
    question = "![x](http://127.0.0.1:9/x.png) [点我](javascript:alert(1)) 可以收礼吗"
    ask(page, question)
    user = page.locator(".message-row.user-row, .message.user").last
    assert "![x](http://127.0.0.1:9/x.png)" in user.inner_text()
    assert page.locator("img[src*='127.0.0.1:9']").count() == 0
    assert page.locator("a[href^='javascript']").count() == 0


def test_knowledge_base_lists_documents_warnings_and_searches_units(page):
    page.get_by_role("tab", name="知识库").click()
    page.locator("#docs").filter(has_text="营销活动规范").wait_for(timeout=10000)
    assert "第四十二条" in page.locator("#warnings").inner_text()
    search = page.locator("#unit-search textarea, #unit-search input").first
    search.fill("第四十二条")
    search.press("Enter")
    page.locator("#units").filter(has_text="p1:第四十二条#2").wait_for(timeout=10000)
    shot(page, "5-knowledge-base")


def test_upload_preview_confirm_then_answer_cites_the_new_file(page, tmp_path, web_server):
    policy = tmp_path / "礼品管理办法.txt"
    policy.write_text("第一条 员工不得收受供应商赠送的高尔夫球会员卡。\n第二条 价值100元以下的宣传品可以接受。\n",
                      encoding="gbk")
    page.locator("#upload input[type=file]").set_input_files(str(policy))
    page.locator("#preview").click()
    page.locator("#upload-status").filter(has_text="解析出 2 条").wait_for(timeout=15000)
    shot(page, "6-upload-preview")
    page.locator("#confirm").click()
    page.locator("#upload-status").filter(has_text="已加入").wait_for(timeout=60000)
    shot(page, "7-upload-indexed")
    page.get_by_role("tab", name="问答").click()
    ask(page, "供应商送的高尔夫球会员卡能收吗？")
    card = last_answer(page).locator(".pq-card").first
    assert card.locator(".pq-doc").inner_text() == "礼品管理办法" and card.locator(".pq-label").inner_text() == "第一条"
    shot(page, "8-answer-from-upload")
    assert (web_server["corpus"] / policy.name).exists()


def test_binary_upload_is_refused_and_the_index_keeps_serving(page, tmp_path):
    page.get_by_role("tab", name="知识库").click()
    bad = tmp_path / "scan.pdf"
    bad.write_bytes(b"%PDF-1.4\n\x00\x01\x02 not a real pdf")
    page.locator("#upload input[type=file]").set_input_files(str(bad))
    page.locator("#preview").click()
    page.locator("#upload-status").filter(has_text="无法加入").wait_for(timeout=15000)
    assert "scan.pdf" in page.locator("#upload-status").inner_text()
    assert page.locator("#confirm").is_disabled()
    shot(page, "9-bad-upload")
    page.get_by_role("tab", name="问答").click()
    ask(page, CONTRACT)
    assert last_answer(page).locator(".pq-card .pq-label").first.inner_text() == "第二十五条"


def test_removing_the_uploaded_document_removes_its_units(page, web_server):
    page.get_by_role("tab", name="知识库").click()
    page.locator("#remove-doc input").click()
    page.get_by_role("option", name="礼品管理办法（礼品管理办法）").click()
    page.locator("#remove").click()
    page.get_by_text("已删除").wait_for(timeout=120000)
    shot(page, "10-removed")
    assert not (web_server["corpus"] / "礼品管理办法.txt").exists()
    page.get_by_role("tab", name="问答").click()
    ask(page, "供应商送的高尔夫球会员卡能收吗？")
    assert "礼品管理办法" not in last_answer(page).inner_text()


def test_the_page_fetched_nothing_from_the_web(page):
    assert page.outside == []


def test_quiz_tab_previews_and_downloads_a_gift_file(page, tmp_path):
    from quiz.formats import parse_gift

    page.get_by_role("tab", name="题库").click()
    page.locator("#quiz-n input").fill("12")
    page.locator("#quiz-format input").click()
    page.get_by_role("option", name="Moodle GIFT").click()
    page.locator("#quiz-go").click()
    page.locator("#quiz-status").filter(has_text="生成 12 题").wait_for(timeout=60000)
    assert "答案与依据" in page.locator("#quiz-preview").inner_text()
    shot(page, "11-quiz")
    with page.expect_download() as download:
        page.locator("#quiz-download").click()
    path = tmp_path / "quiz.gift"
    download.value.save_as(path)
    assert len(parse_gift(path.read_text(encoding="utf-8"))) == 12
    page.locator("#quiz-n input").fill("5000")  # more than the corpus supports: a clear message, no file
    page.locator("#quiz-go").click()
    page.locator("#quiz-status").filter(has_text="only").wait_for(timeout=60000)
    assert page.locator("#quiz-download").is_hidden()


def test_audit_tab_filters_opens_reviews_and_exports(page, web_server, tmp_path):
    page.get_by_role("tab", name="问答").click()
    ask(page, CONTRACT)  # at least one answer to audit, whatever ran before
    page.get_by_role("tab", name="审计").click()
    page.locator("#audit-user input, #audit-user textarea").first.fill("local")
    page.locator("#audit-search").click()
    page.locator("#audit-count").filter(has_text="条回答").wait_for(timeout=20000)
    page.locator("#audit-table").get_by_text(CONTRACT).filter(visible=True).first.click()  # opens that answer
    page.locator("#audit-detail").filter(has_text="p1:第二十五条").wait_for(timeout=20000)
    page.locator("#audit-status").get_by_text("需跟进").click()
    page.locator("#audit-note textarea, #audit-note input").first.fill("核对批准流程")
    page.locator("#audit-submit").click()
    page.locator("#audit-result").filter(has_text="已记录审核").wait_for(timeout=20000)
    page.locator("#audit-detail").filter(has_text="核对批准流程").wait_for(timeout=20000)
    shot(page, "12-audit-review")
    with page.expect_download() as download:
        page.locator("#audit-export").click()
        page.locator("#audit-download").wait_for(state="visible", timeout=20000)
        page.locator("#audit-download").click()
    path = tmp_path / "audit.csv"
    download.value.save_as(path)
    text = path.read_text(encoding="utf-8-sig")
    assert CONTRACT in text and "follow_up" in text
