"""`make bench`: run every benchmark module in one go and print its figures.

Each module in this package exposes `run() -> list[str]` (lines of results); pass module names
to run only those: `python -m bench normalise`.
"""

import importlib
import os
import pkgutil
import sys
import time

import django


def main(argv: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    django.setup()
    here = os.path.dirname(__file__)
    names = argv or sorted(
        m.name for m in pkgutil.iter_modules([here]) if m.name != "common" and m.name[0] != "_"
    )
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        for line in module.run():
            print(f"   {line}", flush=True)
        load = " ".join(f"{n:.2f}" for n in os.getloadavg())
        print(f"   ({time.perf_counter() - started:.1f} s; load average {load})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
