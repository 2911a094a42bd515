"""Every panel of the staff dashboard, and the public statistics page, on a register of
10,000,000 numbers with a history of 20,000,000 events (issue 14: each under 300 ms).

The scratch database `dnc_bench_dashboard_<numbers>` is built once by SQL alone
(generate_series, no Python per row) and reused by later runs: three years of history up to
yesterday, in time order as the application appends it: the registered numbers' blocks, and
for a quarter as many numbers more a block and a later unblock; channels and categories mixed
as nl's; then today's events (read from the history, not the rollup), companies with scrubs,
checks and downloads, open cases. The rollup of the closed days is made once, timed on its own.
Each panel is then timed from a fresh read (its own count of today), over a year per week and
over three months per day. BENCH_DASHBOARD_NUMBERS sets the size (default 10,000,000; the
history has twice as many events); BENCH_DASHBOARD_ROUNDS how often each panel is timed
(default 5; the median and the slowest are printed). The machine's load average is printed
with the figures: it is shared.

Run it alone with `python -m bench dashboard`.
"""

import os
import statistics
import time
from datetime import date, timedelta

from django.db import connection
from django_scopes import scope, scopes_disabled

from bench.common import use_scratch_database

DATABASE = "dnc_bench_dashboard_{numbers}"
DAYS = 3 * 365
COMPANIES = 200

# The history, in time order. Numbers 31600000000 + 3n: n < NUMBERS are registered now
# (one block each), n < NUMBERS / 4 of 31600000001 + 3n were blocked and later unblocked
# and the rest of 2 × NUMBERS events are changes of registered numbers' categories.
_HISTORY = """
    CREATE TEMPORARY TABLE generated AS
    SELECT 31600000000 + 3 * n AS number, 'block' AS action,
        (ARRAY[-1, -1, -1, 7, 1, 1, 5, 3, 4, 6])[1 + n %% 10]::smallint AS categories,
        (ARRAY['web', 'web', 'web', 'web', 'web', 'web', 'phone', 'company', 'company', 'admin'])
            [1 + (n / 7) %% 10] AS channel,
        %(start)s::timestamptz + (((n * 7919) %% %(numbers)s)::float / %(numbers)s)
            * %(span)s * interval '1 second' AS occurred_at
    FROM generate_series(0::bigint, %(numbers)s - 1) AS n
    UNION ALL
    SELECT 31600000001 + 3 * m, 'block', -1, 'web',
        %(start)s::timestamptz + (((m * 104729) %% %(churn)s)::float / %(churn)s)
            * %(span)s * 0.5 * interval '1 second'
    FROM generate_series(0::bigint, %(churn)s - 1) AS m
    UNION ALL
    SELECT 31600000001 + 3 * m, 'unblock', NULL, (ARRAY['web', 'admin'])[1 + m %% 2],
        %(start)s::timestamptz + (0.5 + ((m * 104729) %% %(churn)s)::float / %(churn)s / 2)
            * %(span)s * interval '1 second'
    FROM generate_series(0::bigint, %(churn)s - 1) AS m
    UNION ALL
    SELECT 31600000000 + 3 * k, 'change', -1, 'web',
        %(start)s::timestamptz + (0.9 + (k::float / %(changes)s) / 10)
            * %(span)s * interval '1 second'
    FROM generate_series(0::bigint, %(changes)s - 1) AS k
"""


