"""The line in front of the language model: one answer at a time, first come first served, with a wait budget.

A 1.5B model on two cores writes ~30 tokens/s alone and 1-5 tokens/s when anything else runs
beside it at two threads (docs/benchmarks.md "llm-path"). So answers take turns, a question
waiting for the model is told its place in line, and one that would wait longer than the
budget is answered by quoting the articles instead: at once, when the answers ahead of it
would outlast the budget at the pace of recent turns. While a turn is taken, :meth:`busy`
says whether other work is going on (another question being searched, an ingestion): then
the model runs on one thread, which holds its speed, instead of two, which collapse.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from qa.errors import QAError


class LineTooLong(QAError):
    """The model would not be free within the wait budget."""


class ModelLine:
    """A fair queue for one model, and a count of the work in flight beside it."""

    def __init__(self, budget: float = 30.0):
        """``budget``: seconds a question may wait for the model before it is answered without it."""
        self.budget = budget
        self._tickets = itertools.count()
        self._waiting: list[int] = []
        self._serving: int | None = None
        self._active = 0  # questions being answered (searching, reading, or waiting here)
        self._outside: Callable[[], bool] = lambda: False  # other work, e.g. an ingestion
        self._cond = threading.Condition()
        self._turn = 0.0  # seconds a turn at the model takes, averaged over recent turns (0: none yet)
        self._since = 0.0  # when the current turn began

    def watch(self, outside: Callable[[], bool]) -> None:
        """Count ``outside()`` (e.g. "an ingestion is running") as load on the machine."""
        self._outside = outside

    @contextmanager
    def question(self) -> Iterator[None]:
        """Mark one question in flight (its whole answer, not only its turn at the model)."""
        with self._cond:
            self._active += 1
        try:
            yield
        finally:
            with self._cond:
                self._active -= 1

    def busy(self) -> bool:
        """Whether anything besides the answer being written uses the machine right now."""
        with self._cond:
            return self._active > 1 or bool(self._outside())

    def join(self) -> int:
        """Take a ticket for the model; pair every ticket with :meth:`leave`."""
        with self._cond:
            ticket = next(self._tickets)
            self._waiting.append(ticket)
            return ticket

    def wait(self, ticket: int) -> Iterator[int]:
        """How many answers are ahead of the ticket, about every second, until its turn comes.

        Raises :class:`LineTooLong` when the turn does not come within the budget.
        """
        deadline = time.monotonic() + self.budget
        while True:
            with self._cond:
                if self._serving is None and self._waiting[0] == ticket:
                    self._waiting.remove(ticket)
                    self._serving, self._since = ticket, time.monotonic()
                    return
                left = deadline - time.monotonic()
                place = self._waiting.index(ticket) + (self._serving is not None)
                if left <= 0 or self._expected_wait(place) > left:
                    raise LineTooLong(f"the language model is busy (more than {self.budget:.0f} s to wait)")
            yield place
            with self._cond:
                if self._serving is not None or self._waiting[0] != ticket:
                    self._cond.wait(timeout=min(1.0, max(0.0, deadline - time.monotonic())))

    def _expected_wait(self, place: int) -> float:
        """Seconds until a question ``place`` answers back gets its turn, by recent turns (0 when unknown)."""
        if not self._turn or not place:
            return 0.0
        current_left = max(0.0, self._turn - (time.monotonic() - self._since)) if self._serving is not None else 0.0
        return current_left + (place - (self._serving is not None)) * self._turn

    def leave(self, ticket: int) -> None:
        """Give up the ticket: the model's turn is over, or the wait was abandoned."""
        with self._cond:
            if self._serving == ticket:
                took = time.monotonic() - self._since
                self._turn = took if not self._turn else 0.7 * self._turn + 0.3 * took
                self._serving = None
            elif ticket in self._waiting:
                self._waiting.remove(ticket)
            self._cond.notify_all()

    @property
    def waiting(self) -> int:
        """Questions waiting for the model now."""
        with self._cond:
            return len(self._waiting)
