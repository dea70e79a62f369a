"""Helpers for the metrics tests: a fake clock and a real local exposition server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry, generate_latest

from console.metrics.clock import Clock


class FakeTime:
    """A monotonic and a wall clock the test moves by hand."""

    def __init__(self, wall: float = 1_800_000_000.0) -> None:
        self.mono = 1000.0
        self.wall_t = wall

    def advance(self, seconds: float) -> None:
        self.mono += seconds
        self.wall_t += seconds

    def clock(self) -> Clock:
        return Clock(lambda: self.mono, lambda: self.wall_t)


@dataclass
class ExpositionServer:
    """Serves a prometheus_client registry on 127.0.0.1:0 from a thread."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    delay_s: float = 0.0
    status: int = 200
    body: bytes | None = None
    url: str = ""
    requests: int = 0


@contextmanager
def exposition_server(server: ExpositionServer) -> Iterator[ExpositionServer]:
    state = server

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests += 1
            if state.delay_s:
                time.sleep(state.delay_s)
            body = (
                state.body
                if state.body is not None
                else generate_latest(state.registry)
            )
            try:
                self.send_response(state.status)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            self.do_GET()

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{httpd.server_address[1]}/metrics"
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def auth_text(success: float, failure: float = 0, error: float = 0) -> str:
    return (
        "# TYPE boop_auth_requests_total counter\n"
        f'boop_auth_requests_total{{result="success"}} {success}\n'
        f'boop_auth_requests_total{{result="failure"}} {failure}\n'
        f'boop_auth_requests_total{{result="error"}} {error}\n'
    )
