"""Normalising a million messy rows on one core (SPEC §4; issue #15: at most 1 s).

The process is pinned to one core while it measures (`os.sched_setaffinity`), and the figure is
the best of several runs: the machine is shared, and the wall clock also counts the time other
processes had the core. The first run is printed too: it reads the metadata of the other
countries the file's numbers belong to, once a process.
"""

import os
import random
import time

from register.phone import Normaliser, normalise_slow

ROWS = 1_000_000
RUNS = 5
SLOW_SAMPLE = 50_000
TARGET_SECONDS = 1.0
REGION = "NL"

# Dutch mobiles are 06 + 8 digits; fixed lines a two-digit area code + 7 digits (Amsterdam,
# Rotterdam, The Hague, Utrecht, …). Every shape below is written by one of these templates.
_MOBILE_SHAPES = (
    "06{n}",
    "06-{n}",
    "06 {a} {b}",
    "06 {c} {d} {e} {f}",
    "06.{c}.{d}.{e}.{f}",
    "+31 6 {n}",
    "+316{n}",
    "0031 6 {n}",
    "00316{n}",
    "+31 (0)6 {n}",
    "316{n}",
    "'06{n}",
    "6{n}.0",
    "6{n}",
    " 06 {n} ",
)
_FIXED_SHAPES = (
    "0{area}{n}",
    "0{area}-{n}",
    "(0{area}) {n3} {n4}",
    "0{area}/{n}",
    "+31 {area} {n3} {n4}",
    "0031{area}{n}",
    "{area}{n}.0",
)
_AREAS = ("10", "13", "15", "20", "23", "24", "26", "30", "33", "35", "36", "38", "40", "43")
_AREAS += ("45", "46", "50", "53", "55", "58", "70", "71", "72", "73", "74", "75", "76", "77")
# About one row in twenty is not a Dutch consumer number.
_OTHER_SHAPES = (
    "+32 47{n6}",  # Belgian mobile: foreign
    "0032 47{n6}",
    "+49 30 {n}",  # Berlin: foreign
    "+44 7400 {n6}",  # British mobile: foreign
    "0800 {n}",  # free phone: service
    "0900-{n}",  # premium rate: service
    "06 {n6}",  # too short: invalid
    "06 {n}9",  # too long: invalid
    "bel niet {n6}",  # text: invalid
)


def messy_rows(count: int, seed: int = 2024) -> list[str]:
    """`count` unique numbers as they arrive in call files: 95% Dutch consumers, any shape."""
    rng = random.Random(seed)
    rows = []
    # Each serial makes a different number: mobiles 06-1…5 and 06-8 with 7 more digits, fixed
    # lines an area code and 7 digits, both taken from the serial.
    for serial in rng.sample(range(6 * 10**7), count):
        draw = rng.random()
        if draw < 0.70:
            shape = rng.choice(_MOBILE_SHAPES)
            n = "123458"[serial // 10**7] + f"{serial % 10**7:07d}"
            area = ""
        elif draw < 0.95:
            shape = rng.choice(_FIXED_SHAPES)
            n = f"{serial // len(_AREAS):07d}"
            area = _AREAS[serial % len(_AREAS)]
        else:
            shape = rng.choice(_OTHER_SHAPES)
            n = f"{serial:08d}"
            area = ""
        rows.append(
            shape.format(
                n=n,
                n3=n[:3],
                n4=n[3:7],
                n6=n[:6],
                a=n[:4],
                b=n[4:],
                c=n[:2],
                d=n[2:4],
                e=n[4:6],
                f=n[6:],
                area=area,
            )
        )
    return rows


def _timed(rows: list[str]) -> tuple[float, float, object]:
    """Wall and CPU seconds of one `many` over `rows` by a new normaliser, and its answer."""
    normaliser = Normaliser(REGION)
    started, cpu_started = time.perf_counter(), time.process_time()
    results = normaliser.many(rows)
    return time.perf_counter() - started, time.process_time() - cpu_started, results


def run() -> list[str]:
    rows = messy_rows(ROWS)
    cores = os.sched_getaffinity(0)
    core = max(cores)
    os.sched_setaffinity(0, {core})
    try:
        best = first = _timed(rows)
        for _ in range(RUNS - 1):
            # Only the best run's answer is kept: five of them would weigh on the collector.
            timing = _timed(rows)
            best = min(best, timing, key=lambda timing: timing[0])
            del timing
    finally:
        os.sched_setaffinity(0, cores)
    first_seconds = first[0]
    seconds, cpu_seconds, results = best
    del first, best

    sample = rows[:: ROWS // SLOW_SAMPLE]
    started = time.perf_counter()
    reference = [normalise_slow(raw, REGION) for raw in sample]
    slow_seconds = time.perf_counter() - started
    sample_results = results[:: ROWS // SLOW_SAMPLE]
    disagreements = sum(a != b for a, b in zip(sample_results, reference, strict=True))
    normaliser = Normaliser(REGION)
    fallbacks = sum(normaliser._fast(raw) is None for raw in sample)
    ok = sum(result.ok for result in results)

    verdict = "MEETS" if seconds <= TARGET_SECONDS else "MISSES"
    return [
        f"fast: {len(rows):,} rows in {seconds:.2f} s = {len(rows) / seconds:,.0f} rows/s on one "
        f"core (core {core}), best of {RUNS} runs ({verdict} the target of "
        f"≤ {TARGET_SECONDS:.1f} s); {cpu_seconds:.2f} s CPU; first run {first_seconds:.2f} s; "
        f"load average {os.getloadavg()[0]:.1f}",
        f"      {ok / len(rows):.1%} consumer numbers; "
        f"{fallbacks / len(sample):.2%} of the sample fell back to phonenumbers",
        f"slow: {len(sample):,} rows in {slow_seconds:.2f} s = {len(sample) / slow_seconds:,.0f} "
        f"rows/s (≈ {slow_seconds * ROWS / len(sample):.0f} s for {len(rows):,})",
        f"agreement on the sample: {len(sample) - disagreements:,} of {len(sample):,}",
    ]
