"""Under gunicorn, as the README runs it: an over-long API URL is answered in JSON by the API, not
in HTML by gunicorn (whose default request-line limit, 4094 bytes, answered first)."""

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port: int, target: str) -> tuple[int, str, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", target)
        r = conn.getresponse()
        return r.status, r.getheader("Content-Type", ""), r.read()
    finally:
        conn.close()


@pytest.fixture
def gunicorns():
    """Two gunicorns started side by side (each loads the app: seconds): with gunicorn's
    defaults and with the project's config.  No database is touched: the requests below are
    answered before any view runs."""
    procs, ports = [], []
    for config_args in ([], ["-c", "config/gunicorn.conf.py"]):
        port = free_port()
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
        procs.append(subprocess.Popen(
            [str(Path(sys.executable).with_name("gunicorn")), "config.wsgi", *config_args, "-b", f"127.0.0.1:{port}", "-w", "1"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ))
        ports.append(port)
    try:
        for port in ports:
            deadline = time.monotonic() + 30
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
        yield ports
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)


def test_gunicorn_with_the_projects_config_lets_the_api_answer_a_long_url_in_json(gunicorns):
    long_target = "/api/v1/loans/?status=" + "a" * 6000
    default_port, configured_port = gunicorns
    # given gunicorn's defaults, gunicorn itself refuses the request line, in HTML
    status, content_type, _ = get(default_port, long_target)
    assert status == 414 and not content_type.startswith("application/json")
    # when gunicorn runs with the project's config, the API answers, in its error shape
    status, content_type, body = get(configured_port, long_target)
    assert status == 414 and content_type.startswith("application/json")
    assert json.loads(body)["error"]["code"] == "uri_too_long"
