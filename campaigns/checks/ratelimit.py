"""The per-company limit of number checks where they are included in a licence (SPEC §7, §10).

A fixed window in Redis: the company's first check opens a window of 60 seconds, and within it
checks pass until the product's limit is used up. One number checked is one unit, so a batch of
N numbers takes N units at once or none. The count lives in one Redis key per company, read and
raised by one Lua script: Redis runs a script alone, so two workers can never both read 19 and
both let a check through; exactly the limit passes, whatever the concurrency. The key is the
company, never the client's address, so no header (X-Forwarded-For) and no second machine
resets it.

A fixed window rather than a sliding one: its answer is exact and needs one integer per company,
while a sliding log keeps one entry per unit (a raised limit of 100,000 a minute would keep
100,000). The price is the edge: a company may use its limit at the end of one window and again
at the start of the next, at most twice the limit within a few seconds, never more than the limit
per window.
"""

import math
from dataclasses import dataclass
from functools import cache

import redis
from django.conf import settings

WINDOW_SECONDS = 60
# The product's `checks_per_minute` decides; this holds where it is left empty (seed 001).
DEFAULT_CHECKS_PER_MINUTE = 20

# KEYS[1] the company's counter; ARGV: units asked, the limit, the window in milliseconds.
# Returns 0 when the units are granted, else the milliseconds until the window ends.
_TAKE = """
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local units = tonumber(ARGV[1])
if used + units > tonumber(ARGV[2]) then
  local left = redis.call('PTTL', KEYS[1])
  if left < 0 then
    redis.call('PEXPIRE', KEYS[1], ARGV[3])
    left = tonumber(ARGV[3])
  end
  return left
end
if redis.call('INCRBY', KEYS[1], units) == units then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return 0
"""


@dataclass(frozen=True)
class Allowance:
    granted: bool
    # Whole seconds until the window ends and the units may fit; 0 when granted.
    retry_after: int


@cache
def _script(location: str):
    # One pool per process, shared by the threads of a worker; a thread finding every
    # connection busy waits for one (a few ms) rather than failing the check.
    pool = redis.BlockingConnectionPool.from_url(location, max_connections=32, timeout=5)
    return redis.Redis(connection_pool=pool).register_script(_TAKE)


def checks_rate_key(company_id: int) -> str:
    return f"dnc:number-checks:{company_id}"


def checks_take(*, company_id: int, units: int, limit: int) -> Allowance:
    """Takes `units` of the company's checks of this window, all of them or none."""
    # The cache's Redis: REDIS_URL in production, the test database's own in tests.
    script = _script(settings.CACHES["default"]["LOCATION"])
    left_ms = script(keys=[checks_rate_key(company_id)], args=[units, limit, WINDOW_SECONDS * 1000])
    if left_ms == 0:
        return Allowance(granted=True, retry_after=0)
    return Allowance(granted=False, retry_after=max(1, math.ceil(left_ms / 1000)))


def checks_window_left(*, company_id: int) -> int:
    """Whole seconds until the company's window ends and its full limit is free again; 0 when no
    window is open. Reads only: nothing is taken."""
    client = _script(settings.CACHES["default"]["LOCATION"]).registered_client
    left_ms = client.pttl(checks_rate_key(company_id))
    return math.ceil(left_ms / 1000) if left_ms > 0 else 0
