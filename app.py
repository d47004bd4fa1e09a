"""policy-qa: `python app.py` serves the web app; subcommands index, add, remove, ask, eval.
Thin on purpose: the work lives in indexer/, qa/, service.py and ui/."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import config
from config import get_settings


def cmd_index(args: argparse.Namespace) -> int:
    from indexer.build import build_index
    from indexer.loaders import DocumentError

    try:
        report = build_index(get_settings(), force=args.force, progress=not args.quiet)
    except DocumentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for error in report.errors:
        print(f"error: {error} (skipped; the rest was indexed)", file=sys.stderr)
    if report.skipped:
        print(f"index is up to date: {report.documents} documents, {report.units} units")
    else:
        print(f"indexed {report.documents} documents, {report.units} units ({report.embedded} passages embedded, the rest from cache)")
    for warning in report.warnings:
        print(f"warning: {warning}")
    return 1 if report.errors else 0


def cmd_add(args: argparse.Namespace) -> int:
    from indexer.build import add_document
    from indexer.conflicts import describe
    from indexer.loaders import DocumentError

    try:
        doc, report = add_document(get_settings(), Path(args.file), args.id, args.title, progress=not args.quiet,
                                   replace=args.replace)
    except DocumentError as exc:
        print(f"error: {exc}; nothing was changed", file=sys.stderr)
        return 2
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"added {doc.file} as '{doc.id}'; index now holds {report.documents} documents, {report.units} units")
    for c in report.conflicts:
        print(f"warning: possible contradiction: {describe(c)}")
    _record_kb(report.change)
    return 0


def _record_kb(change: dict) -> None:
    """Put a knowledge-base change made from the shell in the audit trail, under the OS user's name.
    The change itself has happened: a database that cannot be used is a warning, not a failure."""
    import getpass

    from sqlalchemy.exc import SQLAlchemyError

    from audit.log import AuditLog

    try:
        AuditLog(get_settings().audit_url).record_kb_change(change, user=f"cli:{getpass.getuser()}")
    except SQLAlchemyError as exc:
        print(f"warning: the change was made but not audited ({exc.__class__.__name__}); check DATABASE_URL",
              file=sys.stderr)


def cmd_remove(args: argparse.Namespace) -> int:
    from indexer.build import remove_document
    from indexer.loaders import DocumentError

    try:
        report = remove_document(get_settings(), args.id, progress=not args.quiet)
    except DocumentError as exc:
        print(f"error: {exc}; nothing was changed", file=sys.stderr)
        return 2
    print(f"removed '{args.id}'; index now holds {report.documents} documents, {report.units} units")
    _record_kb(report.change)
    return 0


def _questions(args: argparse.Namespace):
    if args.question:
        yield " ".join(args.question)
    else:
        # one answer line per input line, in order: a blank or undecodable line gets an error line
        for raw in sys.stdin.buffer:
            try:
                yield raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError:
                yield None


def cmd_ask(args: argparse.Namespace) -> int:
    from qa.answer import QuestionError
    from service import Service

    service = Service(get_settings())
    status = 0
    for question in _questions(args):
        try:
            if question is None:
                raise QuestionError("这一行不是有效的 UTF-8 文本。 / This line is not valid UTF-8 text.")
            answer = service.ask(question, channel="cli")
        except QuestionError as exc:
            status = 2
            if args.json:
                print(json.dumps({"question": question, "error": str(exc)}, ensure_ascii=False), flush=True)
            else:
                print(f"error: {exc}", file=sys.stderr)
            continue
        if args.json:
            print(json.dumps(answer.to_dict(), ensure_ascii=False), flush=True)
        else:
            print(answer.render())
    return status


def cmd_screen(args: argparse.Namespace) -> int:
    """Screen one draft: a file (.txt, .md, .docx) or, with no FILE or '-', the whole of stdin."""
    from indexer.loaders import DocumentError, decode_text, read_document
    from qa.screen import ScreenError
    from service import Service

    try:
        if args.file and args.file != "-":
            draft = read_document(Path(args.file))
        else:
            draft = decode_text(sys.stdin.buffer.read(), "stdin")
    except DocumentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        screen = Service(get_settings()).screen(draft, channel="cli")
    except ScreenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        text = json.dumps(screen.to_dict(), ensure_ascii=False) + "\n"
    else:
        text = screen.to_markdown()
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from service import Service
    from ui.web import serve

    from auth.users import Users

    settings = get_settings()
    host = args.host or settings.host
    if Users.load(settings.users_path).single_user and host not in ("127.0.0.1", "localhost", "::1"):
        print(f"error: no users are configured, so the app runs single-user and only on localhost (not {host}); "
              "add users with `python app.py user add NAME --role ROLE` to serve others", file=sys.stderr)
        return 2
    from indexer.build import PENDING, build_index

    if (settings.corpus_dir / PENDING).exists():  # an add was killed: roll it back, serve the corpus as it was
        for warning in build_index(settings).warnings:
            print(f"warning: {warning}", file=sys.stderr)
    service = Service(settings)  # builds the index first if there is none
    service.assistant.ask("我能以公司名义和客户签合同吗？")  # load the models now, not when the first user waits (not audited)
    port = args.port or settings.port
    print(f"policy-qa serving on http://{host}:{port}  (index: {len(service.assistant.index.units)} units)", flush=True)
    serve(service, host, port)
    return 0


def cmd_quiz(args: argparse.Namespace) -> int:
    from quiz.formats import ExportError, export
    from quiz.generate import QuizError
    from service import Service

    types = tuple(t.strip() for t in args.type.split(",") if t.strip())
    service = Service(get_settings())  # builds the index first if there is none
    if args.rephrase and service.llm is None:
        print("error: --rephrase needs a language model (LLM_BASE_URL and LLM_MODEL, or OLLAMA_HOST)", file=sys.stderr)
        return 2
    try:
        quiz = service.quiz(args.n, types, args.seed, args.lang, args.doc, rephrase=args.rephrase)
    except QuizError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    meta = {"n": len(quiz.items), "seed": args.seed, "types": list(types), "docs": args.doc or [], "lang": args.lang,
            "dropped_by_validation": dict(quiz.dropped), "duplicates_dropped": quiz.duplicates,
            "rephrasings_refused": quiz.rephrase_refused}
    try:
        text, notes = export(quiz.items, args.format, meta)
    except ExportError as exc:  # e.g. multiple-answer items asked for in Aiken: no file is written
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8-sig" if args.format == "csv" else "utf-8")
    else:
        sys.stdout.write(text)
    dropped = sum(quiz.dropped.values())
    print(f"{len(quiz.items)} items; {dropped} candidates failed validation and were dropped, "
          f"{quiz.duplicates} duplicates dropped", file=sys.stderr)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from audit.log import AuditLog, Filters, export_lines, stream_export

    try:
        log = AuditLog(get_settings().audit_url)
    except SQLAlchemyError as exc:
        print(f"error: cannot use the audit database ({exc.__class__.__name__}: {str(exc).splitlines()[0][:160]}); "
              f"check DATABASE_URL and that the server answers", file=sys.stderr)
        return 2
    filters = Filters(args.since or "", args.until or "", args.user or "", args.verdict or "", args.doc or "",
                      args.feedback or "", args.review or "", args.kind or "")
    if args.action == "kb":
        sys.stdout.write("".join(_kb_line(c) for c in log.kb_changes()))
        return 0
    if args.action == "export":
        if args.out:
            stream_export(log, args.format, filters, Path(args.out))
        else:
            sys.stdout.writelines(export_lines(log, args.format, filters))
        return 0
    stats = log.stats(filters)
    if args.json:
        text = json.dumps(stats, ensure_ascii=False, indent=1) + "\n"
    else:
        text = "\n".join([
            f"answers: {stats['answers']}  reviewed: {stats['reviewed']}  flagged: {stats['flagged_share']:.1%}",
            "per day: " + ", ".join(f"{d} {n}" for d, n in stats["per_day"].items()),
            "verdicts: " + ", ".join(f"{v} {n}" for v, n in stats["verdicts"].items()),
            "most cited: " + ", ".join(f"{u} {n}" for u, n in stats["most_cited"]),
            f"not covered (gaps in the policies): {stats['not_covered']}",
            *(f"  {q}" for q in stats["not_covered_questions"]),
        ]) + "\n"
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def _kb_line(change: dict) -> str:
    """One knowledge-base change as a line: when, who, what, which versions, how many units."""
    return (f"{change['created'][:19]}  {change['user']}  {change['action']}  {change['doc_id']}  "
            f"{change['old_hash'][:12] or '-'} -> {change['new_hash'][:12] or '-'}  "
            f"units {change['old_units']} -> {change['new_units']}\n")


def _verdict(value: str) -> str:
    """A --verdict value: one of the five verdicts, or argparse's usage error (exit code 2)."""
    from qa.screen import LABELS
    from qa.verdict import VERDICTS

    if value not in VERDICTS + LABELS:
        raise argparse.ArgumentTypeError(f"unknown verdict {value!r} (one of {', '.join(VERDICTS + LABELS)})")
    return value


