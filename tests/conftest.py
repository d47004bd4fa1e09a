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


@pytest.fixture(scope="module")
def web_server(built, settings, tmp_path_factory):
    """The real app (`python app.py serve`) on a free localhost port, over a copy of the session's
    corpus and index, so uploads and removals in a test module touch nothing else."""
    import subprocess
    import time
    import urllib.request

    base = tmp_path_factory.mktemp("server")
    shutil.copytree(settings.corpus_dir, base / "corpus")
    shutil.copytree(settings.data_dir, base / "data")
    port = free_port()
    env = os.environ | {"POLICYQA_CORPUS": str(base / "corpus"), "POLICYQA_DATA": str(base / "data")}
    log = open(base / "server.log", "w")
    proc = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "serve", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 120
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                pytest.fail("the app did not start:\n" + (base / "server.log").read_text())
            time.sleep(0.3)
    yield {"url": url, "corpus": base / "corpus", "data": base / "data"}
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()
