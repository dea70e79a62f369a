"""Asking the person in the console before the first call to a production host.

The engine runtime asks ``confirm_production(host) -> bool`` from a worker thread
(console.engine.runtime). :class:`ProductionAsker` is that function for the
interactive console: it waits (bounded) for the app to show its first frame, opens
a dialog naming the host on the app's loop and returns the answer. Every wait is
bounded, and closing the app answers False at once, so that the asking thread never
keeps the process alive after a quit.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
import time
from typing import TYPE_CHECKING

from console.ui.screens.simple import ConfirmProductionScreen

if TYPE_CHECKING:
    from console.ui.app import ConsoleApp

log = logging.getLogger("console.ui.production")

ANSWER_TIMEOUT_S = 300.0
"""How long the dialog waits for a person before it counts as a no."""

START_WAIT_S = 30.0
"""How long a question waits for the app's first frame before it counts as a no."""

_POLL_S = 0.2


class ProductionAsker:
    """``confirm_production`` for the engine: a yes/no dialog in the running app."""

    def __init__(
        self,
        *,
        answer_timeout_s: float = ANSWER_TIMEOUT_S,
        start_wait_s: float = START_WAIT_S,
    ) -> None:
        self.answer_timeout_s = answer_timeout_s
        self.start_wait_s = start_wait_s
        self._app: ConsoleApp | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = threading.Event()

    def attach(self, app: ConsoleApp, loop: asyncio.AbstractEventLoop) -> None:
        """The app that asks, and the loop it runs on."""
        self._app, self._loop = app, loop

    def close(self) -> None:
        """The app has ended: every pending and later question is a no."""
        self._closed.set()

    def __call__(self, host: str) -> bool:
        """Blocking (worker thread): True only if the person said yes in time."""
        app, loop = self._app, self._loop
        if app is None or loop is None or self._closed.is_set():
            log.info("production %s not confirmed: the console is not running", host)
            return False
        deadline = time.monotonic() + self.start_wait_s
        while not app.started.is_set():
            if self._closed.is_set() or time.monotonic() >= deadline:
                log.info("production %s not confirmed: the console never started", host)
                return False
            app.started.wait(_POLL_S)
        future: concurrent.futures.Future[bool] = concurrent.futures.Future()
        screen = ConfirmProductionScreen(host)
        try:
            # call_next runs the push inside the app's own context: a coroutine
            # scheduled on the loop from this thread has no active app, and
            # composing the dialog there raised NoActiveAppError.
            loop.call_soon_threadsafe(app.call_next, self._ask, app, screen, future)
        except RuntimeError:  # the loop has closed
            return False
        answer = self._wait(future, host)
        if future.cancelled() or not future.done():  # nobody answered in time
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(app.call_next, self._withdraw, app, screen)
        return answer

    def _wait(self, future: concurrent.futures.Future[bool], host: str) -> bool:
        # Polled rather than one long wait, so that a quit answers at once.
        deadline = time.monotonic() + self.answer_timeout_s
        while time.monotonic() < deadline and not self._closed.is_set():
            try:
                return future.result(timeout=_POLL_S)
            except concurrent.futures.TimeoutError:
                continue
            except (concurrent.futures.CancelledError, RuntimeError):
                return False
        future.cancel()
        log.info("production %s not confirmed: no answer", host)
        return False

    def _ask(
        self,
        app: ConsoleApp,
        screen: ConfirmProductionScreen,
        future: concurrent.futures.Future[bool],
    ) -> None:
        def answered(yes: bool | None) -> None:
            if not future.done():
                future.set_result(bool(yes))

        app.push_screen(screen, answered)

    @staticmethod
    def _withdraw(app: ConsoleApp, screen: ConfirmProductionScreen) -> None:
        """No answer in time: the question goes away (and counts as a no)."""
        if app.screen is screen:
            app.pop_screen()
