"""审计 as a supervisor's desk, in the real web app with users, on the real corpus and SQLite audit trail:
the newest answers are listed when the page opens (for the audit right only), verdicts are in words,
a wrong answer is corrected by ticking units, and the table pages through every match counted in SQL.

Real server on localhost, real Chromium. Screenshots go to test-artifacts/desk/ (git-ignored).
"""
from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import fire_event

from audit.log import AuditLog, Filters
from auth.users import add_user

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts" / "desk"
PASSWORD = "correct horse battery"
BROKER, SUPERVISOR = "broker9", "super9"
CONTRACT = "我能以公司名义和客户签合同吗？"
SEEDER, SEEDED = "seeder", 120  # more rows than two pages of 审计's table (ui/audit.PAGE_ROWS)


@pytest.fixture(scope="module")
def server(built, settings, tmp_path_factory):
    from conftest import start_app

    users = tmp_path_factory.mktemp("desk-users") / "users.json"
    add_user(users, BROKER, "broker", PASSWORD)
    add_user(users, SUPERVISOR, "supervisor", PASSWORD)
    yield from start_app(settings, tmp_path_factory, {"POLICYQA_USERS_FILE": str(users)})


def audit_of(server) -> AuditLog:
    return AuditLog(f"sqlite:///{server['data'] / 'audit.sqlite'}")


@pytest.fixture(scope="module")
def asked(server) -> dict:
    """A broker's real answer to the contract question, through the real API (so it is in the trail)."""
    from gradio_client import Client

    client = Client(server["url"], auth=(BROKER, PASSWORD), verbose=False)
    answer = client.predict(CONTRACT, "", api_name="/ask")
    assert answer["verdict"] == "prohibited"
    return answer


@pytest.fixture(scope="module")
def seeded(server) -> int:
    """SEEDED answers by SEEDER, written with the real AuditLog API, one citing the real 第二十五条."""
    from qa.answer import Citation

    log = audit_of(server)
    cite = Citation("p1:第二十五条", "p1", "营销活动规范", "第二十五条", "", "不得以公司名义签订任何合同。", 0.9)
    for n in range(SEEDED):
        answer = SimpleNamespace(question=f"种子问题 {n:03d}", resolved="", answer="参考。", verdict="info",
                                 citations=[cite], related=[], latency_ms=1.0)
        log.record(answer, user=SEEDER, channel="api", index_version="test", answerer="seed", settings={})
    return log.count(Filters(user=SEEDER))


def login(browser, server, name: str):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(server["url"])
    page.locator("input[type=password]").wait_for(timeout=20000)
    page.locator("input").first.fill(name)
    page.locator("input[type=password]").fill(PASSWORD)
    page.locator("input[type=password]").press("Enter")
    page.locator("#whoami").filter(has_text=name).wait_for(timeout=20000)
    return page


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def row_count(page) -> int:
    """How many rows the results table holds (Gradio's grid renders only the visible ones, but says
    how many there are, the header row included)."""
    return int(page.locator("#audit-table [role=grid]").get_attribute("aria-rowcount")) - 1


def cell(page, row: int, col: int) -> str:
    return page.locator(f"#audit-table [data-testid=cell-{row}-{col}]").inner_text().strip()


def cell_row(page, text: str):
    return page.locator("#audit-table").get_by_role("row").filter(has_text=text).first


QUESTION = 5  # the results table's column of the question (ui/audit.HEADERS)


# --- the page ----------------------------------------------------------------------------------------

def test_the_table_is_filled_when_a_supervisor_opens_the_page_with_verdicts_in_words(browser, server, asked):
    page = login(browser, server, SUPERVISOR)
    page.get_by_role("tab", name="审计").click()
    count = page.locator("#audit-count")
    count.filter(has_text="共").wait_for(timeout=20000)  # without pressing 查询
    assert "第 1 页" in count.inner_text()
    row = cell_row(page, CONTRACT)
    row.wait_for(timeout=20000)
    cells = [c.strip() for c in row.get_by_role("gridcell").all_inner_texts()]
    assert cells[0] == asked["id"][:8]  # the short id comes first, where it never scrolls away
    assert "不可以" in cells and "未审核" in cells
    assert "prohibited" not in page.locator("#audit-table").inner_text()
    page.locator("#audit-verdict input").click()
    assert page.get_by_role("option", name="不可以", exact=True).is_visible()
    assert page.get_by_role("option", name="prohibited").count() == 0
    page.keyboard.press("Escape")
    shot(page, "1-opened")


