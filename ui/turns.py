"""Long work takes turns, and a session waiting for its turn is told so.

Every session of a server runs in one Python process, so twenty sessions computing at once
each get a twentieth of it and all finish late. ``with turn("the phase map"):`` lets at most
``IOBS_WORK_SLOTS`` (default 2) long computations run at a time; a session that has to
wait sees "Queued: ..." with the number of computations running and waiting, updated every
half second until its turn comes (and a Stop click or a new setting still interrupts it:
each update is a Streamlit call, where Streamlit delivers reruns).

A semaphore, not a task queue library: the work already runs on the session's own script
thread (and the process pool or the Dask cluster behind it); only the order is new.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time

import streamlit as st

__all__ = ["SLOTS_ENV", "Turns", "turn", "turns"]

SLOTS_ENV = "IOBS_WORK_SLOTS"
POLL_S = 0.5


class Turns:
    """``slots`` long computations at a time; counts of those running and waiting."""

    def __init__(self, slots: int):
        if slots < 1:
            raise ValueError(f"{SLOTS_ENV} must be at least 1; got {slots}")
        self.slots, self.running, self.waiting = slots, 0, 0
        self._free = threading.Semaphore(slots)
        self._lock = threading.Lock()

    def _count(self, running: int = 0, waiting: int = 0) -> None:
        with self._lock:
            self.running += running
            self.waiting += waiting

    @contextlib.contextmanager
    def turn(self, what: str, notice=None):
        """Hold one slot for the block; while waiting, ``notice(text)`` every ``POLL_S``
        (default: an ``st.info`` that disappears when the turn comes)."""
        if not self._free.acquire(blocking=False):
            slot = None
            if notice is None:
                slot = st.empty()
                notice = lambda text: slot.info(text, icon=":material/hourglass_top:")  # noqa: E731
            self._count(waiting=1)
            t0 = time.monotonic()
            try:
                while True:
                    notice(f"**Queued:** the server is busy ({self.running} computation(s) "
                           f"running, {self.waiting} waiting, {self.slots} at a time). "
                           f"{what.capitalize()} starts when one finishes; waited "
                           f"{time.monotonic() - t0:.0f} s.")
                    if self._free.acquire(timeout=POLL_S):
                        break
            finally:
                self._count(waiting=-1)
            if slot is not None:
                slot.empty()
        self._count(running=1)
        try:
            yield
        finally:
            self._count(running=-1)
            self._free.release()


@st.cache_resource(show_spinner=False)
def turns() -> Turns:
    """The server's one :class:`Turns` (slots from ``$IOBS_WORK_SLOTS``)."""
    raw = os.environ.get(SLOTS_ENV, "2")
    try:
        slots = int(raw)
    except ValueError:
        raise ValueError(f"{SLOTS_ENV} must be a whole number of slots; got {raw!r}") from None
    return Turns(slots)


def turn(what: str):
    """``with turn("the phase map"): ...`` — wait for a slot (see the module docstring)."""
    return turns().turn(what)
