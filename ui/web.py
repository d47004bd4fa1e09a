"""The web app: 问答 (chat), 文稿检查 (draft screening), 知识库 (knowledge base), 题库 (quiz) and
审计 (audit) tabs, and the API.

Every answer comes from ``Service.ask`` and every screen from ``Service.screen``, the paths the CLI
uses too; the tabs (ui/chat.py, ui/screen.py, ui/knowledge.py, ui/quizzes.py, ui/audit.py) only
render and wire events. Each handler and API endpoint checks the user's role on the server
(ui/common.Guard); hiding a tab is only a courtesy. The page loads nothing from the web.
"""
from __future__ import annotations

from pathlib import Path

import gradio as gr

from starlette.middleware import Middleware

from service import Service
from ui.audit import AuditTab
from ui.chat import OPEN_DOCUMENT_JS, ChatTab
from ui.common import Guard
from ui.gate import Backoff, Gate, Login, allowed_hosts
from ui.knowledge import KnowledgeTab
from ui.quizzes import QuizTab
from ui.screen import ScreenTab

CSS = Path(__file__).with_name("web.css").read_text(encoding="utf-8")


def build_app(service: Service) -> gr.Blocks:
    guard = Guard(service.users)
    mode = ("单用户模式：仅在本机使用，未配置用户与权限。" if service.users.single_user
            else "已启用用户与权限：各角色只能看到并使用其权限内的功能。")
    age = service.settings.upload_cache_seconds  # temporary uploads older than this are deleted
    with gr.Blocks(title="policy-qa 合规问答", delete_cache=(age, age)) as demo:
        gr.Markdown(f"## 合规问答 · policy-qa\n{mode}回答只来自已收录的制度文档，每条回答都注明依据条文。")
        who = gr.Markdown(elem_id="whoami")
        open_all = service.users.single_user  # with users, content appears once the role is known
        sections = []  # (right, content column, refusal note)
        for title, tab_id, right, build in (
            ("问答", "chat", "ask", lambda: ChatTab(service, guard).build(demo)),
            ("文稿检查", "screen", "ask", lambda: ScreenTab(service, guard).build()),
            ("知识库", "kb", "kb_view", lambda: KnowledgeTab(service, guard).build(demo)),
            ("题库", "quiz", "quiz", lambda: QuizTab(service, guard).build(demo)),
            ("审计", "audit", "audit", lambda: AuditTab(service, guard).build(demo)),
        ):
            with gr.Tab(title, id=tab_id):
                denied = gr.Markdown(f"你的角色不能使用“{title}”。如需使用，请联系管理员。", visible=False,
                                     elem_id=f"{tab_id}-denied")
                with gr.Column(visible=open_all, elem_id=f"{tab_id}-body") as body:
                    built = build()
            sections.append((right, body, denied))
            if tab_id == "kb":
                editing = built  # the upload/remove part, for roles that may change the knowledge base

        def layout(request: gr.Request):
            """Show each user what their role may use (the handlers enforce it regardless). Gradio
            cannot hide a tab's button reliably, so a tab's content is hidden and a note shown."""
            name = getattr(request, "username", None)
            line = "" if service.users.single_user else f"当前用户：{name}（{service.users.role_of(name)}）"
            updates = []
            for right, _, _ in sections:
                allowed = guard.may(request, right)
                updates += [gr.Column(visible=allowed), gr.Markdown(visible=not allowed)]
            return (line, *updates, gr.Column(visible=guard.may(request, "kb_edit")))

        outputs = [who] + [c for _, body, denied in sections for c in (body, denied)] + [editing]
        demo.load(layout, None, outputs, api_visibility="private")
    return demo


def serve(service: Service, host: str, port: int, block: bool = True) -> gr.Blocks:
    """Launch with the request gate (Host allow-list, login back-off, upload rights; ui/gate.py), an
    upload size limit and deletion of old temporary uploads."""
    settings = service.settings
    demo = build_app(service)
    demo.queue(default_concurrency_limit=4)
    backoff = Backoff(settings.login_free_failures, settings.login_base_delay, settings.login_max_delay)
    single = service.users.single_user
    hosts = allowed_hosts(settings.allowed_hosts, host) if single or settings.allowed_hosts else None
    gate = Middleware(Gate, users=service.users, hosts=hosts, backoff=backoff, max_upload=settings.max_upload_bytes,
                      upload_rate=settings.upload_bytes_per_second)
    auth = None if single else Login(service.users, backoff).check
    demo.launch(app_kwargs={"middleware": [gate]}, max_file_size=settings.max_upload_bytes,
                server_name=host, server_port=port, share=False, inbrowser=False, prevent_thread_lock=not block,
                show_error=True, quiet=True, css=CSS, js=OPEN_DOCUMENT_JS, footer_links=[], enable_monitoring=False, ssr_mode=False,
                pwa=False, mcp_server=False, auth=auth, auth_message="policy-qa：请用分配给你的账号登录。")
    return demo
