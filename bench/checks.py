"""Number checks over HTTP (SPEC §10, issues 5 and 15): a real gunicorn against registers of 1M
numbers, with the targets of issue #15 printed beside each figure.

Starts gunicorn as the Procfile does (config/gunicorn.py: 2 workers × 4 threads) from the venv on
a free loopback port, against the scratch database `dnc_bench_checks` (its own, so the import
bench emptying `dnc_bench` cannot pull the registers away mid-run), with the nl register (the
import bench's generated file) and a be register of Belgian mobile numbers loaded once by
`register_import`. Measures with keep-alive `http.client` connections, half of the numbers
registered:

- single-number checks, 8 concurrent clients: p50, p99 and checks a second, for an nl company
  (one credit charged per check, so each check is a write) and a be company (its licence's limit
  raised, so each check also passes the Redis limiter);
- 1,000-number batches, one client: median and worst.

BENCH_CHECKS_ROWS sets the register size (default 1,000,000), BENCH_CHECKS_REQUESTS the single
checks per company (default 4,000), BENCH_CHECKS_BATCHES the batches per company (default 20).
Every phase also stops after BENCH_CHECKS_SECONDS (default 60).
"""

import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import threading
import time
from pathlib import Path

from django.conf import settings
from django.db import connection
from django_scopes import scopes_disabled

from bench.common import BENCH_DIR, nl_register_file, use_scratch_database

DATABASE = "dnc_bench_checks"
CLIENTS = 8
WARM_UP = 200
# Numbers a minute for the be company: above what one run checks, within the product field.
BE_LIMIT = 32_000
# Issue #15: a single check's p99 over HTTP, in ms.
P99_TARGET_MS = {"nl": 30, "be": 20}


def _be_register_file(rows: int) -> Path:
    """`rows` distinct Belgian mobile numbers (E.164 digits) with registration days, cached under
    var/bench/ as the nl file is; be registers no categories."""
    path = BENCH_DIR / f"register-be-{rows}.txt"
    if not path.exists():
        BENCH_DIR.mkdir(parents=True, exist_ok=True)
        rng = random.Random(rows)
        numbers = rng.sample(range(3 * 10**7), k=rows)
        partial = path.with_suffix(".part")
        with partial.open("w", encoding="utf-8") as out:
            out.writelines(
                f"324{7 + n // 10**7}{n % 10**7:07d};2021-{1 + n % 12:02d}-{1 + n % 28:02d};\n"
                for n in numbers
            )
        partial.rename(path)
    return path


def _load_registers(rows: int) -> dict[str, list[str]]:
    """The nl and be registers with `rows` numbers each (imported once, kept for the next run);
    returns some of each file's numbers as written nationally, to check a mix of registered
    numbers and others."""
    from register.bulk import register_import
    from register.models import BlockedNumber, Register

    files = {"nl": nl_register_file(rows), "be": _be_register_file(rows)}
    with scopes_disabled():
        registers = {slug: Register.objects.get(slug=slug) for slug in files}
        if any(
            BlockedNumber.objects.filter(register=register).count() != rows
            for register in registers.values()
        ):
            with connection.cursor() as cursor:
                cursor.execute(
                    "TRUNCATE register_blockednumber, register_registerevent,"
                    " register_registerimport"
                )
            for slug, path in files.items():
                with path.open("rb") as source:
                    report = register_import(register=registers[slug], source=source)
                if report.loaded != rows:
                    raise AssertionError(f"{slug}: loaded {report.loaded} of {rows}")
    known = {}
    for slug, path in files.items():
        with path.open(encoding="utf-8") as lines:
            known[slug] = [
                "0" + line.split(";", 1)[0][2:]
                for line, _n in zip(lines, range(50_000), strict=False)
            ]
    return known


