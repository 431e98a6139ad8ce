"""A process's actions waiting for the same site, decided together.

Every action of a site runs under the site's lock, one after the other, whatever the cores: the
lock, not the CPU, bounds how many actions a busy site makes a second. So the actions of one
site that arrive in a process while an earlier one holds the lock are not each left to wait for
it on their own: the first thread to find the site free decides the actions waiting at that
moment, in their order of arrival, in one transaction (one lock, one commit), and each waiting
thread then gives its own answer. When nothing is waiting, an action is decided alone at
once: a quiet site waits for nothing more than before (this is batching by what is already
queued, never by a timer).

The rule of what a batch decides is ``server.actions``'; this module only forms the batches.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

BATCH_LIMIT = 8
"""Actions decided in one transaction at most: a batch's statement grows with it, and the
first action of a batch waits for the last to be decided before its answer."""


@dataclass(eq=False)
class Job:
    """One action in a batch: what the batch decides for it, or why it was refused."""

    done: bool = False
    error: BaseException | None = None

    def fail(self, error: BaseException) -> None:
        self.error = error
        self.done = True


J = TypeVar("J", bound=Job)


@dataclass
class _Site(Generic[J]):
    changed: threading.Condition = field(default_factory=threading.Condition)
    pending: deque[J] = field(default_factory=deque)
    busy: bool = False


class SiteBatches(Generic[J]):
    """The jobs of each site waiting in this process, handed in batches to ``decide``.

    ``decide(site, jobs)`` decides the jobs in order and marks each done (or failed); it runs on
    the thread of one of the jobs, never for two batches of the same site at once in this
    process (other processes' batches wait on the site's lock in the database)."""

    def __init__(self, limit: int = BATCH_LIMIT) -> None:
        self.limit = limit
        self._guard = threading.Lock()
        self._sites: dict[str, _Site[J]] = {}

    def _site(self, site: str) -> _Site[J]:
        with self._guard:
            found = self._sites.get(site)
            if found is None:
                found = self._sites[site] = _Site()
            return found

    def run(self, site: str, job: J, decide: Callable[[str, Sequence[J]], None]) -> J:
        """Waits until ``job`` is decided, deciding a batch of the site's waiting jobs on this
        thread whenever none is being decided; returns ``job``, done (see its ``error``)."""
        queue = self._site(site)
        with queue.changed:
            queue.pending.append(job)
        while True:
            with queue.changed:
                while not job.done and queue.busy:
                    queue.changed.wait()
                if job.done:
                    return job
                queue.busy = True
                size = min(self.limit, len(queue.pending))
                batch = [queue.pending.popleft() for _ in range(size)]
            try:
                decide(site, batch)
            finally:
                with queue.changed:
                    queue.busy = False
                    for other in batch:
                        if not other.done:  # decide failed before reaching it
                            other.fail(RuntimeError("the action's batch was not decided"))
                    queue.changed.notify_all()
