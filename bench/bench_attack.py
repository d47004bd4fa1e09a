"""Ordinary answers while an attacker sends maximum-size inputs (issue 14 floor).

    python bench/bench_attack.py [--seconds 60] [--clients 8] [--data DIR]

Starts `python app.py serve` on 127.0.0.1 (a free port) over a copy of the data dir (DIR, default the
configured one; built first if it holds no index), with two users: a broker for the ordinary clients
and an admin for the attacker. For ``--seconds``, ``--clients`` threads ask ordinary questions through
the /ask API while one attacker cycles through: the longest question, a 20,000-character previous
turn, wrong passwords, and uploads of the largest allowed size. Every request goes to 127.0.0.1 and
the attacker stops after ``--max-attacks`` requests. Prints p50/p95 of the ordinary answers.

Floor: p95 <= 1 s on the 2-core machine.
"""
from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "bench-password-1"
QUESTIONS = [
    "我能以公司名义和客户签合同吗？", "Can I accept a gift from a client?", "投资咨询合同要保存多少年？",
    "外场活动要提前多少天申请？", "客户开发主管有哪些职责？", "公司的年假有几天？", "会议结束后怎么送客户？",
    "Can I tell a client the stock will surely go up?", "我能替客户签字吗", "窜货怎么处理？",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def start_server(data: Path, users: Path) -> tuple[subprocess.Popen, str]:
    """The real app on a free localhost port; returns the process and its URL once it answers."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    env = os.environ | {"POLICYQA_DATA": str(data), "POLICYQA_USERS_FILE": str(users)}
    server = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "serve", "--port", str(port)], cwd=ROOT,
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 180
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            return server, url
        except urllib.error.HTTPError:
            return server, url
        except OSError:
            if server.poll() is not None or time.time() > deadline:
                server.kill()
                raise SystemExit("the server did not start")
            time.sleep(0.3)


def ordinary(url: str, until: float, times: list[float], errors: list[str], offset: int, think: float) -> None:
    """One ordinary user: asks question after question (``think`` seconds apart) until the time is up."""
    from gradio_client import Client

    client = Client(url, auth=("broker1", PASSWORD), verbose=False)
    i = offset
    while time.time() < until:
        start = time.perf_counter()
        try:
            answer = client.predict(QUESTIONS[i % len(QUESTIONS)], "", api_name="/ask")
            if answer.get("error"):
                errors.append(answer["error"])
            times.append(time.perf_counter() - start)
        except Exception as exc:  # counted, not hidden
            errors.append(f"{type(exc).__name__}: {exc}")
        i += 1
        time.sleep(think)


def attacker(url: str, until: float, limit: int, counts: dict[str, int], max_question: int, max_upload: int,
             only: str = "") -> None:
    """Maximum-size inputs in turn, as fast as the server takes them, at most ``limit`` requests."""
    from gradio_client import Client

    client = Client(url, auth=("admin1", PASSWORD), verbose=False)
    web = httpx.Client(base_url=url, timeout=60)
    web.post("login", data={"username": "admin1", "password": PASSWORD})
    long_question = ("我能否以公司名义与客户签订合同并收受礼品" * 50)[:max_question]
    long_previous = "我能以公司名义和客户签合同吗？" * 1400
    blob = b"a" * max_upload
    moves = [
        ("longest question", lambda: client.predict(long_question, "", api_name="/ask")),
        ("longest previous turn", lambda: client.predict("那如果经过公司批准呢？", long_previous, api_name="/ask")),
        ("bad login", lambda: httpx.post(url + "login", data={"username": "admin1", "password": "wrong"}, timeout=60)),
        ("bad login (unknown name)", lambda: httpx.post(url + "login", data={"username": "x", "password": "y"}, timeout=60)),
        ("largest upload", lambda: web.post("gradio_api/upload", files={"files": ("big.txt", blob, "text/plain")})),
    ]
    moves = [m for m in moves if only in m[0]]  # --only: one kind of attack, to see what each costs
    n = 0
    while time.time() < until and n < limit:
        name, move = moves[n % len(moves)]
        try:
            move()
        except Exception:  # an attack refused by an error is still an attack sent
            pass
        counts[name] = counts.get(name, 0) + 1
        n += 1


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--max-attacks", type=int, default=5_000)
    parser.add_argument("--think", type=float, default=0.0, help="seconds an ordinary client waits between questions")
    parser.add_argument("--only", default="", help="attacks whose name holds this text (e.g. upload, login, longest)")
    parser.add_argument("--no-attacker", action="store_true", help="the baseline: ordinary clients only")
    parser.add_argument("--data", help="a data dir holding an index (copied; default: the configured one)")
    args = parser.parse_args()

    import config
    from auth.users import add_user
    from indexer.build import build_index

    settings = config.get_settings()
    source = Path(args.data) if args.data else settings.data_dir
    with tempfile.TemporaryDirectory() as tmp:
        data, users = Path(tmp) / "data", Path(tmp) / "users.json"
        if (source / "index").exists():
            shutil.copytree(source, data, ignore=shutil.ignore_patterns("audit.sqlite*", "users.json"))
        os.environ["POLICYQA_DATA"] = str(data)
        build_index(config.get_settings())  # a no-op on a copied, current index
        add_user(users, "broker1", "broker", PASSWORD)
        add_user(users, "admin1", "admin", PASSWORD)
        server, url = start_server(data, users)
        try:
            times: list[float] = []
            errors: list[str] = []
            counts: dict[str, int] = {}
            until = time.time() + args.seconds
            threads = [threading.Thread(target=ordinary, args=(url, until, times, errors, i, args.think))
                       for i in range(args.clients)]
            threads += [] if args.no_attacker else [threading.Thread(target=attacker, args=(url, until, args.max_attacks, counts,
                                                                   settings.max_question_chars,
                                                                   settings.max_upload_bytes, args.only))]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        finally:
            server.terminate()
            server.wait(timeout=20)

    if not times:
        print("no ordinary answer completed;", errors[:3])
        return 1
    p50, p95 = statistics.median(times), percentile(times, 0.95)
    print(f"{args.clients} ordinary clients (think {args.think:g} s), {args.seconds:.0f} s, {len(times)} answers, {len(errors)} errors")
    print("attacker sent: " + (", ".join(f"{k} ×{v}" for k, v in counts.items()) or "nothing (baseline)"))
    print(f"ordinary answers: p50 {p50 * 1000:.0f} ms  p95 {p95 * 1000:.0f} ms  max {max(times) * 1000:.0f} ms"
          "   (floor p95 1000 ms)")
    ok = p95 <= 1.0
    print("floor met" if ok else "FLOOR MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