def _companies() -> dict:
    """An nl company with a campaign full of credits and a be company whose access licence
    allows BE_LIMIT numbers a minute, each with a fresh API key."""
    from campaigns.checks.ratelimit import checks_rate_key
    from campaigns.models import Campaign
    from licences.models import Company, CreditAccount, LicenceProduct, LicenceSource
    from licences.services import api_key_create, licences_activate
    from register.models import Register

    with scopes_disabled():
        nl, be = Register.objects.get(slug="nl"), Register.objects.get(slug="be")
        nl_company, _created = Company.objects.get_or_create(
            register=nl, name="Bench checks B.V.", defaults={"country": "NL"}
        )
        campaign, _created = Campaign.objects.get_or_create(
            register=nl, company=nl_company, name="Bench", defaults={"purpose": "commercial"}
        )
        CreditAccount.objects.update_or_create(
            campaign=campaign,
            defaults={"register": nl, "company": nl_company, "balance": 2_000_000_000},
        )
        be_company, _created = Company.objects.get_or_create(
            register=be, name="Bench checks BV", defaults={"country": "BE"}
        )
        product = LicenceProduct.objects.get(register=be, code="advertiser-small")
        product.checks_per_minute = BE_LIMIT
        product.save(update_fields=["checks_per_minute"])
        licences_activate(
            company=be_company, product=product, source=LicenceSource.GRANT, reference="bench"
        )
        _key, nl_key = api_key_create(company=nl_company, name="bench")
        _key, be_key = api_key_create(company=be_company, name="bench")
    import redis

    redis.Redis.from_url(settings.CACHES["default"]["LOCATION"]).delete(
        checks_rate_key(be_company.pk)
    )
    return {
        "nl": {"host": "nl.localhost", "key": nl_key, "query": f"?campaign={campaign.pk}"},
        "be": {"host": "be.localhost", "key": be_key, "query": ""},
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start_server(port: int, database: str = DATABASE) -> subprocess.Popen:
    db = connection.settings_dict
    credentials = db.get("USER") or ""
    if db.get("PASSWORD"):
        credentials += f":{db['PASSWORD']}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DJANGO_DEBUG": "0",
        "DATABASE_URL": (
            f"postgres://{credentials}{'@' if credentials else ''}{db.get('HOST') or '127.0.0.1'}:"
            f"{db.get('PORT') or 5432}/{database}"
        ),
        "LOG_LEVEL": "WARNING",
        "WEB_ACCESS_LOG": "",
    }
    server = subprocess.Popen(
        [
            str(Path(settings.BASE_DIR) / ".venv" / "bin" / "gunicorn"),
            "config.wsgi",
            "--config",
            "config/gunicorn.py",
            "--bind",
            f"127.0.0.1:{port}",
        ],
        cwd=settings.BASE_DIR,
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("gunicorn exited")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise RuntimeError("gunicorn did not start")


class _Client:
    """One keep-alive connection to the server, as one company."""

    def __init__(self, port: int, company: dict):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {"Host": company["host"], "Authorization": f"Bearer {company['key']}"}
        self.query = company["query"]

    def single(self, number: str) -> float:
        started = time.perf_counter()
        self.connection.request(
            "GET", f"/api/v1/numbers/{number}{self.query}", headers=self.headers
        )
        response = self.connection.getresponse()
        body = response.read()
        elapsed = time.perf_counter() - started
        if response.status != 200:
            raise AssertionError(f"{response.status} {body[:200]!r}")
        return elapsed

    def batch(self, numbers: list[str], campaign: str) -> float:
        payload = {"numbers": numbers}
        if campaign:
            payload["campaign"] = int(campaign.removeprefix("?campaign="))
        body = json.dumps(payload)
        started = time.perf_counter()
        self.connection.request(
            "POST",
            "/api/v1/numbers/check",
            body=body,
            headers={**self.headers, "Content-Type": "application/json"},
        )
        response = self.connection.getresponse()
        data = response.read()
        elapsed = time.perf_counter() - started
        if response.status != 200 or len(json.loads(data)["results"]) != len(numbers):
            raise AssertionError(f"{response.status} {data[:200]!r}")
        return elapsed


# Mobile numbers of each country that its register's file never holds.
_UNREGISTERED = {"nl": ("06", 60_000_000, 70_000_000), "be": ("04", 60_000_000, 70_000_000)}


def _numbers(known: list[str], count: int, rng: random.Random, register: str) -> list[str]:
    """Half registered numbers, half numbers nobody registered, written nationally."""
    prefix, low, high = _UNREGISTERED[register]
    return [
        rng.choice(known) if rng.random() < 0.5 else f"{prefix}{rng.randrange(low, high)}"
        for _n in range(count)
    ]


def _singles(
    port: int, company: dict, numbers: list[str], seconds: float
) -> tuple[list[float], float]:
    """Each check's time, sorted, and the seconds the measured checks took together."""
    deadline = time.monotonic() + seconds
    shares = [numbers[n::CLIENTS] for n in range(CLIENTS)]
    timings: list[list[float]] = [[] for _n in range(CLIENTS)]
    start = threading.Barrier(CLIENTS)

    def work(n: int) -> None:
        client = _Client(port, company)
        for number in numbers[n * 25 : n * 25 + WARM_UP // CLIENTS]:
            client.single(number)
        start.wait()
        for number in shares[n]:
            if time.monotonic() > deadline:
                break
            timings[n].append(client.single(number))
        client.connection.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    # From the barrier's release (after the warm-up, which is short) to the last answer.
    elapsed = time.perf_counter() - started
    return sorted(t for per_client in timings for t in per_client), elapsed


def _percentile(sorted_values: list[float], share: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * share))]


