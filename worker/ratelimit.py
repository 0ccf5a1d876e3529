"""The account-wide send rate: one GCRA limiter in Redis shared by every worker and thread.

GCRA keeps a single number per limiter, the theoretical arrival time (TAT) of the next
message. A send of cost c (SMS segments) is given the slot at max(TAT, now) and moves TAT on by
c / rate seconds. Time comes from Redis `TIME`, so clocks on different machines do not matter.
Callers book a slot and sleep until it (one round trip per message, no polling); a slot further
away than `max_wait` is not booked and the caller is told to come back later.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import redis

log = logging.getLogger(__name__)

DEFAULT_KEY = "mibarrio:ratelimit:send"

# KEYS[1] = limiter key; ARGV = interval per unit (µs), cost (units), max wait (µs).
# Returns {booked (1/0), wait in µs, the slot's start in µs since 1970 (Redis clock)}.
# Lua numbers are doubles: µs since 1970 fit exactly.
_GCRA = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])
local interval = tonumber(ARGV[1])
local cost = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then
  tat = now
end
local wait = tat - now
if wait > max_wait then
  return {0, wait, tat}
end
local new_tat = tat + interval * cost
local ttl_ms = math.ceil((new_tat - now) / 1000) + 1000
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', ttl_ms)
return {1, wait, tat}
"""


@dataclass(frozen=True)
class Slot:
    booked: bool
    wait: float  # seconds until the slot (booked) or until trying again makes sense
    at: float  # the slot's start, seconds since 1970 by Redis' clock (0.0: unlimited)


class RateLimiter:
    """`rate` units per second across the fleet; rate <= 0 means unlimited (no Redis at all)."""

    def __init__(
        self,
        connection: redis.Redis | None,
        rate: float,
        *,
        key: str = DEFAULT_KEY,
        max_wait: float = 5.0,
    ) -> None:
        self.rate = rate
        self.key = key
        self.max_wait = max_wait
        self._script = connection.register_script(_GCRA) if connection and rate > 0 else None

    @property
    def unlimited(self) -> bool:
        return self._script is None

    def book(self, cost: int = 1) -> Slot:
        """Book the next slot for `cost` units, unless it is more than max_wait away."""
        if self._script is None:
            return Slot(True, 0.0, 0.0)
        interval_us = 1_000_000 / self.rate
        booked, wait_us, at_us = self._script(
            keys=[self.key], args=[f"{interval_us:.3f}", max(cost, 1), int(self.max_wait * 1e6)]
        )
        return Slot(bool(booked), int(wait_us) / 1e6, int(at_us) / 1e6)

    def acquire(self, cost: int = 1, *, timeout: float | None = None) -> Slot | None:
        """Wait until a slot is ours and return it; None if that would take over `timeout` s."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            slot = self.book(cost)
            if slot.booked:
                if slot.wait > 0:
                    time.sleep(slot.wait)
                return slot
            # Everything up to max_wait is booked: come back when part of it has gone by.
            pause = max(slot.wait - self.max_wait, 0.01)
            if deadline is not None and time.monotonic() + pause > deadline:
                return None
            time.sleep(min(pause, 1.0))


# Pace a little under SEND_RATE: network jitter must not push a one-second window over it.
RATE_HEADROOM = 0.98


def account_limiter(connection: redis.Redis | None, send_rate: float) -> RateLimiter:
    """The one limiter every send shares (broadcasts and single messages alike)."""
    return RateLimiter(connection, send_rate * RATE_HEADROOM)
