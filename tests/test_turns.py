"""Long work takes turns: at most ``slots`` computations at once, the others wait and are
told so, and a waiting session that is interrupted leaves the counts as they were."""

from __future__ import annotations

import threading
import time

import pytest

from ui.turns import Turns


def _wait_until(cond, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_a_session_beyond_the_slots_waits_and_is_told_it_is_queued():
    turns, notices, order = Turns(1), [], []
    release = threading.Event()

    def first():
        with turns.turn("the first map", notice=notices.append):
            order.append("first starts")
            release.wait(10)
        order.append("first ends")

    def second():
        with turns.turn("the second map", notice=notices.append):
            order.append("second starts")

    a = threading.Thread(target=first)
    a.start()
    _wait_until(lambda: turns.running == 1)
    b = threading.Thread(target=second)
    b.start()
    _wait_until(lambda: turns.waiting == 1)
    assert order == ["first starts"] and notices
    assert "Queued" in notices[0] and "1 computation(s) running, 1 waiting" in notices[0]
    assert "The second map starts when one finishes" in notices[0]
    release.set()
    a.join(10), b.join(10)
    assert order == ["first starts", "first ends", "second starts"]
    assert (turns.running, turns.waiting) == (0, 0)


def test_an_interrupted_wait_gives_back_its_place():
    turns = Turns(1)

    class Rerun(Exception):      # what Streamlit raises inside a call when a rerun comes
        pass

    def interrupt(text):
        raise Rerun

    with turns.turn("held"):
        with pytest.raises(Rerun):
            with turns.turn("interrupted", notice=interrupt):
                pass
        assert (turns.running, turns.waiting) == (1, 0)
    with turns.turn("next", notice=interrupt):   # the slot is free again: no wait
        assert turns.running == 1


def test_slots_below_one_are_refused():
    with pytest.raises(ValueError, match="IOBS_WORK_SLOTS must be at least 1; got 0"):
        Turns(0)
