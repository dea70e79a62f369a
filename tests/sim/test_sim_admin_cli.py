"""`sim fault/faults/clear` against something that is not a simulator; `sim` help."""

from __future__ import annotations

import argparse
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from console.cli import build_parser, main

pytestmark = pytest.mark.timeout(20)

PAGE = b"<html><head><title>Welcome to nginx!</title></head><body>hi</body></html>"


class Html(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def html_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Html)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/_sim"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_sim_faults_against_an_html_server_is_a_clear_error(
    html_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["sim", "faults", "--admin", html_url])
    err = capsys.readouterr().err
    assert code == 1
    assert f"{html_url}/faults answered HTTP 200" in err
    assert "not the simulator's JSON" in err
    assert "Welcome to nginx!" in err
    assert "Traceback" not in err and "JSONDecodeError" not in err


def test_sim_help_shows_a_percentage_that_can_be_copied() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    text = sub.choices["sim"].format_help()
    flat = " ".join(text.split())
    assert "--value 5% --for 60" in flat
    assert "%%" not in text
