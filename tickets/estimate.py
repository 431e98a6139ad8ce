"""The service time a wait estimate uses: the configured duration, blended with the observed
ones as they accumulate, robust to outliers (docs/statistics.md "The wait estimate").

Every process estimates through ``QueueState.estimate_wait``, which uses this function, so the
kiosk, the board, the pages and the API always give the same figure.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable

MIN_SAMPLES = 3
"""Below this many observed services, the configured duration alone is used."""
PRIOR_WEIGHT = 5.0
"""The configured duration counts as this many observed services in the blend."""
CLAMP_FACTOR = 4.0
"""Each observed service counts as at least configured / 4 and at most configured x 4."""


def service_seconds(configured: float, samples: Iterable[float]) -> float:
    """The service time to estimate with (seconds), from the service's configured duration and
    its recent observed service times.

    Each observation is clamped to [configured / 4, configured x 4] (a ticket "served" in nine
    seconds because the agent pressed Next twice counts as a quarter of the configured time);
    their median is the observed time; it is blended with the configured one, weighted by the
    number of observations: (5 x configured + n x median) / (5 + n). With fewer than three
    observations the configured duration holds alone.
    """
    low, high = configured / CLAMP_FACTOR, configured * CLAMP_FACTOR
    clamped = [min(high, max(low, s)) for s in samples]
    n = len(clamped)
    if n < MIN_SAMPLES:
        return configured
    observed = statistics.median(clamped)
    return (PRIOR_WEIGHT * configured + n * observed) / (PRIOR_WEIGHT + n)
