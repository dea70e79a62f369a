"""The production question asked from a plain thread, as the engine's monitors ask
it in `boop-console run`: that thread carries no Textual context, and composing the
dialog from it once crashed the console with NoActiveAppError."""

from __future__ import annotations

import asyncio
import contextvars
import threading

from test_ui_flows import make_app, settle
from ui_fake_engine import FakeEngine

from console.ui.production import ProductionAsker
from console.ui.screens.main import MainScreen
from console.ui.screens.simple import ConfirmProductionScreen

SIZE = (80, 24)


async def test_question_from_a_thread_with_no_app_context_shows_and_answers() -> None:
    app = make_app(FakeEngine())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        asker = ProductionAsker(answer_timeout_s=10)
        asker.attach(app, asyncio.get_running_loop())
        answers: list[bool] = []
        # An empty context: no active app, as in a thread the engine started.
        thread = threading.Thread(
            target=contextvars.Context().run,
            args=(lambda: answers.append(asker("boop.prod.test")),),
        )
        thread.start()
        try:
            for _ in range(100):
                await pilot.pause(0.05)
                if isinstance(app.screen, ConfirmProductionScreen):
                    break
            assert isinstance(app.screen, ConfirmProductionScreen)
            await pilot.press("y")
            await asyncio.to_thread(thread.join, 5)
        finally:
            asker.close()  # never leave the thread waiting for an answer
        assert answers == [True]
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
