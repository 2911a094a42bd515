"""The entry point of every caller: `Normaliser` for one region, `normalise` for one number."""

from collections.abc import Iterable, Sequence
from functools import cache, lru_cache, partial
from itertools import compress, count
from operator import not_

from register.phone.batch import bulk_path
from register.phone.fast import fast_path
from register.phone.metadata import region_metadata
from register.phone.reference import Normalised, normalise_slow

# Fewer rows go one by one: the bulk path's fixed cost is that of some fifty rows on the fast
# path, and a dialer's check is one number.
BULK_MIN_ROWS = 64


class Normaliser:
    """Normalises many numbers for one register's region: the entry point of the bulk paths."""

    def __init__(self, region: str):
        metadata = region_metadata(region)
        if metadata is None:
            raise ValueError(f"libphonenumber has no metadata for region {region!r}")
        self.region = region
        self._fast = fast_path(metadata)
        self._bulk = bulk_path(metadata)
        # What people type where they have no number ("n.v.t.", "onbekend", "-") repeats down a
        # file, and libphonenumber takes some 25 µs a row to refuse it: each text read once.
        self._slow = lru_cache(maxsize=4096)(partial(normalise_slow, region=region))

    def __call__(self, raw: str) -> Normalised:
        return self._fast(raw) or self._slow(raw)

    def many(self, raws: Iterable[str]) -> Sequence[Normalised]:
        """`self(raw)` for each of `raws`, in order, at bulk speed.

        Must equal `[normalise_slow(raw, region) for raw in raws]`: held to it row by row by
        `test_many_agrees_with_phonenumbers_row_by_row` and per input shape by
        `test_normalise_gives_the_verdict_of_spec_4` (tests/register/phone/test_normalise.py).
        Where the region's shapes allow, the whole batch goes the bulk path
        (`register.phone.batch`), which answers in a `Batch`.
        """
        raws = raws if isinstance(raws, list) else list(raws)
        if not raws:
            return []
        if self._bulk is not None and len(raws) >= BULK_MIN_ROWS:
            return self._bulk(raws, self)
        # `map` runs the loop in C, and so does finding the few rows the fast path leaves.
        results = list(map(self._fast, raws))
        for position in compress(count(), map(not_, results)):
            results[position] = self._slow(raws[position])
        return results


@cache
def _normaliser(region: str) -> Normaliser:
    return Normaliser(region)


def normalise(raw: str, region: str) -> Normalised:
    return _normaliser(region)(raw)
