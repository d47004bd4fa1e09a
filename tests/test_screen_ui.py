"""文稿检查 in the real web app, with users: a broker screens a draft (pasted, and read from a file) and
downloads the report; a supervisor finds the screen in 审计, opens it and reviews it.

Real server on localhost, real Chromium. Screenshots of each step go to test-artifacts/screen/
(git-ignored; test_web.py clears test-artifacts/web/ when it starts, so these keep their own folder).
Only robust facts are asserted: the model that flags sentences is refitted from time to time, so the
guarantee of returns must be flagged with a card of 营销活动规范, and the greeting must not be; no
article number is asserted.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from auth.users import add_user

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts" / "screen"
PASSWORD = "correct horse battery"
BROKER, SUPERVISOR = "broker7", "super7"
GREETING = "王总您好！"
GUARANTEE = "本产品保证年化收益12%，稳赚不赔。"
DRAFT = GREETING + "下周六上午十点，我们在公司三楼会议室举办投资策略交流会。" + GUARANTEE + "欢迎您届时光临。"


@pytest.fixture(scope="module")
def server(built, settings, tmp_path_factory):
    from conftest import start_app

    users = tmp_path_factory.mktemp("screen-users") / "users.json"
    add_user(users, BROKER, "broker", PASSWORD)
    add_user(users, SUPERVISOR, "supervisor", PASSWORD)
    yield from start_app(settings, tmp_path_factory, {"POLICYQA_USERS_FILE": str(users)})


def login(browser, server, name: str):
    """A fresh browser context logged in as `name`; every request it makes off localhost is recorded."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.outside = []
    page.on("request", lambda r: None if r.url.startswith(("http://127.0.0.1", "data:", "blob:"))
            else page.outside.append(r.url))
    page.goto(server["url"])
    page.locator("input[type=password]").wait_for(timeout=20000)
    page.locator("input").first.fill(name)
    page.locator("input[type=password]").fill(PASSWORD)
    page.locator("input[type=password]").press("Enter")
    page.locator("#whoami").filter(has_text=name).wait_for(timeout=20000)
    return page


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def check(page, draft: str, expect: str) -> None:
    """Paste a draft, press 检查 and wait until the result shows `expect` (a selector inside it)."""
    page.locator("#screen-draft textarea").fill(draft)
    page.locator("#screen-go").click()
    page.locator(f"#screen-result {expect}").first.wait_for(timeout=60000)


def test_a_broker_screens_a_draft_and_downloads_the_report(browser, server, tmp_path):
    page = login(browser, server, BROKER)
    page.get_by_role("tab", name="文稿检查").click()
    page.locator("#screen-go").wait_for(timeout=10000)

    check(page, "   ", ".pq-error")  # nothing to screen: a clear message, no export
    assert "请粘贴" in page.locator("#screen-result .pq-error").inner_text()
    assert page.locator("#screen-md").is_hidden()

    check(page, DRAFT, ".pq-screen-summary")
    result = page.locator("#screen-result")
    assert "共 4 句" in result.locator(".pq-screen-summary").inner_text()
    assert result.locator(".pq-sentence").count() == 4
    greeting = result.locator(".pq-sentence").filter(has_text="您好")
    assert greeting.get_attribute("data-label") == "ok" and greeting.locator(".pq-card").count() == 0
    promise = result.locator(".pq-sentence").filter(has_text="保证年化收益")
    assert promise.get_attribute("data-label") in ("risk", "breach")
    assert promise.locator("mark.pq-trigger").count() >= 1  # the words the rule is about, marked
    assert "营销活动规范" in promise.locator(".pq-card .pq-doc").all_inner_texts()
    card = promise.locator(".pq-card").filter(has=page.locator(".pq-doc", has_text="营销活动规范")).first
    assert card.locator(".pq-text mark").inner_text()  # the ruling clause highlighted as in the chat
    assert promise.locator(".pq-advice").inner_text().startswith("建议")
    promise.scroll_into_view_if_needed()
    shot(page, "1-broker-screen")

    with page.expect_download() as download:
        page.locator("#screen-md").click()
    report = tmp_path / "screen.md"
    download.value.save_as(report)
    text = report.read_text(encoding="utf-8")
    assert text.startswith("# 文稿检查报告") and "句数: 4" in text and "审计编号: " in text
    line = next(x for x in text.splitlines() if "保证年化收益" in x)
    assert "[违规]" in line or "[有风险]" in line
    assert "营销活动规范 · " in text and f"[通过] {GREETING}" in text
    with page.expect_download() as download:
        page.locator("#screen-json").click()
    assert download.value.suggested_filename.endswith(".json")
    assert page.outside == []


