"""题库: quiz items for trainers, previewed and downloaded in the format a learning system imports."""
from __future__ import annotations

import gradio as gr

from quiz.formats import export, to_markdown
from quiz.generate import QuizError
from service import Service
from ui.common import Guard, download, esc

SUFFIX = {"json": "json", "csv": "csv", "gift": "gift.txt", "aiken": "aiken.txt", "md": "md"}


class QuizTab:
    def __init__(self, service: Service, guard: Guard) -> None:
        self.service = service
        self.guard = guard

    def _make(self, n: int, types: list[str], seed: int, lang: str, docs: list[str], fmt: str):
        quiz = self.service.quiz(int(n or 0), tuple(types or ()), int(seed or 0), lang, list(docs or []) or None)
        meta = {"n": len(quiz.items), "seed": int(seed or 0), "types": list(types or []), "docs": list(docs or []),
                "lang": lang, "dropped_by_validation": dict(quiz.dropped), "duplicates_dropped": quiz.duplicates}
        text, notes = export(quiz.items, fmt, meta)
        return quiz, text, notes

    def generate(self, n, docs: list[str], types: list[str], seed, fmt: str, lang: str, request: gr.Request):
        """Preview and a file to download; a bad option gets a message and no file."""
        self.guard(request, "quiz")
        try:
            quiz, text, notes = self._make(n, types, seed, lang, docs, fmt)
        except (QuizError, ValueError) as exc:
            return f"❌ {esc(str(exc))}", "", gr.update(value=None, visible=False)
        path = download(text, f"quiz-{len(quiz.items)}-seed{int(seed or 0)}.{SUFFIX[fmt]}",
                        "utf-8-sig" if fmt == "csv" else "utf-8")
        dropped = sum(quiz.dropped.values())
        status = (f"✅ 生成 {len(quiz.items)} 题（{dropped} 个候选未通过校验被丢弃，{quiz.duplicates} 个重复被丢弃）。"
                  + "".join(f"\n\n⚠️ {esc(note)}" for note in notes))
        return status, to_markdown(quiz.items, "题库预览"), gr.update(value=path, visible=True)

    def api_quiz(self, n: int, types: str = "tf,choice,multi,cloze", seed: int = 0, lang: str = "zh",
                 docs: str = "", fmt: str = "json", request: gr.Request = None) -> str:
        """Quiz items as the export format's text (trainers, supervisors, admins)."""
        self.guard(request, "quiz")
        try:
            _, text, _ = self._make(n, [t for t in types.split(",") if t], seed, lang,
                                    [d for d in docs.split(",") if d], fmt)
        except (QuizError, ValueError) as exc:
            raise gr.Error(str(exc)) from exc
        return text

    def build(self, demo: gr.Blocks) -> None:
        gr.Markdown("从条文生成练习题：每题都注明出处，答案由条文原文校验；同一随机种子生成同一份题目。")
        with gr.Row():
            n = gr.Number(label="题目数量", value=20, precision=0, minimum=1, elem_id="quiz-n")
            seed = gr.Number(label="随机种子", value=0, precision=0, elem_id="quiz-seed")
            fmt = gr.Dropdown(label="导出格式", value="json", elem_id="quiz-format",
                              choices=[("JSON", "json"), ("CSV（表格）", "csv"), ("Moodle GIFT", "gift"),
                                       ("Aiken", "aiken"), ("Markdown（打印）", "md")])
            lang = gr.Radio(label="题干语言", choices=[("中文", "zh"), ("English", "en")], value="zh")
        types = gr.CheckboxGroup(label="题型", value=["tf", "choice", "multi", "cloze"], elem_id="quiz-types",
                                 choices=[("判断", "tf"), ("单选", "choice"), ("多选", "multi"), ("填空", "cloze")])
        docs = gr.CheckboxGroup(label="文档（不选即全部）", choices=[], elem_id="quiz-docs")
        go = gr.Button("生成题目", variant="primary", elem_id="quiz-go")
        status = gr.Markdown(elem_id="quiz-status")
        file = gr.DownloadButton("下载题目文件", visible=False, elem_id="quiz-download")
        preview = gr.Markdown(elem_id="quiz-preview")
        go.click(self.generate, [n, docs, types, seed, fmt, lang], [status, preview, file], api_visibility="private")
        demo.load(lambda: gr.update(choices=[(f'{d["title"]}（{d["id"]}）', d["id"]) for d in self.service.documents()]),
                  None, docs, api_visibility="private")
        gr.api(self.api_quiz, api_name="quiz")
