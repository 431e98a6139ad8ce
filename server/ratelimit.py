"""A token bucket per client address, for the public pages and API, and for failed sign-ins
(the login form and HTTP Basic on the API share one budget per address).

It lives in the memory of one server process: with several workers each keeps its own
buckets, so a deployment with more than one worker relies on the reverse proxy's limit
(nginx ``limit_req``) for a real bound. The client address is the TCP peer; behind a reverse
proxy, run uvicorn with ``--proxy-headers`` and the proxy's address in ``--forwarded-allow-ips``
so the peer is the citizen's address, not the proxy's.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import HTTPConnection


@dataclass(frozen=True)
class Limit:
    burst: float
    """Requests allowed at once."""
    per_second: float
    """Requests allowed per second in the long run."""


@dataclass(frozen=True)
class RateLimits:
    public: Limit = Limit(burst=120, per_second=4.0)
    """Follow-my-ticket, live wait and embed pages. Generous: a waiting room's phones often
    share one public address (the town hall's Wi-Fi)."""
    login: Limit = Limit(burst=10, per_second=1 / 6)
    """Failed sign-ins (the login form, and HTTP Basic on the API): ten at once, then one
    every six seconds."""


def client_address(request: HTTPConnection) -> str:
    return request.client.host if request.client else "unknown"


class TokenBuckets:
    """Buckets keyed by client address; the least recently used are forgotten past
    ``max_clients``, so memory stays bounded whatever the traffic."""

    def __init__(
        self, limit: Limit, max_clients: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.max_clients = max_clients
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def _level(self, key: str, now: float) -> float:
        tokens, at = self._buckets.get(key, (self.limit.burst, now))
        return min(self.limit.burst, tokens + (now - at) * self.limit.per_second)

    def allow(self, key: str, cost: float = 1.0) -> bool:
        """Takes ``cost`` tokens from ``key``'s bucket; False (nothing taken) when empty."""
        now = self.clock()
        with self._lock:
            tokens = self._level(key, now)
            ok = tokens >= cost
            self._buckets[key] = (tokens - cost if ok else tokens, now)
            self._buckets.move_to_end(key)
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
            return ok

    def has(self, key: str, cost: float = 1.0) -> bool:
        """Whether ``key`` could spend ``cost`` now, without spending it."""
        now = self.clock()
        with self._lock:
            return self._level(key, now) >= cost

    def retry_after(self, key: str, cost: float = 1.0) -> int:
        """Whole seconds until ``key`` has ``cost`` tokens again."""
        now = self.clock()
        with self._lock:
            missing = cost - self._level(key, now)
        return max(1, int(missing / self.limit.per_second + 0.999)) if missing > 0 else 0


@dataclass
class Limiters:
    """The buckets of one server process, shared by the API and the web pages."""

    limits: RateLimits
    public: TokenBuckets
    """Public pages and the public API."""
    login: TokenBuckets
    """Failed sign-ins, whether through the login form or HTTP Basic."""

    @classmethod
    def of(cls, limits: RateLimits, clock: Callable[[], float] = time.monotonic) -> Limiters:
        return cls(
            limits,
            TokenBuckets(limits.public, clock=clock),
            TokenBuckets(limits.login, clock=clock),
        )
