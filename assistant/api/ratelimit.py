"""Sliding-window rate limit per key ("ip:…", "session:…"), in memory.

In memory is enough for one process; with several uvicorn workers each worker counts on its own, so the
effective limit is at most workers × the setting (a shared store would be needed for an exact one).
"""
from __future__ import annotations

import math
import threading
import time
from collections import deque


class RateLimiter:
    def __init__(self, per_minute: int, window_s: float = 60.0, max_keys: int = 50_000):
        self.limit = max(1, per_minute)
        self.window = window_s
        self.max_keys = max_keys
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, *keys: str) -> float:
        """Count one request against every key; 0 if allowed, else seconds until the caller may retry.

        A refused request is not counted, so a client that waits Retry-After always gets through."""
        now = time.monotonic()
        with self._lock:
            if len(self._hits) > self.max_keys:
                self._sweep(now)
            wait = 0.0
            for k in keys:
                q = self._hits.get(k)
                if q is None:
                    continue
                while q and now - q[0] >= self.window:
                    q.popleft()
                if len(q) >= self.limit:
                    wait = max(wait, self.window - (now - q[0]))
            if wait > 0:
                return max(1.0, math.ceil(wait))
            for k in keys:
                self._hits.setdefault(k, deque()).append(now)
            return 0.0

    def _sweep(self, now: float) -> None:
        for k in [k for k, q in self._hits.items() if not q or now - q[-1] >= self.window]:
            del self._hits[k]