def _build(register, numbers: int) -> float:
    """The register and its history, companies and cases; the seconds it took."""
    started = time.perf_counter()
    today = register.today()
    start_day = today - timedelta(days=DAYS)
    churn = numbers // 4
    changes = 2 * numbers - numbers - 2 * churn
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE register_blockednumber, register_registerevent, register_registerimport,"
            " register_dailycount, register_dailycountsthrough"
        )
        cursor.execute("DROP INDEX IF EXISTS event_number")
        cursor.execute("SET work_mem = '256MB'")
        cursor.execute(
            _HISTORY,
            {
                "start": start_day.isoformat(),
                "span": DAYS * 86400 - 1,
                "numbers": numbers,
                "churn": churn,
                "changes": changes,
            },
        )
        cursor.execute(
            "INSERT INTO register_registerevent"
            " (register_id, number, action, categories, channel, occurred_at, reference)"
            " SELECT %s, number, action, categories, channel, occurred_at, ''"
            " FROM generated ORDER BY occurred_at",
            [register.pk],
        )
        cursor.execute(
            "INSERT INTO register_blockednumber"
            " (number, register_id, categories, registered_on, channel, email, updated_at)"
            " SELECT number, %s, categories, occurred_at::date, channel, '', occurred_at"
            " FROM generated WHERE action = 'block' AND number %% 3 = 0 ORDER BY number",
            [register.pk],
        )
        cursor.execute("DROP TABLE generated")
        cursor.execute("CREATE INDEX event_number ON register_registerevent (number)")
        # As autovacuum does after a day of appends: the BRIN index summarises the new pages.
        cursor.execute("VACUUM ANALYZE register_registerevent")
        cursor.execute("VACUUM ANALYZE register_blockednumber")
    _companies(register, start_day, today)
    return time.perf_counter() - started


def _today(register, count: int) -> None:
    """Today's events so far: blocks of numbers new today, and unblocks of registered ones."""
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM register_registerevent WHERE occurred_at >= %s",
            [register.today().isoformat()],
        )
        cursor.execute(
            "INSERT INTO register_registerevent"
            " (register_id, number, action, categories, channel, occurred_at, reference)"
            " SELECT %(register)s, 31700000000 + n, 'block', -1, 'web',"
            "   date_trunc('day', now()) + (n::float / %(count)s) * (now() - date_trunc('day',"
            "   now())), '' FROM generate_series(0, %(count)s - 1) AS n"
            " UNION ALL"
            " SELECT %(register)s, 31600000000 + 3 * n, 'unblock', NULL, 'web', now(), ''"
            " FROM generate_series(0, %(count)s / 10 - 1) AS n",
            {"register": register.pk, "count": count},
        )


def _companies(register, start_day: date, today: date) -> None:
    """Companies with a campaign each, a scrub and a download a week, checks every day, and
    open cases."""
    with connection.cursor() as cursor:
        for table in ("campaigns_checktally", "campaigns_callfile", "campaigns_download"):
            cursor.execute(f"DELETE FROM {table}")
        cursor.execute("DELETE FROM complaints_case WHERE register_id = %s", [register.pk])
        parameters = {"register": register.pk, "start": start_day, "today": today}
        cursor.execute(
            "INSERT INTO licences_company (register_id, name, chamber_number, vat_id, street,"
            " postcode, city, country, company_type, employee_band, billing_email, phone,"
            " created_at)"
            " SELECT %(register)s, 'Bench company ' || c, '', '', '', '', '', 'NL',"
            " 'advertiser', 'up_to_250', '', '', now() FROM generate_series(1, %(companies)s) AS c"
            " WHERE NOT EXISTS (SELECT 1 FROM licences_company WHERE register_id = %(register)s"
            " AND name LIKE 'Bench company %%')",
            {**parameters, "companies": COMPANIES},
        )
        cursor.execute(
            "INSERT INTO campaigns_campaign (register_id, company_id, name, purpose,"
            " provider_status, created_at)"
            " SELECT register_id, id, 'Bench', 'commercial', '', now() FROM licences_company c"
            " WHERE register_id = %(register)s AND NOT EXISTS"
            " (SELECT 1 FROM campaigns_campaign WHERE company_id = c.id)",
            parameters,
        )
        cursor.execute(
            "INSERT INTO campaigns_callfile (register_id, company_id, campaign_id, filename,"
            " sha256, size, kind, encoding, delimiter, has_header, phone_column, status,"
            " progress, rows_total, rows_blocked, rows_callable, rows_invalid,"
            " rows_out_of_scope, credits_charged, result, certificate, file, valid_until,"
            " error_code, error_message, language, created_at, finished_at,"
            " leave_out_duplicates, rows_left_out)"
            " SELECT c.register_id, c.company_id, c.id, 'calls.csv', '', 1, 'csv', 'utf-8',"
            " ';', false, 1, 'done', 100, 1000, 100, 900, 0, 0, 1000, '', '', '', day, '', '',"
            " 'nl', day, day, false, 0"
            " FROM campaigns_campaign c,"
            " generate_series(%(start)s::date, %(today)s::date, interval '7 days') AS day"
            " WHERE c.register_id = %(register)s",
            parameters,
        )
        cursor.execute(
            "INSERT INTO campaigns_download (register_id, company_id, campaign_id, kind, status,"
            " sha256, file, error, created_at, finished_at)"
            " SELECT c.register_id, c.company_id, c.id, 'full', 'done', '', '', '', day, day"
            " FROM campaigns_campaign c,"
            " generate_series(%(start)s::date, %(today)s::date, interval '7 days') AS day"
            " WHERE c.register_id = %(register)s",
            parameters,
        )
        cursor.execute(
            "INSERT INTO campaigns_checktally (register_id, company_id, day, checks, numbers)"
            " SELECT register_id, id, day, 50, 5000 FROM licences_company,"
            " generate_series(%(start)s::date, %(today)s::date, interval '1 day') AS day"
            " WHERE register_id = %(register)s",
            parameters,
        )
        cursor.execute(
            "INSERT INTO complaints_case (register_id, kind, filer_name, filer_email, language,"
            " subject, body, channel, received_at, stage, admissibility, late_reason,"
            " excuse_reason, next_due, next_due_term, decision, position, hearing_place,"
            " public_token_hash, created_at)"
            " SELECT %(register)s, 'request', '', 'x@example.com', 'nl', 'Bench ' || n, '',"
            " 'public', now(), (ARRAY['received', 'acknowledged', 'forwarded', 'closed'])"
            " [1 + n %% 4], 'timely', '', '', %(today)s::date - 30 + n %% 60, 'handle_by',"
            " '', '', '', '', now() FROM generate_series(1, 5000) AS n",
            parameters,
        )