def run() -> list[str]:
    rows = int(os.environ.get("BENCH_CHECKS_ROWS", 1_000_000))
    requests = int(os.environ.get("BENCH_CHECKS_REQUESTS", 4_000))
    batches = int(os.environ.get("BENCH_CHECKS_BATCHES", 20))
    seconds = float(os.environ.get("BENCH_CHECKS_SECONDS", 60))
    use_scratch_database(DATABASE)
    known = _load_registers(rows)
    companies = _companies()
    rng = random.Random(rows)
    port = _free_port()
    server = _start_server(port)
    lines = [
        f"registers of {rows:,} numbers each (nl, be); gunicorn 2 workers × 4 threads on "
        f"127.0.0.1:{port}; load average {' '.join(f'{n:.2f}' for n in os.getloadavg())}"
    ]
    try:
        for name, company in companies.items():
            timings, elapsed = _singles(
                port, company, _numbers(known[name], requests, rng, name), seconds
            )
            lines.append(
                f"{name} single check, {CLIENTS} clients, {len(timings)} requests: "
                f"p50 {_percentile(timings, 0.5) * 1000:.1f} ms (target ≤ 5), "
                f"p99 {_percentile(timings, 0.99) * 1000:.1f} ms "
                f"(target ≤ {P99_TARGET_MS[name]}), max {timings[-1] * 1000:.1f} ms; "
                f"{len(timings) / elapsed:.0f} checks/s"
                + (" (target ≥ 500)" if name == "be" else "")
            )
        for name, company in companies.items():
            client = _Client(port, company)
            client.batch(_numbers(known[name], 1_000, rng, name), company["query"])
            deadline = time.monotonic() + seconds
            timings = []
            while len(timings) < batches and time.monotonic() < deadline:
                timings.append(
                    client.batch(_numbers(known[name], 1_000, rng, name), company["query"])
                )
            client.connection.close()
            lines.append(
                f"{name} batch of 1,000, one client, {len(timings)} batches: "
                f"median {statistics.median(timings) * 1000:.1f} ms (target ≤ 30), "
                f"worst {max(timings) * 1000:.1f} ms"
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
    return lines
