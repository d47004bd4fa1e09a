"""The web app: 问答 (chat), 知识库 (knowledge base), 题库 (quiz) and 审计 (audit) tabs, and the API.

Every answer comes from ``Service.ask``, the path the CLI uses too; the tabs (ui/chat.py,
ui/knowledge.py, ui/quizzes.py, ui/audit.py) only render and wire events. Each handler and API
endpoint checks the user's role on the server (ui/common.Guard); hiding a tab is only a courtesy.
The page loads nothing from the web.
"""
from __future__ import annotations

from pathlib import Path

import gradio as gr

from service import Service
from ui.audit import AuditTab
from ui.chat import ChatTab
from ui.common import Guard
from ui.knowledge import KnowledgeTab
from ui.quizzes import QuizTab

CSS = Path(__file__).with_name("web.css").read_text(encoding="utf-8")


def build_app(service: Service) -> gr.Blocks:
    guard = Guard(service.users)
    mode = ("单用户模式：仅在本机使用，未配置用户与权限。" if service.users.single_user
            else "已启用用户与权限：各角色只能看到并使用其权限内的功能。")
    with gr.Blocks(title="policy-qa 合规问答") as demo:
        gr.Markdown(f"## 合规问答 · policy-qa\n{mode}回答只来自已收录的制度文档，每条回答都注明依据条文。")
        who = gr.Markdown(elem_id="whoami")
        with gr.Tab("问答", id="chat") as chat:
            ChatTab(service, guard).build()
        with gr.Tab("知识库", id="kb") as kb:
            editing = KnowledgeTab(service, guard).build(demo)
        with gr.Tab("题库", id="quiz") as quiz:
            QuizTab(service, guard).build(demo)
        with gr.Tab("审计", id="audit") as audit:
            AuditTab(service, guard).build(demo)

        def layout(request: gr.Request):
            """Show each user the tabs their role may use (the handlers enforce it regardless)."""
            name = getattr(request, "username", None)
            role = service.users.role_of(name)
            line = "" if service.users.single_user else f"当前用户：{name}（{role}）"
            return (line, *(gr.update(visible=guard.may(request, right))
                            for right in ("ask", "kb_view", "quiz", "audit", "kb_edit")))

        demo.load(layout, None, [who, chat, kb, quiz, audit, editing], api_visibility="private")
    return demo


def serve(service: Service, host: str, port: int, block: bool = True) -> gr.Blocks:
    demo = build_app(service)
    demo.queue(default_concurrency_limit=4)
    auth = None if service.users.single_user else service.users.authenticate
    demo.launch(server_name=host, server_port=port, share=False, inbrowser=False, prevent_thread_lock=not block,
                show_error=True, quiet=True, css=CSS, footer_links=[], enable_monitoring=False, ssr_mode=False,
                pwa=False, mcp_server=False, auth=auth, auth_message="policy-qa：请用分配给你的账号登录。")
    return demo
