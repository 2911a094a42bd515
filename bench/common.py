"""Helpers shared by the benchmarks: a scratch database and generated register files."""

import random
from datetime import date, timedelta
from pathlib import Path

from django.conf import settings
from django.db import connections

BENCH_DIR = Path(settings.BASE_DIR) / "var" / "bench"
SCRATCH_DATABASE = "dnc_bench"

# Dutch number ranges people block: mostly mobiles (06-1… to 06-5…), the rest geographic lines of
# a few large area codes; all valid consumer numbers for libphonenumber.
_MOBILE_PREFIXES = tuple(f"316{d}" for d in "12345")
_FIXED_PREFIXES = ("3120", "3110", "3130", "3170", "3140", "3150", "3113", "3158")
# How consumers choose categories on the Dutch register: most block everything.
_CATEGORY_MIX = (
    ("", 40),
    ("commercial,ideal,charity", 25),
    ("commercial", 15),
    ("commercial,charity", 10),
    ("commercial,ideal", 6),
    ("charity", 2),
    ("ideal,charity", 2),
)


def use_scratch_database(name: str = SCRATCH_DATABASE, *, migrate: bool = True) -> str:
    """Point Django at a scratch database, created and migrated here, never the developer's data.

    Must run before anything opened the default connection to the developer's database. A
    benchmark that empties tables passes a name of its own, so that it never races another.
    """
    default = settings.DATABASES["default"]
    # Through the server's maintenance database: the developer's own need not exist yet.
    with connections["default"]._nodb_cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
    connections["default"].close()
    default["NAME"] = name
    connections["default"].settings_dict["NAME"] = name
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
    return name


def nl_register_file(rows: int) -> Path:
    """A file of `rows` distinct valid Dutch numbers in E.164 digits, cached under var/bench/."""
    path = BENCH_DIR / f"register-nl-{rows}.txt"
    if path.exists():
        return path
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    rng = random.Random(rows)
    categories = [code for code, weight in _CATEGORY_MIX for _ in range(weight)]
    first_day = date(2008, 10, 1)
    days = [(first_day + timedelta(days=n)).isoformat() for n in range(5_800)]
    mobiles = rng.sample(range(len(_MOBILE_PREFIXES) * 10**7), k=rows * 7 // 10)
    fixed = rng.sample(range(len(_FIXED_PREFIXES) * 10**7), k=rows - len(mobiles))
    numbers = [f"{_MOBILE_PREFIXES[n // 10**7]}{n % 10**7:07d}" for n in mobiles]
    numbers += [f"{_FIXED_PREFIXES[n // 10**7]}{n % 10**7:07d}" for n in fixed]
    del mobiles, fixed
    rng.shuffle(numbers)
    partial = path.with_suffix(".part")
    with partial.open("w", encoding="utf-8") as out:
        for start in range(0, rows, 100_000):
            out.writelines(
                f"{number};{rng.choice(days)};{rng.choice(categories)}\n"
                for number in numbers[start : start + 100_000]
            )
    partial.rename(path)
    return path
