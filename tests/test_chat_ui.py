"""问答 on the real app: the answer in the asker's language, the badge said once, the user's own
history kept on the server, and a citation's whole document opened at the article.

Screenshots of each browser step go to test-artifacts/chat/ (git-ignored).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import fire_event
from test_web import BOTS, CONTRACT, ask, last_answer

from ui.chat import without_badge
from ui.strings import EN, ZH

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts" / "chat"
TV_SHOW = "Can I appear on a TV stock-picking show?"
KEEP_CONTRACTS = "How long must investment advisory contracts be kept?"
CHINESE = re.compile(r"[\u4e00-\u9fff]")
PASSWORD = "correct horse battery"
BROKERS = ("alice", "bob")


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


# --- the English conclusion (qa/english.py) ----------------------------------------------------------

def test_english_conclusions_frame_in_english_and_quote_the_article(assistant):
    duty = assistant.ask(KEEP_CONTRACTS)
    framing, clause = duty.answer.split(": ", 1)
    assert framing == "Required — in the article's words" and duty.citations[0].id == "p1:第四十一条"
    assert clause in duty.citations[0].text and "10年" in clause  # the rule is the article's quote, untranslated
    no = assistant.ask(TV_SHOW)
    assert no.verdict == "prohibited"
    assert no.answer == "No — not without approval (“公司批准”, in the article's words)."
    assert "经公司批准后才可" in no.citations[0].text  # the condition is the article's own
    approved = assistant.ask("What if the company approves?", no.resolved)
    assert approved.verdict == "allowed" and approved.answer.startswith("Yes, once approved (“公司批准”")
    for answer in (duty, no, approved):  # outside the article's quoted words, no Chinese
        assert not CHINESE.search(re.sub(r"“[^”]*”", "", answer.answer.split(": ", 1)[0]))


def test_chinese_conclusions_are_unchanged(assistant):
    assert assistant.ask("电视台有个炒股比赛节目邀请我参加，可以去吗").answer == "不可以，除非经公司允许。"
    assert assistant.ask("投资咨询的合同和档案要保存几年？").answer.startswith("必须：")


def test_a_leading_badge_word_is_not_shown_twice():
    assert without_badge("不可以，除非经公司允许。", ZH.badges["prohibited"]) == "除非经公司允许。"
    assert without_badge("不可以。", ZH.badges["prohibited"]) == ""
    assert without_badge("No — not without approval (“公司批准”).", EN.badges["prohibited"]) == \
        "Not without approval (“公司批准”)."
    assert without_badge("Required — in the article's words: 至少保存10年。", EN.badges["required"]) == \
        "In the article's words: 至少保存10年。"
    # "Not sure…" does not begin with the word "No"; a hedged answer keeps its opening
    hedged = "Not sure — these articles may apply; read them, or ask Compliance. No."
    assert without_badge(hedged, EN.badges["prohibited"]) == hedged


# --- the page, single-user -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def page(browser, web_server):
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(web_server["url"])
    page.locator("#question textarea").wait_for()
    yield page
    page.close()


def test_an_english_question_gets_an_english_answer(page):
    ask(page, KEEP_CONTRACTS)
    answer = last_answer(page)
    assert answer.locator(".pq-answer").get_attribute("data-language") == "en"
    assert answer.locator(".pq-badge").inner_text() == "Required"
    assert answer.locator(".pq-section").inner_text() == EN.cited
    card = answer.locator(".pq-card").first
    assert card.locator(".pq-context summary").inner_text() == EN.context
    assert card.locator(".pq-open-doc").inner_text() == EN.open_document
    head = answer.locator(".pq-answer").inner_text()
    assert head.count("Required") == 1 and not any(b in head for b in ZH.badges.values())
    assert answer.locator(".pq-conclusion").inner_text().startswith("In the article's words: ")
    shot(page, "1-english-duty")
    ask(page, TV_SHOW)
    answer = last_answer(page)
    assert answer.locator(".pq-badge").inner_text() == "No"
    assert answer.locator(".pq-conclusion").inner_text() == "Not without approval (“公司批准”, in the article's words)."
    ask(page, "   ")  # an error in the asker's language: a blank question is read as Chinese, the page's own
    assert last_answer(page).locator(".pq-error").inner_text() == "⚠️ 请输入问题。"
    ask(page, "How many days of annual leave do I get?" + " x" * 300)
    assert "too long" in last_answer(page).locator(".pq-error").inner_text()
    ask(page, "How many days of annual leave do I get?")
    answer = last_answer(page)
    assert answer.locator(".pq-badge").inner_text() == "Not covered"
    assert answer.locator(".pq-related summary").inner_text() == EN.related
    shot(page, "2-english-no-and-not-covered")


def test_a_chinese_answer_says_its_badge_once(page):
    ask(page, "电视台有个炒股比赛节目邀请我参加，可以去吗")
    answer = last_answer(page)
    assert answer.locator(".pq-badge").inner_text() == "不可以"
    assert answer.locator(".pq-conclusion").inner_text() == "除非经公司允许。"
    assert answer.locator(".pq-answer").inner_text().count("不可以") == 1
    assert answer.locator(".pq-section").inner_text() == ZH.cited


def test_the_answer_arrives_whole_not_replayed(page):
    """No replay a few characters at a time: the first answer content the page sees is complete."""
    page.evaluate("""() => { window.__partial = []; const chat = document.querySelector('#chat');
        window.__watch = new MutationObserver(() => { for (const c of chat.querySelectorAll('.pq-conclusion')) {
            const bot = c.closest('.message-row, .message'); if (bot && !bot.querySelector('.pq-card, .pq-related'))
                window.__partial.push(c.textContent); } });
        window.__watch.observe(chat, {subtree: true, childList: true, characterData: true}); }""")
    ask(page, CONTRACT)
    assert page.evaluate("() => { window.__watch.disconnect(); return window.__partial; }") == []


def test_a_card_opens_its_whole_document_at_the_article(page, web_server):
    ask(page, CONTRACT)
    card = last_answer(page).locator(".pq-card").first
    card.locator(".pq-open-doc").click()
    here = page.locator("#doc-view .pq-here")
    here.wait_for(timeout=15000)
    assert here.get_attribute("data-unit") == "p1:第二十五条" and here.get_attribute("id") == "pq-here"
    assert "签订任何合同" in here.inner_text()
    view = page.locator("#doc-view")
    units = view.locator(".pq-doc-unit")
    ids = units.evaluate_all("els => els.map(e => e.dataset.unit)")
    assert "p1:第一条" in ids and "p1:第二十四条" in ids and "p1:第二十六条" in ids  # the whole document
    assert all(i.startswith("p1:") for i in ids) and view.locator(".pq-here").count() == 1
    assert "全文：" in view.locator(".pq-doc-title").inner_text()
    page.wait_for_function("""() => { const el = document.querySelector('#doc-view .pq-here');
        const box = el.closest('.pq-doc-view'); const r = el.getBoundingClientRect(), b = box.getBoundingClientRect();
        return r.top >= b.top - 1 && r.bottom <= b.bottom + 1 && r.top >= 0 && r.bottom <= window.innerHeight; }""",
                           timeout=5000)  # scrolled into view
    shot(page, "3-whole-document")
    ask(page, TV_SHOW)  # an English card opens it with English around the article
    last_answer(page).locator(".pq-open-doc").first.click()
    page.locator("#doc-view .pq-doc-title").filter(has_text="Whole document:").wait_for(timeout=15000)
    assert page.locator("#doc-view .pq-here").get_attribute("data-unit") == "p1:第三十三条"


def test_history_survives_a_reload_and_reopens_the_answer(page):
    question = "电视台有个炒股比赛节目邀请我参加，可以去吗"
    ask(page, question)
    page.reload()
    page.locator("#question textarea").wait_for()
    assert page.locator(BOTS).count() == 0  # the conversation is gone, the history is not
    page.locator("#history input").click()
    page.get_by_role("option").first.wait_for(timeout=15000)
    newest = page.get_by_role("option").first
    assert question in newest.inner_text() and "UTC" in newest.inner_text()  # newest first, dated
    newest.click()
    answer = last_answer(page)
    answer.locator(".pq-card").first.wait_for(timeout=15000)
    assert page.locator(".message-row.user-row, .message.user").last.inner_text().strip() == question
    assert answer.locator(".pq-badge").inner_text() == "不可以"
    assert answer.locator(".pq-conclusion").inner_text() == "除非经公司允许。"
    card = answer.locator(".pq-card").first
    assert card.locator(".pq-label").inner_text() == "第二十八条" and "未经公司允许" in card.locator(".pq-text").inner_text()
    assert "历史记录" in answer.locator(".pq-history-note").inner_text()
    shot(page, "4-history-reopened")
    # a follow-up leans on the re-opened answer (alone, it would be read as another question)
    ask(page, "那如果经过公司批准呢？")
    follow = last_answer(page)
    assert follow.locator(".pq-badge").inner_text() == "可以"
    assert follow.locator(".pq-card .pq-label").first.inner_text() == "第二十八条"


# --- two users: each sees only their own history ----------------------------------------------------

@pytest.fixture(scope="module")
def two_brokers(built, settings, tmp_path_factory):
    from conftest import start_app

    from auth.users import add_user

    users = tmp_path_factory.mktemp("users") / "users.json"
    for name in BROKERS:
        add_user(users, name, "broker", PASSWORD)
    yield from start_app(settings, tmp_path_factory, {"POLICYQA_USERS_FILE": str(users)})


def logged_in(browser, server, name: str):
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(server["url"])
    page.locator("input[type=password]").wait_for(timeout=20000)
    page.locator("input").first.fill(name)
    page.locator("input[type=password]").fill(PASSWORD)
    page.locator("input[type=password]").press("Enter")
    page.locator("#whoami").filter(has_text=name).wait_for(timeout=20000)
    return page


def history_options(page) -> list[str]:
    page.locator("#history input").click()
    page.wait_for_timeout(300)
    options = page.get_by_role("option").all_inner_texts()
    page.keyboard.press("Escape")
    return options


def reopen_as(server, name: str, answer_id: str) -> dict:
    """Fire the history list's event as the page would, logged in as this user, with any answer id."""
    return fire_event(server["url"], name, PASSWORD, "history", "input", lambda n: [answer_id, [], [], ""])


