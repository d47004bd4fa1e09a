"""Users and roles, enforced by the real server over HTTP: through gradio_client for the API
endpoints, and with raw HTTP for the events behind the tabs (which a browser's page calls too)."""
from __future__ import annotations

import json

import httpx
import pytest
from conftest import fire_event

from auth.users import ROLES, add_user, check_password, hash_password

PASSWORD = "correct horse battery"
USERS = {role: f"{role}1" for role in ROLES}
# endpoint → the roles that may use it
API = {
    "/ask": set(ROLES),
    "/kb_documents": set(ROLES),
    "/quiz": {"trainer", "supervisor", "admin"},
    "/audit_search": {"supervisor", "admin"},
    "/audit_stats": {"supervisor", "admin"},
    "/audit_export": {"supervisor", "admin"},
    "/audit_review": {"supervisor", "admin"},
    "/kb_remove": {"admin"},
}
# button elem_id behind a tab → the roles that may use it
EVENTS = {"audit-search": {"supervisor", "admin"}, "quiz-go": {"trainer", "supervisor", "admin"},
          "remove": {"admin"}, "send": set(ROLES)}


def test_passwords_are_stored_hashed(tmp_path):
    path = tmp_path / "users.json"
    add_user(path, "eve", "broker", PASSWORD)
    stored = json.loads(path.read_text())["users"]["eve"]
    assert PASSWORD not in path.read_text() and stored["password_hash"].startswith("pbkdf2_sha256$")
    assert check_password(PASSWORD, stored["password_hash"]) and not check_password("wrong", stored["password_hash"])
    assert hash_password(PASSWORD) != hash_password(PASSWORD)  # salted
    with pytest.raises(ValueError):
        add_user(path, "mallory", "root", PASSWORD)


@pytest.fixture(scope="module")
def secured(built, settings, tmp_path_factory):
    from conftest import start_app

    users = tmp_path_factory.mktemp("users") / "users.json"
    for role, name in USERS.items():
        add_user(users, name, role, PASSWORD)
    yield from start_app(settings, tmp_path_factory, {"POLICYQA_USERS_FILE": str(users)})


def client_for(server, role):
    from gradio_client import Client

    return Client(server["url"], auth=(USERS[role], PASSWORD), verbose=False)


def call(client, endpoint: str, answer_id: str):
    args = {
        "/ask": ("我能以公司名义和客户签合同吗？", ""),
        "/kb_documents": (),
        "/quiz": (3, "tf", 1, "zh", "", "json"),
        "/audit_search": (),
        "/audit_stats": (),
        "/audit_export": ("csv",),
        "/audit_review": (answer_id, "correct", "", "", "checked"),
        "/kb_remove": ("no-such-document",),
    }[endpoint]
    return client.predict(*args, api_name=endpoint)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reaches_exactly_its_api_endpoints(secured, role):
    client = client_for(secured, role)
    answer = client.predict("Can I accept a gift from a client?", "", api_name="/ask")
    assert answer["citations"][0]["label"] == "第三十条"
    for endpoint, allowed in API.items():
        if role in allowed:
            result = call(client, endpoint, answer["id"])
            assert result is not None, endpoint
            if endpoint == "/kb_remove":
                assert "无法删除" in result  # allowed, and a bad id changes nothing
        else:
            with pytest.raises(Exception, match="无权限|Not allowed"):
                call(client, endpoint, answer["id"])


def test_without_login_nothing_is_served(secured):
    assert httpx.post(secured["url"] + "gradio_api/call/ask", json={"data": ["合同", ""]}).status_code in (401, 403)
    assert httpx.get(secured["url"] + "config").status_code in (401, 403)


def _call_event(server, role: str, elem_id: str, data_for) -> str:
    """Log in with the role's password and fire the event behind a button, as the page would."""
    return json.dumps(fire_event(server["url"], USERS[role], PASSWORD, elem_id, "click", data_for), ensure_ascii=False)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_is_refused_the_tab_events_it_may_not_use(secured, role):
    for elem_id, allowed in EVENTS.items():
        def data(n, elem_id=elem_id):
            if elem_id == "send":
                return ["我能以公司名义和客户签合同吗？", [], []]
            if elem_id == "quiz-go":
                return [3, [], ["tf"], 0, "json", "zh"]
            return [""] * n if elem_id != "remove" else [None]  # nothing chosen: only the guard can refuse

        outcome = _call_event(secured, role, elem_id, data)
        if role in allowed:
            assert '"success": true' in outcome, (role, elem_id, outcome[:300])
        else:
            assert '"success": false' in outcome and "无权限" in outcome, (role, elem_id, outcome[:300])