def test_a_supervisor_corrects_an_answer_by_ticking_a_unit(browser, server, asked):
    page = login(browser, server, SUPERVISOR)
    page.get_by_role("tab", name="审计").click()
    cell_row(page, CONTRACT).get_by_role("gridcell").nth(QUESTION).click()  # the question's cell opens the answer
    detail = page.locator("#audit-detail")
    detail.filter(has_text="p1:第二十五条").wait_for(timeout=20000)
    assert "（不可以）" in detail.inner_text() and "prohibited" not in detail.inner_text()
    units = page.locator("#audit-right-units")
    units.get_by_text("营销活动规范 · 第二十五条 · ", exact=False).first.wait_for(timeout=20000)

    # find another unit by a word of its text, and tick it
    page.locator("#audit-unit-query input, #audit-unit-query textarea").first.fill("第二十六条")
    page.locator("#audit-unit-find").click()
    page.locator("#audit-unit-found").filter(has_text="找到").wait_for(timeout=20000)
    choice = units.locator("label").filter(has_text="· 第二十六条 ·").first
    choice.wait_for(timeout=20000)
    assert len(choice.inner_text().split(" · ")[-1]) <= 41  # 文档 · 第N条 · at most 40 characters (and …)
    choice.click()
    page.locator("#audit-status").get_by_text("错误").click()
    page.locator("#audit-right-verdict input").click()
    page.get_by_role("option", name="必须", exact=True).click()
    page.locator("#audit-note textarea, #audit-note input").first.fill("应依第二十六条")
    page.locator("#audit-submit").click()
    page.locator("#audit-result").filter(has_text="已记录审核：错误").wait_for(timeout=20000)

    stored = audit_of(server).answer(asked["id"])["reviews"][-1]
    assert stored["status"] == "incorrect" and stored["right_verdict"] == "required"
    assert len(stored["right_units"]) == 1 and stored["right_units"][0].endswith("第二十六条")
    # the detail is reopened after the review is stored (an event chained after it): wait for it
    page.locator("#audit-detail").filter(has_text=stored["right_units"][0]).wait_for(timeout=20000)
    # the table is refreshed: the row's 审核 column is no longer 未审核
    cell_row(page, CONTRACT).filter(has_text="错误").wait_for(timeout=20000)
    assert "未审核" not in cell_row(page, CONTRACT).inner_text()
    # reopened, the answer offers the unit its review named, and the review is told in words
    units.locator("label").filter(has_text="· 第二十六条 ·").first.wait_for(timeout=20000)
    assert "应依第二十六条" in detail.inner_text() and "必须" in detail.inner_text()
    assert "required" not in detail.inner_text()
    shot(page, "2-corrected")


def test_the_table_pages_through_every_match_counted_in_sql(browser, server, seeded):
    assert seeded == SEEDED
    # the order SQL gives (newest first; rows written in the same millisecond by id)
    order = [r["question"] for r in audit_of(server).iter_rows(Filters(user=SEEDER))]
    assert len(order) == seeded and order[0] == f"种子问题 {SEEDED - 1:03d}"[:-1] + order[0][-1]
    page = login(browser, server, SUPERVISOR)
    page.get_by_role("tab", name="审计").click()
    page.locator("#audit-count").filter(has_text="共").wait_for(timeout=20000)
    page.locator("#audit-user input, #audit-user textarea").first.fill(SEEDER)
    page.locator("#audit-search").click()
    count = page.locator("#audit-count")
    count.filter(has_text=f"共 {seeded} 条回答").wait_for(timeout=20000)
    assert "第 1 页 / 共 3 页" in count.inner_text()
    assert row_count(page) == 50 and cell(page, 0, QUESTION) == order[0]
    page.locator("#audit-next").click()
    count.filter(has_text="第 2 页").wait_for(timeout=20000)
    page.locator("#audit-next").click()
    count.filter(has_text="第 3 页").wait_for(timeout=20000)
    assert row_count(page) == SEEDED - 100 and cell(page, 0, QUESTION) == order[100]
    page.locator("#audit-next").click()  # no page after the last
    page.locator("#audit-previous").click()
    count.filter(has_text="第 2 页").wait_for(timeout=20000)
    assert row_count(page) == 50 and cell(page, 0, QUESTION) == order[50]
    assert f"共 {audit_of(server).count(Filters(user=SEEDER))} 条" in count.inner_text()
    shot(page, "3-paging")


