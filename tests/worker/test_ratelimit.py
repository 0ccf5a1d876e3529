"""The account-wide limiter (GCRA in Redis): exact pacing across threads and connections."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import redis

from worker.ratelimit import RateLimiter


def busiest_second(times: list[float]) -> int:
    """Most events in any one-second window [t, t + 1)."""
    times = sorted(times)
    busiest, j = 0, 0
    for i, start in enumerate(times):
        while j < len(times) and times[j] < start + 1.0:
            j += 1
        busiest = max(busiest, j - i)
    return busiest


@dataclass
class Burst:
    slots: list[float]  # the slots the limiter booked (Redis clock), sorted
    early: list[float]  # seconds by which an acquire() came back before its slot


def burst(limiters: list[RateLimiter], threads: int, each: int, cost: int = 1) -> Burst:
    """`threads` threads, spread over the limiters, each acquiring `each` times.

    Two clocks on purpose: the booked slots say what the limiter promised, exactly; the
    return times say the callers were really held back (they jitter with thread wakeups).
    """
    result = Burst([], [])
    lock = threading.Lock()

    def run(limiter: RateLimiter) -> None:
        for _ in range(each):
            slot = limiter.acquire(cost)
            back = time.time()  # Redis runs on this machine: the same wall clock
            assert slot is not None
            with lock:
                result.slots.append(slot.at)
                result.early.append(slot.at - back)

    workers = [
        threading.Thread(target=run, args=(limiters[i % len(limiters)],)) for i in range(threads)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(30)
    result.slots.sort()
    return result


@pytest.fixture
def other_conn(redis_url: str) -> Iterator[redis.Redis]:
    """A second connection: another worker process's view of the same Redis."""
    conn = redis.Redis.from_url(redis_url)
    yield conn
    conn.close()


@pytest.mark.slow  # waits out its slots: 120 sends at 50/s, 2.4 s
def test_a_burst_at_50_per_second_never_books_more_than_50_in_any_second(
    redis_conn: redis.Redis, other_conn: redis.Redis
) -> None:
    limiters = [RateLimiter(redis_conn, 50), RateLimiter(other_conn, 50)]
    sent = burst(limiters, threads=60, each=2)  # 120 sends wanted at once

    assert len(sent.slots) == 120
    assert busiest_second(sent.slots) == 50
    assert max(sent.early) < 0.005  # nobody went ahead of their slot
    # 50 per second on average over the whole burst: 119 intervals of 1/50 s, as booked.
    # (When the threads came back depends on how busy the machine is, not on the limiter.)
    assert sent.slots[-1] - sent.slots[0] == pytest.approx(119 / 50, abs=0.002)


@pytest.mark.slow  # waits out its slots: 90 segments at 60/s, 1.5 s
def test_cost_is_counted_in_segments(redis_conn: redis.Redis) -> None:
    limiter = RateLimiter(redis_conn, 60)
    sent = burst([limiter], threads=10, each=3, cost=3)  # 30 messages of 3 segments
    # 90 segments at 60/s: the last message's slot is 87/60 s after the first one's.
    assert sent.slots[-1] - sent.slots[0] == pytest.approx(87 / 60, abs=0.002)
    assert busiest_second(sent.slots) == 20
    assert max(sent.early) < 0.005


def test_unlimited_rate_never_touches_redis() -> None:
    limiter = RateLimiter(None, 0)
    assert limiter.unlimited
    started = time.monotonic()
    assert all(limiter.acquire(5) for _ in range(1000))
    assert time.monotonic() - started < 0.5


def test_a_full_schedule_is_not_booked_further_than_max_wait(redis_conn: redis.Redis) -> None:
    limiter = RateLimiter(redis_conn, 10, max_wait=0.5)
    booked = [limiter.book().booked for _ in range(8)]
    assert booked == [True] * 6 + [False] * 2  # 0.0, 0.1 ... 0.5 s ahead; then no
    assert not limiter.acquire(1, timeout=0.05)
    time.sleep(0.3)
    assert limiter.book().booked


def test_limiters_on_different_keys_are_independent(redis_conn: redis.Redis) -> None:
    first = RateLimiter(redis_conn, 1, key="mibarrio:test:a", max_wait=0)
    second = RateLimiter(redis_conn, 1, key="mibarrio:test:b", max_wait=0)
    assert first.book().booked and second.book().booked
    assert not first.book().booked