def test_a_broker_reads_a_draft_from_a_file_and_an_unreadable_file_is_refused(browser, server, tmp_path):
    page = login(browser, server, BROKER)
    page.get_by_role("tab", name="文稿检查").click()
    page.locator("#screen-go").wait_for(timeout=10000)
    upload = page.locator("#screen-file input[type=file]")
    draft = tmp_path / "邀请函.txt"
    draft.write_text(DRAFT, encoding="gbk")  # brokers' files are often GBK
    upload.set_input_files(str(draft))
    page.locator("#screen-result .pq-note").filter(has_text="已读取").wait_for(timeout=20000)
    assert page.locator("#screen-draft textarea").input_value() == DRAFT
    shot(page, "2-broker-file")
    bad = tmp_path / "scan.txt"
    bad.write_bytes(b"\x00\x01\x02\xff\xfe binary, not a draft")
    upload.set_input_files(str(bad))
    page.locator("#screen-result .pq-error").filter(has_text="无法读取").wait_for(timeout=20000)
    assert "Traceback" not in page.locator("#screen-result").inner_text()
    shot(page, "3-broker-bad-file")


def test_a_supervisor_opens_the_screen_in_audit_and_reviews_it(browser, server):
    page = login(browser, server, SUPERVISOR)
    page.get_by_role("tab", name="审计").click()
    page.locator("#audit-kind input").click()
    page.get_by_role("option", name="文稿检查").click()
    page.locator("#audit-search").click()
    page.locator("#audit-count").filter(has_text="条文稿检查").wait_for(timeout=20000)
    table = page.locator("#audit-table")
    row = table.get_by_role("row").filter(has_text="保证年化收益").first
    assert "文稿检查" in row.inner_text() and ("违规" in row.inner_text() or "有风险" in row.inner_text())
    assert "未审核" in row.inner_text()
    table.get_by_text("王总您好", exact=False).filter(visible=True).first.click()  # opens that screen
    detail = page.locator("#audit-detail")
    detail.filter(has_text="逐句结果").wait_for(timeout=20000)
    text = detail.inner_text()
    assert f"【通过】{GREETING}" in text and "营销活动规范" in text and "审核状态：未审核" in text
    assert any(f"【{w}】{GUARANTEE}" in text for w in ("违规", "有风险"))

    # incorrect: the right verdict for a screen is ok, risk or breach
    page.locator("#audit-status").get_by_text("错误").click()
    page.locator("#audit-right-verdict input").click()
    assert page.get_by_role("option", name="有风险（risk）").is_visible()
    assert page.get_by_role("option", name="prohibited").count() == 0
    page.get_by_role("option", name="通过（ok）").click()
    page.locator("#audit-note textarea, #audit-note input").first.fill("问候与时间地点无问题")
    page.locator("#audit-submit").click()
    page.locator("#audit-result").filter(has_text="已记录审核：错误").wait_for(timeout=20000)
    detail.filter(has_text="审核状态：错误").wait_for(timeout=20000)

    page.locator("#audit-status").get_by_text("正确").click()
    page.locator("#audit-submit").click()
    page.locator("#audit-result").filter(has_text="已记录审核：正确").wait_for(timeout=20000)
    detail.filter(has_text="审核状态：正确").wait_for(timeout=20000)
    table.get_by_role("row").filter(has_text="保证年化收益").filter(has_text="正确").first.wait_for(timeout=20000)
    shot(page, "4-supervisor-review")
    assert page.outside == []


def test_the_screen_api_answers_a_broker_and_records_the_screen(server):
    from gradio_client import Client

    from audit.log import AuditLog

    client = Client(server["url"], auth=(BROKER, PASSWORD), verbose=False)
    result = client.predict(DRAFT, api_name="/screen")
    assert result["summary"]["sentences"] == 4 and result["sentences"][0]["label"] == "ok"
    promise = next(s for s in result["sentences"] if "保证年化收益" in s["text"])
    assert promise["label"] in ("risk", "breach") and "营销活动规范" in [c["doc_title"] for c in promise["citations"]]
    assert "error" in client.predict("   ", api_name="/screen")
    row = AuditLog(f"sqlite:///{server['data'] / 'audit.sqlite'}").answer(result["summary"]["id"])
    assert row["kind"] == "screen" and row["channel"] == "api" and row["user"] == BROKER