def _date(value: str) -> str:
    """A --since/--until value: a real YYYY-MM-DD date, or argparse's usage error (exit code 2)."""
    from audit.log import day

    try:
        return day(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cmd_user(args: argparse.Namespace) -> int:
    import getpass
    import os

    from auth.users import add_user, list_users, remove_user

    path = get_settings().users_path
    try:
        if args.action == "list":
            for name, role in list_users(path):
                print(f"{name}\t{role}")
            return 0
        if not args.name:
            raise ValueError(f"user {args.action} needs a user name")
        if args.action == "remove":
            remove_user(path, args.name)
            print(f"user {args.name} removed from {path}")
            return 0
        role = args.role or dict(list_users(path)).get(args.name)
        if args.action == "passwd" and role is None:
            raise ValueError(f"no user named {args.name}")
        if role is None:
            raise ValueError("user add needs --role")
        password = os.environ.get("POLICYQA_PASSWORD") or getpass.getpass(f"password for {args.name}: ")
        add_user(path, args.name, role, password)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"user {args.name} ({role}) saved in {path} (password stored hashed)")
    return 0


def cmd_memory(args: argparse.Namespace) -> int:
    """Supervisors' reviewed answers that the assistant remembers (qa/memory.py)."""
    from dataclasses import asdict

    from qa.memory import ReviewedMemory

    memory = ReviewedMemory(get_settings().memory_path)
    if args.action == "remove":
        if not args.id:
            print("error: memory remove needs an answer id", file=sys.stderr)
            return 2
        if not memory.forget(args.id):
            print(f"error: no remembered answer with id {args.id}", file=sys.stderr)
            return 2
        print(f"removed {args.id} from the reviewed-answer memory")
        return 0
    entries = memory.entries()
    if args.action == "export":
        sys.stdout.write("".join(json.dumps(asdict(e), ensure_ascii=False) + "\n" for e in entries))
        return 0
    for e in entries:
        print(f"{e.answer_id[:8]}  {e.verdict:<12} {' '.join(e.units) or '-':<30} {e.reviewer:<10} {e.question}")
    print(f"{len(entries)} reviewed questions remembered ({get_settings().memory_path})")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from eval.runner import main as run_eval

    return run_eval(args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="app.py", description="Cited answers from the firm's policy documents.")
    sub = parser.add_subparsers(dest="command")

    p = sub.add_parser("serve", help="serve the web app (the default command)")
    p.add_argument("--host", help="default 127.0.0.1 (POLICYQA_HOST)")
    p.add_argument("--port", type=int, help="default 7860 (POLICYQA_PORT)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("index", help="build or refresh the index from corpus/")
    p.add_argument("--force", action="store_true", help="rebuild even if nothing changed")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("add", help="add a policy file (.txt .md .docx .pdf) to corpus/ and index it")
    p.add_argument("file")
    p.add_argument("--id")
    p.add_argument("--title")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--replace", action="store_true",
                   help="replace the document that has this file name (its old file is kept in corpus/.versions/)")
    p.set_defaults(func=cmd_add)

    p = sub.add_parser("remove", help="remove a document (its file and its units) and re-index")
    p.add_argument("id")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_remove)

    p = sub.add_parser("ask", help="answer a question (or one per line from stdin with --json)")
    p.add_argument("question", nargs="*")
    p.add_argument("--json", action="store_true", help="one JSON object per answer")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("screen", help="check a draft (message, post, flyer) against the policies, sentence by sentence")
    p.add_argument("file", nargs="?", help="the draft: .txt, .md or .docx; '-' or nothing reads the whole of stdin as one draft")
    p.add_argument("--json", action="store_true",
                   help='one JSON object: {"summary": ..., "sentences": [{"text", "label", "trigger", "citations", "advice"}]}')
    p.add_argument("--out", help="write the report (Markdown, or JSON with --json) to this file")
    p.set_defaults(func=cmd_screen)

    p = sub.add_parser("quiz", help="generate validated quiz items from the articles")
    p.add_argument("--n", type=int, default=20, help="number of items (default 20)")
    p.add_argument("--doc", action="append", help="document id (repeat for several; default all)")
    p.add_argument("--type", default="tf,choice,multi,cloze", help="comma-separated: tf, choice, multi, cloze")
    p.add_argument("--seed", type=int, default=0, help="the same seed gives the same quiz")
    p.add_argument("--format", choices=["json", "csv", "gift", "aiken", "md"], default="json")
    p.add_argument("--lang", choices=["zh", "en"], default="zh", help="en: English stems quoting the Chinese articles")
    p.add_argument("--rephrase", action="store_true",
                   help="let the configured language model reword stems (each re-validated; originals kept otherwise)")
    p.add_argument("--out", help="file to write (default: standard output)")
    p.set_defaults(func=cmd_quiz)

    p = sub.add_parser("audit", help="export the audit trail or print its statistics")
    p.add_argument("action", choices=["export", "stats", "kb"], help="kb: the knowledge-base changes (add, replace, remove)")
    p.add_argument("--format", choices=["csv", "jsonl", "gold"], default="jsonl",
                   help="export as CSV, JSONL, or supervisors' corrections as gold questions for eval/")
    p.add_argument("--since", type=_date, help="YYYY-MM-DD")
    p.add_argument("--until", type=_date, help="YYYY-MM-DD")
    p.add_argument("--user")
    p.add_argument("--verdict", type=_verdict, help="allowed, prohibited, required, info, not_covered; for screens ok, risk, breach")
    p.add_argument("--doc", help="a document id among the citations")
    p.add_argument("--feedback", choices=["up", "down", "comment", "none"])
    p.add_argument("--review", choices=["unreviewed", "correct", "incorrect", "follow_up"])
    p.add_argument("--kind", choices=["answer", "screen"], help="answers to questions, or draft screens")
    p.add_argument("--json", action="store_true", help="stats as JSON")
    p.add_argument("--out", help="file to write (default: standard output)")
    p.set_defaults(func=cmd_audit)

    p = sub.add_parser("user", help="add, change the password of, remove or list users (a running app sees it at once)")
    p.add_argument("action", choices=["add", "passwd", "remove", "list"],
                   help="add: a new user or a replacement; passwd: a new password (from POLICYQA_PASSWORD or a prompt)")
    p.add_argument("name", nargs="?", help="the user name (not for list)")
    p.add_argument("--role", choices=["broker", "trainer", "supervisor", "admin"], help="add: the user's role")
    p.set_defaults(func=cmd_user)

    p = sub.add_parser("memory", help="the reviewed answers the assistant remembers: list, export (JSONL) or remove")
    p.add_argument("action", choices=["list", "export", "remove"])
    p.add_argument("id", nargs="?", help="remove: the reviewed answer's id (its first 8 characters are enough)")
    p.set_defaults(func=cmd_memory)

    p = sub.add_parser("eval", help="run the gold question sets and print the metrics")
    p.add_argument("--set", action="append", dest="sets",
                   help="a gold set file (JSONL) to run alone; default: the dev sets (eval/sets.json) and the sealed sets (eval/sealed.json)")
    p.add_argument("--split", choices=["all", "dev", "added", "sealed", "external"], default="all",
                   help="dev: the tuning questions; added: open questions on six bulk laws added to the index; "
                        "sealed: blind realistic questions on the five documents; "
                        "external: blind questions on six public regulations added to the index")
    p.add_argument("--no-vocabulary", action="store_true", help="answer without the synonyms of qa/lexicon.json")
    p.add_argument("--no-loo", action="store_true", help="skip the leave-one-document-out table")
    p.add_argument("--no-drafts", action="store_true", help="skip screening the gold drafts (eval/drafts.json)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--verbose", action="store_true", help="print every miss")
    p.add_argument("--report", metavar="DIR", help="write report.md, charts and results.json to DIR")
    p.add_argument("--previous", metavar="DIR", help="report to diff against (default: the one already in DIR)")
    p.add_argument("--ablation", action="store_true", help="add the retrieval ablation table to the report")
    p.add_argument("--baseline", action="store_true", help="also run the LangChain-tutorial baseline (always with --report)")
    p.add_argument("--answerer", choices=["rules", "llm"], default="rules",
                   help="llm: the configured language model (validated, rule-based fallback), reported beside the rules")
    p.add_argument("--record", action="store_true", help="store this run as the regression gate's reference (eval/expected.json)")
    p.set_defaults(func=cmd_eval)

    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["serve", *(argv or sys.argv[1:])])
    if args.command == "ask" and not args.question and not args.json:
        parser.error("ask needs a question (or --json to read questions from stdin)")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
