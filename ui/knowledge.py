"""知识库: the documents and units as the index holds them, search, upload with preview, removal."""
from __future__ import annotations

from pathlib import Path

import gradio as gr

from indexer.loaders import SUPPORTED, DocumentError
from service import Service
from ui.common import Guard, esc


DOC_COLUMNS = ["编号", "标题", "文件", "条数"]  # what every role sees of a document


class KnowledgeTab:
    def __init__(self, service: Service, guard: Guard) -> None:
        self.service = service
        self.guard = guard

    def documents(self, request: gr.Request):
        """The documents; admins, who maintain them, also see each file's version hash and the parser's
        warnings, which mean nothing to a broker."""
        import pandas as pd

        self.guard(request, "kb_view")
        docs = self.service.documents()
        if self.guard.may(request, "kb_edit"):
            table = pd.DataFrame([[d["id"], d["title"], d["file"], d.get("units", 0), d.get("version", "")] for d in docs],
                                 columns=[*DOC_COLUMNS, "版本"])
            warnings = self.service.warnings()
            note = ("**解析提示：**\n" + "\n".join(f"- {esc(w)}" for w in warnings)) if warnings else "解析没有发现问题。"
        else:
            table = pd.DataFrame([[d["id"], d["title"], d["file"], d.get("units", 0)] for d in docs], columns=DOC_COLUMNS)
            note = ""
        rows = table
        choices = [("全部文档", "")] + [(f'{d["title"]}（{d["id"]}）', d["id"]) for d in docs]
        removable = [(f'{d["title"]}（{d["id"]}）', d["id"]) for d in docs]
        return rows, note, gr.update(choices=choices, value=""), gr.update(choices=removable, value=None)

    def browse(self, doc_id: str, query: str, request: gr.Request):
        self.guard(request, "kb_view")
        units = self.service.units(doc_id or None, query or "")
        return [[u.id, u.label, " > ".join(u.path), u.text] for u in units], f"共 {len(units)} 条"

    def preview(self, file, title: str, request: gr.Request):
        user = self.guard(request, "kb_edit")
        if file is None:
            return [], "请先选择文件。", gr.update(interactive=False)
        try:
            doc, result = self.service.check(Path(file), title=(title or "").strip() or None)
        except DocumentError as exc:
            return [], f"❌ 无法加入：{esc(str(exc))}。现有索引不受影响。", gr.update(interactive=False)
        rows = [[u.label, " > ".join(u.path), u.text] for u in result.units]
        warn = "".join(f"\n- ⚠️ {esc(w)}" for w in result.warnings)
        return rows, f"《{esc(doc.title)}》解析出 {len(rows)} 条，请核对后点击“确认加入索引”。{warn}", gr.update(interactive=True)

    def confirm(self, file, title: str, request: gr.Request, progress=gr.Progress()):  # noqa: B008 (Gradio's idiom)
        """Index the previewed file; on success the upload box is cleared for the next one."""
        user = self.guard(request, "kb_edit")
        if file is None:
            return "请先选择文件。", gr.update(interactive=False), None
        progress(0, desc="解析中")

        def step(done: int, total: int) -> None:
            progress(done / max(total, 1), desc=f"向量化 {done}/{total}")

        try:
            doc, report = self.service.add(Path(file), title=(title or "").strip() or None, progress=step, user=user)
        except DocumentError as exc:
            return f"❌ 无法加入：{esc(str(exc))}。现有索引不受影响。", gr.update(interactive=False), file
        clash = "".join(f"\n- ⚠️ 可能与现有条文冲突：{esc(c['new'])} 允许的事项，{esc(c['existing'])} 禁止"
                        for c in report.conflicts)
        return (f"✅ 已加入《{esc(doc.title)}》（{doc.id}）。索引现有 {report.documents} 个文档、{report.units} 条。{clash}",
                gr.update(interactive=False), None)

    def remove(self, doc_id: str | None, request: gr.Request, progress=gr.Progress()):  # noqa: B008
        user = self.guard(request, "kb_edit")
        if not doc_id:
            return "请选择要删除的文档。"
        progress(0, desc="重建索引")
        try:
            report = self.service.remove(doc_id, progress=lambda d, t: progress(d / max(t, 1), desc="重建索引"), user=user)
        except DocumentError as exc:
            return f"❌ 无法删除：{esc(str(exc))}。"
        return f"✅ 已删除 {doc_id}。索引现有 {report.documents} 个文档、{report.units} 条。"

    def api_documents(self, request: gr.Request = None) -> list[dict]:
        """The documents the index holds (id, title, file, units, version)."""
        self.guard(request, "kb_view")
        return self.service.documents()

    def api_remove(self, doc_id: str, request: gr.Request = None) -> str:
        """Remove a document and its units (admin only)."""
        return self.remove(doc_id, request, progress=lambda *a, **k: None)

    def build(self, demo: gr.Blocks) -> gr.Column:
        docs = gr.Dataframe(headers=DOC_COLUMNS, interactive=False, elem_id="docs")
        warnings = gr.Markdown(elem_id="warnings")
        with gr.Row():
            which = gr.Dropdown(label="文档", choices=[("全部文档", "")], value="", scale=2)
            query = gr.Textbox(label="搜索条文", placeholder="例如：合同、第四十二条", scale=4, elem_id="unit-search")
            count = gr.Markdown()
        units = gr.Dataframe(headers=["编号", "标签", "标题路径", "内容"], interactive=False, wrap=True,
                             elem_id="units", max_height=420, column_widths=["16%", "10%", "18%", "56%"])
        with gr.Column(elem_id="kb-edit") as editing:  # shown to roles that may change the knowledge base
            gr.Markdown(f"### 上传新制度文件\n支持 {' '.join(sorted(SUPPORTED))}，UTF-8 或 GBK 编码。先解析预览，确认后加入索引。")
            with gr.Row():
                upload = gr.File(label="制度文件", file_types=sorted(SUPPORTED), elem_id="upload", scale=3)
                title = gr.Textbox(label="文档标题（可选，默认用文件名）", scale=2, elem_id="upload-title")
            with gr.Row():
                check = gr.Button("解析预览", elem_id="preview")
                add = gr.Button("确认加入索引", variant="primary", interactive=False, elem_id="confirm")
            status = gr.Markdown(elem_id="upload-status")
            preview = gr.Dataframe(headers=["标签", "标题路径", "内容"], interactive=False, wrap=True, max_height=300)
            with gr.Row():
                doomed = gr.Dropdown(label="删除文档（连同其全部条文）", scale=3, elem_id="remove-doc")
                drop = gr.Button("删除", variant="stop", scale=1, elem_id="remove")
            removed = gr.Markdown()
        refresh_outputs = [docs, warnings, which, doomed]
        browse = dict(fn=self.browse, inputs=[which, query], outputs=[units, count], api_visibility="private")
        demo.load(self.documents, None, refresh_outputs, api_visibility="private").then(**browse)
        which.change(**browse)
        query.submit(**browse)
        check.click(self.preview, [upload, title], [preview, status, add], api_visibility="private")
        add.click(self.confirm, [upload, title], [status, add, upload], api_visibility="private").then(
            self.documents, None, refresh_outputs, api_visibility="private").then(**browse)
        drop.click(self.remove, [doomed], [removed], api_visibility="private").then(
            self.documents, None, refresh_outputs, api_visibility="private").then(**browse)
        gr.api(self.api_documents, api_name="kb_documents")
        gr.api(self.api_remove, api_name="kb_remove")
        return editing
