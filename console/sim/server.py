"""Run an ASGI app with uvicorn in the running loop, on a given or free port."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Generator
from typing import Any

import uvicorn

from console.errors import SimulatorError

log = logging.getLogger("console.sim")


class _Server(uvicorn.Server):
    """uvicorn without its signal handlers: the host process owns SIGINT/SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class ServedApp:
    """One app listening on host:port until :meth:`stop`."""

    def __init__(self, app: Any, host: str, port: int = 0) -> None:
        self.app = app
        self.host = host
        self.requested_port = port
        self.port = 0
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self, timeout_s: float = 10.0) -> None:
        # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY on accepted sockets only when
        # the protocol says TCP; without it every answer waits ~40 ms (Nagle plus
        # delayed ACK between the response head and body).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.requested_port))
        except OSError as exc:
            sock.close()
            raise SimulatorError(
                f"cannot listen on {self.host}:{self.requested_port}: {exc.strerror}",
                hint="Pick another --port-base, or leave it out to use free ports.",
            ) from exc
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            host=self.host,
            port=self.port,
            lifespan="off",
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=1,
            ws="auto",
        )
        self._server = _Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        try:
            async with asyncio.timeout(timeout_s):
                while not self._server.started:
                    if self._task.done():
                        break
                    await asyncio.sleep(0.005)
        except TimeoutError:
            pass
        if not self._server.started:
            await self.stop()
            raise SimulatorError(f"the server on {self.url} did not start")

    async def stop(self, timeout_s: float = 3.0) -> None:
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        try:
            async with asyncio.timeout(timeout_s):
                await self._task
        except TimeoutError:
            self._server.force_exit = True
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        except Exception:
            log.exception("the server on %s failed while stopping", self.url)
        self._server = None
        self._task = None
