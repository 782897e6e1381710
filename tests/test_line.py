"""The line in front of the language model: turns in order, places told, the wait budget kept."""

import threading
import time

import pytest

from qa.line import LineTooLong, ModelLine


def test_turns_come_in_order_and_waiters_hear_their_place():
    line = ModelLine(budget=10)
    first = line.join()
    assert list(line.wait(first)) == []  # nobody ahead: its turn at once
    second, third = line.join(), line.join()
    places = {second: [], third: []}
    order = []

    def take(ticket):
        for place in line.wait(ticket):
            places[ticket].append(place)
        order.append(ticket)
        line.leave(ticket)

    threads = [threading.Thread(target=take, args=(t,)) for t in (third, second)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    line.leave(first)
    for t in threads:
        t.join(timeout=10)
    assert order == [second, third]
    assert places[second][0] == 1 and places[third][0] == 2


def test_a_wait_past_the_budget_gives_up_and_frees_its_place():
    line = ModelLine(budget=0.5)
    busy = line.join()
    list(line.wait(busy))
    late = line.join()
    with pytest.raises(LineTooLong, match="busy"):
        list(line.wait(late))
    line.leave(late)
    line.leave(busy)
    assert line.waiting == 0
    again = line.join()
    assert list(line.wait(again)) == []


def test_busy_counts_other_questions_and_outside_work():
    line = ModelLine()
    ingesting = threading.Event()
    line.watch(ingesting.is_set)
    with line.question():
        assert not line.busy()
        with line.question():
            assert line.busy()
        ingesting.set()
        assert line.busy()


def test_a_line_that_would_outlast_the_budget_is_left_at_once():
    line = ModelLine(budget=0.5)
    first = line.join()
    list(line.wait(first))
    time.sleep(0.3)
    line.leave(first)  # turns take about 0.3 s
    serving, ahead = line.join(), line.join()
    list(line.wait(serving))
    late = line.join()
    started = time.monotonic()
    with pytest.raises(LineTooLong):
        list(line.wait(late))  # 0.3 s left of the current turn + 0.3 s for the one ahead > 0.5 s
    assert time.monotonic() - started < 0.2  # not after waiting out the budget
    for ticket in (late, ahead, serving):
        line.leave(ticket)
    assert line.waiting == 0