def _timed(function, rounds: int) -> tuple[float, float]:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times)


def run() -> list[str]:
    numbers = int(os.environ.get("BENCH_DASHBOARD_NUMBERS", 10_000_000))
    rounds = int(os.environ.get("BENCH_DASHBOARD_ROUNDS", 5))
    use_scratch_database(DATABASE.format(numbers=numbers))
    from dashboard.panels import PANELS, Dashboard
    from register.models import Register, RegisterEvent
    from register.statistics import Granularity, Period, daily_counts_roll_up, public_statistics

    lines = []
    with scopes_disabled():
        register = Register.objects.get(slug="nl")
    with scope(register=register):
        if not RegisterEvent.objects.filter(register=register).exists():
            seconds = _build(register, numbers)
            lines.append(f"built {numbers:,} numbers, {2 * numbers:,} events: {seconds:.0f} s")
        _today(register, 20_000)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE register_registerevent")
        started = time.perf_counter()
        days = daily_counts_roll_up(register=register)
        lines.append(f"rollup of {days:,} closed days: {time.perf_counter() - started:.1f} s")
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM register_registerevent")
            (events,) = cursor.fetchone()
        lines.append(f"history: {events:,} events; today's 22,000 read from the history")
        today = register.today()
        periods = {
            "a year per week": Period(
                start=today - timedelta(days=364), end=today, by=Granularity.WEEK
            ),
            "three months per day": Period(
                start=today - timedelta(days=90), end=today, by=Granularity.DAY
            ),
        }
        for name, period in periods.items():
            for key, panel in PANELS.items():
                median, slowest = _timed(
                    lambda panel=panel, period=period: panel(
                        Dashboard(register=register, period=period, language="nl")
                    ),
                    rounds,
                )
                lines.append(
                    f"{name:>20} {key:<26} {median:6.0f} ms median, {slowest:6.0f} ms slowest"
                )
        median, slowest = _timed(
            lambda: public_statistics(register=register, year=today.year), rounds
        )
        lines.append(
            f"{'public page':>20} {'(uncached)':<26} {median:6.0f} ms median,"
            f" {slowest:6.0f} ms slowest"
        )
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    lines.append(f"load average (1, 5, 15 min): {load} on {os.cpu_count()} cores")
    return lines
