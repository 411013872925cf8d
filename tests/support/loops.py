"""Run coroutines on an event loop that lives on its own thread."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
    return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout)