@pytest.mark.parametrize("role, sees_audit, sees_upload", [("broker", False, False), ("supervisor", True, False),
                                                          ("admin", True, True)])
def test_the_page_shows_each_role_only_what_it_may_use(secured, role, sees_audit, sees_upload):
    from playwright.sync_api import sync_playwright
    from test_web import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        outside = []
        page.on("request", lambda r: None if r.url.startswith(("http://127.0.0.1", "data:", "blob:")) else outside.append(r.url))
        page.goto(secured["url"])
        page.locator("input[type=password]").wait_for(timeout=20000)  # the login page comes first
        page.locator("input").first.fill(USERS[role])
        page.locator("input[type=password]").fill(PASSWORD)
        page.locator("input[type=password]").press("Enter")
        page.locator("#whoami").filter(has_text=USERS[role]).wait_for(timeout=20000)
        page.get_by_role("tab", name="审计").click()
        if sees_audit:
            page.locator("#audit-search").wait_for(timeout=10000)
        else:
            page.locator("#audit-denied").filter(has_text="不能使用").wait_for(timeout=10000)
            assert not page.locator("#audit-search").is_visible()
        page.screenshot(path=str(ARTIFACTS / f"role-{role}-audit.png"))
        page.get_by_role("tab", name="知识库").click()
        page.locator("#docs").filter(has_text="营销活动规范").wait_for(timeout=10000)
        assert page.locator("#upload").is_visible() == sees_upload
        # build internals (version hashes, parser warnings) are for admins, who maintain the documents
        assert ("版本" in page.locator("#docs").inner_text()) == sees_upload
        assert ("第四十二条" in page.locator("#warnings").inner_text()) == sees_upload
        page.screenshot(path=str(ARTIFACTS / f"role-{role}-kb.png"))
        browser.close()
    assert outside == []


def test_single_user_mode_serves_only_on_localhost(settings, capsys):
    import app

    assert app.main(["serve", "--host", "0.0.0.0", "--port", "1"]) == 2
    assert "only on localhost" in capsys.readouterr().err


def test_user_changes_take_effect_without_a_restart_and_names_do_not_show_in_timing(tmp_path, monkeypatch):
    import hashlib

    from auth.users import Users, remove_user

    path = tmp_path / "users.json"
    add_user(path, "alice", "broker", "alice-secret")
    users = Users.load(path, env="")
    users.RECHECK = 0.0
    assert users.authenticate("alice", "alice-secret") and users.role_of("bob") is None
    add_user(path, "bob", "supervisor", "bob-secret-1")
    assert users.role_of("bob") == "supervisor"  # a new user, seen by the running app
    add_user(path, "bob", "supervisor", "bob-secret-2")
    assert not users.authenticate("bob", "bob-secret-1") and users.authenticate("bob", "bob-secret-2")
    remove_user(path, "alice")
    assert users.role_of("alice") is None and not users.authenticate("alice", "alice-secret")
    assert not users.single_user  # the mode chosen at start stays
    calls = []
    real = hashlib.pbkdf2_hmac
    monkeypatch.setattr(hashlib, "pbkdf2_hmac", lambda *a: calls.append(a[0]) or real(*a))
    assert not users.authenticate("nobody", "whatever-pass")
    assert not users.authenticate("bob", "wrong-password")
    assert len(calls) == 2  # an unknown name is hashed like a known one


def test_user_cli_lists_changes_and_removes(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    env = os.environ | {"POLICYQA_USERS_FILE": str(tmp_path / "u.json"), "POLICYQA_PASSWORD": "long-enough-1"}

    def run(*args):
        return subprocess.run([sys.executable, "app.py", "user", *args], cwd=root, env=env, capture_output=True,
                              text=True, timeout=120)

    assert run("add", "carol", "--role", "trainer").returncode == 0
    assert run("list").stdout.split() == ["carol", "trainer"]
    assert run("passwd", "carol").returncode == 0 and run("passwd", "nobody").returncode == 2
    assert run("remove", "carol").returncode == 0 and run("list").stdout.strip() == ""
    assert run("remove", "carol").returncode == 2