def test_a_user_sees_only_their_own_history(browser, two_brokers):
    from audit.log import AuditLog, Filters

    alice = logged_in(browser, two_brokers, "alice")
    ask(alice, CONTRACT)
    alice.reload()
    alice.locator("#whoami").filter(has_text="alice").wait_for(timeout=20000)
    assert any(CONTRACT in o for o in history_options(alice))
    shot(alice, "5-alice-history")
    alice.close()
    bob = logged_in(browser, two_brokers, "bob")
    assert not any(CONTRACT in o for o in history_options(bob))
    shot(bob, "6-bob-history")
    bob.close()
    audit = AuditLog(f"sqlite:///{two_brokers['data'] / 'audit.sqlite'}")
    (row,) = audit.iter_rows(Filters(user="alice", kind="answer"))
    chat = reopen_as(two_brokers, "bob", row["id"])["output"]["data"][0]
    assert chat == []  # bob asking for alice's answer by its id gets nothing (the server checks whose it is)
    shown = json.dumps(reopen_as(two_brokers, "alice", row["id"])["output"]["data"][0], ensure_ascii=False)
    assert CONTRACT in shown and "第二十五条" in shown and "pq-badge" in shown


def test_escaping_shows_an_apostrophe_as_typed():
    """English text has apostrophes ("the article's words"): one escape, never a visible &#x27;."""
    from ui.common import esc

    assert esc("the article's <b>[x](y)</b>") == "the article&#x27;s &lt;b&gt;&#91;x&#93;&#40;y&#41;&lt;/b&gt;"
