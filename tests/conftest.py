"""One real index per test session: the real corpus, the real models, a real Chroma store on disk."""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="session")
def workdir(tmp_path_factory) -> Path:
    """A private copy of corpus/ and a private data dir, so tests never touch the user's index."""
    base = tmp_path_factory.mktemp("policyqa")
    shutil.copytree(ROOT / "corpus", base / "corpus")
    return base


@pytest.fixture(scope="session")
def settings(workdir):
    os.environ["POLICYQA_CORPUS"] = str(workdir / "corpus")
    os.environ["POLICYQA_DATA"] = str(workdir / "data")
    import config

    return config.get_settings()


@pytest.fixture(scope="session")
def built(settings):
    from indexer.build import build_index

    return build_index(settings)


@pytest.fixture(scope="session")
def assistant(settings, built):
    from qa.answer import Assistant

    return Assistant.open(settings, build_if_missing=False)


@pytest.fixture(scope="session")
def external_assistant(settings, built):
    """The five documents plus the six public regulations of ../shared/external, each added as
    `python app.py add` does (eval/external.py), in the session's data dir."""
    from eval.external import prepare
    from qa.answer import Assistant

    return Assistant.open(prepare(settings), build_if_missing=False)


@pytest.fixture(scope="module")
def private_settings(built, settings, tmp_path_factory):
    """A corpus and data dir of their own, for tests that rebuild the index: the shared index the
    session's assistant reads stays untouched. The embedding cache is copied, so nothing is re-embedded."""
    from dataclasses import replace

    base = tmp_path_factory.mktemp("private")
    shutil.copytree(settings.corpus_dir, base / "corpus")
    (base / "data").mkdir()
    shutil.copyfile(settings.cache_path, base / "data" / settings.cache_path.name)
    return replace(settings, corpus_dir=base / "corpus", data_dir=base / "data")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(settings, tmp_path_factory, extra_env: dict | None = None):
    """Start `python app.py serve` on a free port over a copy of the session's corpus and index;
    yields a dict with url, corpus and data, and stops the server afterwards."""
    import subprocess
    import time
    import urllib.error
    import urllib.request

    base = tmp_path_factory.mktemp("server")
    shutil.copytree(settings.corpus_dir, base / "corpus")
    shutil.copytree(settings.data_dir, base / "data", ignore=shutil.ignore_patterns("audit.sqlite*", "users.json"))
    port = free_port()
    env = os.environ | {"POLICYQA_CORPUS": str(base / "corpus"), "POLICYQA_DATA": str(base / "data")} | (extra_env or {})
    log = open(base / "server.log", "w")  # noqa: SIM115 (closed when the server stops)
    proc = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "serve", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 120
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except urllib.error.HTTPError:  # answering (e.g. a login page)
            break
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                pytest.fail("the app did not start:\n" + (base / "server.log").read_text())
            time.sleep(0.3)
    try:
        yield {"url": url, "corpus": base / "corpus", "data": base / "data"}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def web_server(built, settings, tmp_path_factory):
    """The real app on a free localhost port, single-user (no users configured)."""
    yield from start_app(settings, tmp_path_factory)


@pytest.fixture(scope="session")
def postgres_url():
    """A real PostgreSQL server: POLICYQA_TEST_POSTGRES_URL if set, otherwise a private cluster this
    fixture initialises and starts on a free localhost port (Debian's postgresql package)."""
    import subprocess
    import tempfile
    import time

    given = os.environ.get("POLICYQA_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    if not bins:
        pytest.fail("PostgreSQL is not installed: apt-get install postgresql (.ci/run does)")
    pg = bins[-1]
    base = Path(tempfile.mkdtemp(prefix="policyqa-pg-"))
    os.chmod(base, 0o777)
    as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []  # postgres refuses to run as root
    subprocess.run([*as_pg, str(pg / "initdb"), "-D", str(base / "data"), "-A", "trust", "-U", "policyqa",
                    "--no-sync", "-E", "UTF8"], check=True, capture_output=True)
    port = free_port()
    log = open(base / "postgres.log", "w")  # noqa: SIM115
    proc = subprocess.Popen([*as_pg, str(pg / "postgres"), "-D", str(base / "data"), "-p", str(port),
                             "-k", str(base), "-h", "127.0.0.1", "-c", "fsync=off", "-c", "max_connections=100"],
                            stdout=log, stderr=subprocess.STDOUT)
    for _ in range(100):
        ready = subprocess.run([str(pg / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)], capture_output=True, check=False)
        if ready.returncode == 0:
            break
        time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("PostgreSQL did not start:\n" + (base / "postgres.log").read_text())
    subprocess.run([str(pg / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "policyqa", "policyqa"], check=True)
    try:
        yield f"postgresql+psycopg://policyqa@127.0.0.1:{port}/policyqa"
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()
        shutil.rmtree(base, ignore_errors=True)


def fresh_postgres_database(server: str) -> str:
    """A new, empty database on the PostgreSQL server; returns its URL."""
    import uuid

    from sqlalchemy import create_engine, text

    name = "audit_" + uuid.uuid4().hex[:12]
    engine = create_engine(server, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return server.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(params=["sqlite", "postgresql"])
def audit_url(request, tmp_path):
    """A fresh, empty audit database on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'audit.sqlite'}"
    return fresh_postgres_database(request.getfixturevalue("postgres_url"))


def fire_event(url: str, name: str, password: str, elem_id: str, trigger: str, data_for) -> dict:
    """Log in and fire the event `trigger` ("click", "input"…, or "load": the page's own load event
    that fills `elem_id`) of the component with this elem_id, through Gradio's queue as the page
    would; `data_for(n)` gives its n inputs. Returns the completed message."""
    import json
    import uuid

    import httpx

    with httpx.Client(base_url=url, timeout=60) as http:
        assert http.post("login", data={"username": name, "password": password}).status_code == 200
        config = http.get("config").json()
        prefix = config["api_prefix"].lstrip("/")
        target = next(c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == elem_id)
        if trigger == "load":
            fn = next(i for i, d in enumerate(config["dependencies"])
                      if any(t[1] == "load" for t in d["targets"]) and target in d["outputs"])
        else:
            fn = next(i for i, d in enumerate(config["dependencies"]) if [target, trigger] in d["targets"])
        session = uuid.uuid4().hex[:10]
        data = data_for(len(config["dependencies"][fn]["inputs"]))
        http.post(f"{prefix}/queue/join", json={"data": data, "fn_index": fn,
                                                "trigger_id": None if trigger == "load" else target,
                                                "session_hash": session, "event_data": None}).raise_for_status()
        with http.stream("GET", f"{prefix}/queue/data", params={"session_hash": session}) as stream:
            for line in stream.iter_lines():
                if line.startswith("data:") and (message := json.loads(line[5:])).get("msg") == "process_completed":
                    return message
    raise AssertionError("no answer from the queue")


@pytest.fixture(scope="module")
def browser(request):
    """Headless Chromium (Debian's) for one test module; the module's ARTIFACTS folder, where its
    screenshots go, starts empty."""
    from test_web import CHROMIUM, CHROMIUM_ARGS

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (.ci/run does)")
    from playwright.sync_api import sync_playwright

    artifacts = request.module.ARTIFACTS
    shutil.rmtree(artifacts, ignore_errors=True)
    artifacts.mkdir(parents=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