def test_dates_are_picked_and_a_bad_date_gets_a_message(browser, server, asked):
    page = login(browser, server, SUPERVISOR)
    page.get_by_role("tab", name="审计").click()
    page.locator("#audit-count").filter(has_text="共").wait_for(timeout=20000)
    assert page.locator("#audit-since button").first.is_visible()  # the calendar, beside the text box
    until = page.locator("#audit-until input").first
    until.fill("2000-01-31")
    until.press("Enter")
    page.locator("#audit-search").click()
    page.locator("#audit-count").filter(has_text="共 0 条").wait_for(timeout=20000)
    shot(page, "4-dates")
    outcome = call(server, SUPERVISOR, "audit-search", "click",
                   lambda n: ["2026-02-30"] + [""] * (n - 1))  # a date the picker's text box lets through
    assert '"success": true' in outcome and "起始日期不是有效日期" in outcome and "Traceback" not in outcome


# --- the events behind the page, as a browser calls them ------------------------------------------------

def call(server, name: str, elem_id: str, trigger: str, data_for) -> str:
    """Log in and fire the event `trigger` of the component `elem_id` ("load": the page's own load
    event that fills the table), as the page would; returns the completed message as text."""
    return json.dumps(fire_event(server["url"], name, PASSWORD, elem_id, trigger, data_for), ensure_ascii=False)


def test_a_broker_gets_no_audit_rows_when_the_page_loads(browser, server, asked):
    newest = next(audit_of(server).iter_rows(limit=1))
    supervisor = call(server, SUPERVISOR, "audit-table", "load", lambda n: [""] * n)
    broker = call(server, BROKER, "audit-table", "load", lambda n: [""] * n)
    assert newest["id"] in supervisor and newest["question"] in supervisor
    assert '"success": true' in broker and newest["id"] not in broker and newest["question"] not in broker
    assert '"success": true' in broker and asked["id"] not in broker and CONTRACT not in broker
    refused = call(server, BROKER, "audit-search", "click", lambda n: [""] * n)
    assert '"success": false' in refused and "无权限" in refused and CONTRACT not in refused

    page = login(browser, server, BROKER)
    page.get_by_role("tab", name="审计").click()
    page.locator("#audit-denied").filter(has_text="不能使用").wait_for(timeout=10000)
    page.wait_for_timeout(1000)  # the page's load events have run
    assert page.locator("#audit-table").get_by_role("gridcell").count() == 0
    shot(page, "5-broker")


# --- the pages in SQL, on both backends, and the CLI's refusals ----------------------------------------

def test_pages_read_with_an_offset_add_up_to_every_match(audit_url):
    """Pages of the table (OFFSET/LIMIT) are the matches in order, whatever the backend; the count is SQL's."""
    from ui.audit import PAGE_ROWS, pages

    log = AuditLog(audit_url)
    for n in range(2 * PAGE_ROWS + 7):
        answer = SimpleNamespace(question=f"q{n}", resolved="", answer="a", verdict="info" if n % 3 else "allowed",
                                 citations=[], related=[], latency_ms=1.0)
        log.record(answer, user="u", channel="api", index_version="t", answerer="seed", settings={})
    for filters in (Filters(), Filters(verdict="info"), Filters(verdict="allowed")):
        everything = [r["id"] for r in log.iter_rows(filters)]
        total = log.count(filters)
        paged = [r["id"] for p in range(pages(total))
                 for r in log.iter_rows(filters, limit=PAGE_ROWS, offset=p * PAGE_ROWS)]
        assert total == len(everything) and paged == everything
    assert list(log.iter_rows(limit=PAGE_ROWS, offset=10 ** 6)) == []


@pytest.mark.parametrize("args, said", [(["--since", "yesterday"], "not a date"),
                                        (["--until", "2026-02-30"], "not a date"),
                                        (["--verdict", "maybe"], "unknown verdict")])
def test_the_cli_refuses_a_bad_date_or_verdict_with_code_2(args, said, tmp_path):
    import os
    import subprocess
    import sys

    env = os.environ | {"DATABASE_URL": f"sqlite:///{tmp_path / 'audit.sqlite'}"}
    done = subprocess.run([sys.executable, "app.py", "audit", "stats", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and said in done.stderr and "Traceback" not in done.stderr
