"""OpenGate: many requests opened at once start a few per loop turn, in order, none lost."""

from __future__ import annotations

import asyncio

from agentdeck.client.gate import OpenGate


async def turns_of(gate: OpenGate, callers: int) -> list[int]:
    """Enter ``callers`` times at once; return the loop turn in which each caller got through."""
    turn = 0
    through: list[int] = [-1] * callers

    async def caller(i: int) -> None:
        await gate.enter()
        through[i] = turn

    async def count_turns() -> None:
        nonlocal turn
        while -1 in through:
            await asyncio.sleep(0)
            turn += 1

    await asyncio.gather(count_turns(), *(caller(i) for i in range(callers)))
    return through


async def test_a_burst_is_spread_over_turns_in_order() -> None:
    through = await turns_of(OpenGate(per_turn=10), 95)
    per_turn = {t: through.count(t) for t in set(through)}
    assert max(per_turn.values()) <= 10
    assert len(per_turn) >= 10  # 95 callers need at least ten turns
    assert through == sorted(through)  # first come, first through


async def test_a_lone_caller_never_waits() -> None:
    gate = OpenGate(per_turn=4)
    for _ in range(4):  # four callers in one turn: none of them suspends
        coro = gate.enter()
        try:
            coro.send(None)
        except StopIteration:
            pass
        else:
            raise AssertionError("enter() suspended with room left in the turn")


async def test_a_cancelled_waiter_takes_no_slot() -> None:
    gate = OpenGate(per_turn=1)
    tasks = [asyncio.create_task(gate.enter()) for _ in range(4)]
    await asyncio.sleep(0)  # one task got this turn's slot, three wait
    waiting = [task for task in tasks if not task.done()]
    assert len(waiting) == 3
    waiting[0].cancel()
    _, pending = await asyncio.wait(tasks, timeout=5)
    assert not pending
    assert waiting[0].cancelled()
    assert all(task.exception() is None for task in tasks if task is not waiting[0])


async def test_the_gate_survives_a_new_event_loop() -> None:
    gate = OpenGate(per_turn=2)
    await asyncio.gather(*(gate.enter() for _ in range(5)))

    def in_another_loop() -> None:
        async def burst() -> None:
            await asyncio.wait_for(asyncio.gather(*(gate.enter() for _ in range(5))), 5)

        asyncio.run(burst())

    await asyncio.to_thread(in_another_loop)
