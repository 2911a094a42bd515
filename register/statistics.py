"""Statistics of a register's history (SPEC §5): registrations and unblocks per day, week or
month, by channel and by category, and the register's size over time, for the staff dashboard
and the public `/statistics/` page.

They are read from DailyCount, a rollup of whole days that `daily_counts_roll_up` (beat, hourly)
writes once a day is over, and, for the days since, from the history itself: a few thousand
rollup rows and a day or two of events, whatever the size of the register. Imports write no
history per number (see RegisterImport): their numbers count as registrations on the day of the
import, from the numbers still held by it and the block events written since for the others.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cached_property

from django.db import connection, transaction
from django.db.models import BigIntegerField, Case, DateField, F, Min, Sum, When
from django.db.models.functions import Trunc
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from register.figures import Figures
from register.models import (
    ALL_CATEGORIES,
    Channel,
    DailyCount,
    DailyCountsThrough,
    EventAction,
    Register,
    RegisterImport,
)

# A day is rolled up this long after it ended: an event is dated when its transaction began
# (`occurred_at` defaults to now()), so a long transaction that began before midnight may still
# commit just after it.
ROLL_UP_GRACE = timedelta(minutes=30)
# Days rolled up per transaction, so the first roll-up of years of history commits as it goes.
ROLL_UP_DAYS = 92

_ROLL_UP_LOCK_CLASS = 0x53544154  # "STAT"

# The history's registrations and unblocks between two moments. An unblock counts with the
# categories the number had: those of its latest event before it that has them.
_EVENTS = """
    SELECT (e.occurred_at AT TIME ZONE %(zone)s)::date AS day, e.action, e.channel,
        coalesce(CASE WHEN e.action = %(unblock)s THEN (
            SELECT p.categories FROM register_registerevent p
            WHERE p.number = e.number AND p.id < e.id AND p.categories IS NOT NULL
            ORDER BY p.id DESC LIMIT 1
        ) ELSE e.categories END, %(all)s) AS categories,
        count(*)
    FROM register_registerevent e
    WHERE e.register_id = %(register)s AND e.occurred_at >= %(start)s AND e.occurred_at < %(end)s
        AND e.action IN (%(block)s, %(unblock)s)
    GROUP BY 1, 2, 3, 4
"""

# The numbers imports still hold (their block events are not in the history yet).
_IMPORTED = """
    SELECT (i.occurred_at AT TIME ZONE %(zone)s)::date, %(block)s, %(import)s, b.categories,
        count(*)
    FROM register_blockednumber b JOIN register_registerimport i ON i.id = b.imported_in_id
    WHERE b.imported_in_id = ANY(%(imports)s)
    GROUP BY 1, 2, 3, 4
"""

Row = tuple[date, str, str, int, int]  # day, action, channel, categories, count


def _midnight(register: Register, day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=register.zone)


def _counted(register: Register, *, start: datetime, end: datetime | None) -> list[Row]:
    """Registrations and unblocks from `start` until `end` (None: until now), per day."""
    parameters = {
        "zone": register.time_zone,
        "register": register.pk,
        "start": start,
        "end": end or datetime.max.replace(tzinfo=register.zone),
        "block": EventAction.BLOCK,
        "unblock": EventAction.UNBLOCK,
        "import": Channel.IMPORT,
        "all": ALL_CATEGORIES,
    }
    imports = RegisterImport.objects.filter(register=register, occurred_at__gte=start)
    if end is not None:
        imports = imports.filter(occurred_at__lt=end)
    imports = list(imports.values_list("pk", flat=True))
    with transaction.atomic(), connection.cursor() as cursor:
        # The planner cannot tell how few unblocks run the subquery and guesses a cost that
        # makes PostgreSQL compile the query (JIT: 150 ms for a day's events, which take 30)
        # and start parallel workers; a day or two of events is read faster by one.
        cursor.execute("SET LOCAL jit = off")
        cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        cursor.execute(_EVENTS, parameters)
        rows = cursor.fetchall()
        if imports:
            # A scan of the register, on the day of an import only: the next roll-up keeps it.
            cursor.execute(_IMPORTED, {**parameters, "imports": imports})
            rows += cursor.fetchall()
    merged: dict[tuple, int] = defaultdict(int)
    for day, action, channel, categories, count in rows:
        merged[day, action, channel, categories] += count
    return [(*key, count) for key, count in merged.items()]


def _first_day(register: Register) -> date | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT least((SELECT min(occurred_at) FROM register_registerevent"
            " WHERE register_id = %(register)s), (SELECT min(occurred_at)"
            " FROM register_registerimport WHERE register_id = %(register)s))",
            {"register": register.pk},
        )
        (first,) = cursor.fetchone()
    return None if first is None else register.date_of(first)


def _last_closed_day(register: Register, now: datetime) -> date:
    today = register.date_of(now)
    if now - _midnight(register, today) < ROLL_UP_GRACE:
        return today - timedelta(days=2)
    return today - timedelta(days=1)


def daily_counts_roll_up(*, register: Register, now: datetime | None = None) -> int:
    """Writes the counts of every day that is over and not yet in DailyCount; returns how many
    days. Safe to run twice, or twice at once: a day is written once."""
    last = _last_closed_day(register, now or timezone.now())
    done = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", [_ROLL_UP_LOCK_CLASS, register.pk]
            )
            through = DailyCountsThrough.objects.filter(register=register).first()
            first = through.day + timedelta(days=1) if through else _first_day(register)
            if first is None or first > last:
                if through is None:
                    # No history yet: nothing to count up to here.
                    DailyCountsThrough.objects.create(register=register, day=last)
                return done
            until = min(last, first + timedelta(days=ROLL_UP_DAYS - 1))
            rows = _counted(
                register,
                start=_midnight(register, first),
                end=_midnight(register, until + timedelta(days=1)),
            )
            DailyCount.objects.bulk_create(
                DailyCount(
                    register=register,
                    day=day,
                    action=action,
                    channel=channel,
                    categories=categories,
                    count=count,
                )
                for day, action, channel, categories, count in rows
            )
            DailyCountsThrough.objects.update_or_create(register=register, defaults={"day": until})
            done += (until - first).days + 1


class Granularity:
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    CHOICES = [(DAY, _("per day")), (WEEK, _("per week")), (MONTH, _("per month"))]


def bucket_of(day: date, by: str) -> date:
    """The first day of the day, week (from Monday) or month `day` falls in."""
    if by == Granularity.MONTH:
        return day.replace(day=1)
    if by == Granularity.WEEK:
        return day - timedelta(days=day.weekday())
    return day


def _next_bucket(bucket: date, by: str) -> date:
    if by == Granularity.MONTH:
        return (bucket + timedelta(days=32)).replace(day=1)
    return bucket + timedelta(days=7 if by == Granularity.WEEK else 1)


@dataclass(frozen=True)
class Period:
    """The days from `start` to `end`, both included, counted per day, week or month. The first
    and last week or month may be partial: they count only the period's days."""

    start: date
    end: date
    by: str = Granularity.DAY

    def buckets(self) -> list[date]:
        buckets, bucket = [], bucket_of(self.start, self.by)
        while bucket <= self.end:
            buckets.append(bucket)
            bucket = _next_bucket(bucket, self.by)
        return buckets

    def label(self, bucket: date) -> str:
        if self.by == Granularity.MONTH:
            return bucket.strftime("%Y-%m")
        return bucket.isoformat()


@dataclass
class RegisterCounts:
    """A register's daily counts as one read sees them: the rollup, and the days since it
    counted once from the history for all the figures made of them."""

    register: Register
    now: datetime = field(default_factory=timezone.now)
    _read: dict = field(default_factory=dict, repr=False)

    @cached_property
    def through(self) -> date | None:
        row = DailyCountsThrough.objects.filter(register=self.register).first()
        return row.day if row else None

    @cached_property
    def _live(self) -> list[Row]:
        if self.through is None:
            start = datetime.min.replace(tzinfo=self.register.zone)
        else:
            start = _midnight(self.register, self.through + timedelta(days=1))
        return _counted(self.register, start=start, end=None)

    def days(self, period: Period) -> list[Row]:
        """Every count of `period`, dated by the first day of its bucket: summed by the
        database where they come from the rollup (a year is then a few hundred rows rather
        than thousands), as read where they come from the history."""
        if period in self._read:
            return self._read[period]
        rows: list[Row] = []
        if self.through is not None and period.start <= self.through:
            in_rollup = DailyCount.objects.filter(
                register=self.register,
                day__gte=period.start,
                day__lte=min(period.end, self.through),
            )
            if period.by != Granularity.DAY:
                kind = "week" if period.by == Granularity.WEEK else "month"
                in_rollup = in_rollup.annotate(bucket=Trunc("day", kind, output_field=DateField()))
            else:
                in_rollup = in_rollup.annotate(bucket=F("day"))
            rows += (
                in_rollup.values_list("bucket", "action", "channel", "categories")
                .annotate(total=Sum("count"))
                .order_by()
            )
        rows += [row for row in self._live if period.start <= row[0] <= period.end]
        self._read[period] = rows
        return rows

    def net_before(self, day: date) -> int:
        """Numbers registered less numbers unblocked before `day`: the register's size then."""
        net = 0
        if self.through is not None:
            net = (
                DailyCount.objects.filter(register=self.register, day__lt=day).aggregate(
                    net=Sum(
                        Case(
                            When(action=EventAction.UNBLOCK, then=-F("count")),
                            default=F("count"),
                            output_field=BigIntegerField(),
                        )
                    )
                )["net"]
                or 0
            )
        for row_day, action, _channel, _categories, count in self._live:
            if row_day < day:
                net += -count if action == EventAction.UNBLOCK else count
        return net


def _per_bucket(
    rows: Iterable[Row], period: Period, column_of, columns: list[str]
) -> list[list[int]]:
    """Counts summed per bucket (the rows) and column; `column_of(row)` gives the columns a
    row counts in."""
    position = {bucket: index for index, bucket in enumerate(period.buckets())}
    cells = [[0] * len(columns) for _ in position]
    index_of = {column: index for index, column in enumerate(columns)}
    for row in rows:
        bucket = position[bucket_of(row[0], period.by)]
        for column in column_of(row):
            cells[bucket][index_of[column]] += row[4]
    return cells


def _channel_labels() -> tuple[list[str], list[str]]:
    return list(Channel.values), [str(label) for label in Channel.labels]


def events_by_channel(*, counts: RegisterCounts, period: Period, action: str) -> Figures:
    """Registrations (`action` block) or unblocks per bucket of `period`, per channel."""
    channels, labels = _channel_labels()
    rows = [row for row in counts.days(period) if row[1] == action]
    return Figures(
        title=_("Registrations by channel")
        if action == EventAction.BLOCK
        else _("Unblocks by channel"),
        heading=_("Period"),
        rows=[period.label(bucket) for bucket in period.buckets()],
        columns=labels,
        cells=_per_bucket(rows, period, lambda row: [row[2]], channels),
        stacked=True,
    )


def events_by_category(
    *, counts: RegisterCounts, period: Period, action: str, language: str
) -> Figures:
    """Registrations or unblocks per bucket and category: a number counts in every category it
    blocks (blocked), or blocked until then (unblocked), so the columns add up to more than the
    numbers. A register without categories has one column: the full block."""
    register = counts.register
    codes = register.categories or [""]
    labels = [
        register.category_label(code, language) if code else str(_("everything")) for code in codes
    ]

    def blocked(row: Row) -> list[str]:
        return register.category_codes(row[3]) if register.categories else [""]

    rows = [row for row in counts.days(period) if row[1] == action]
    return Figures(
        title=_("Registrations by category")
        if action == EventAction.BLOCK
        else _("Unblocks by category"),
        heading=_("Period"),
        rows=[period.label(bucket) for bucket in period.buckets()],
        columns=labels,
        cells=_per_bucket(rows, period, blocked, codes),
    )


def register_size(*, counts: RegisterCounts, period: Period) -> Figures:
    """The numbers registered at the end of each bucket of `period` (its last day, or the
    period's end)."""
    net = counts.net_before(period.start)
    change: dict[date, int] = defaultdict(int)
    for day, action, _channel, _categories, count in counts.days(period):
        change[bucket_of(day, period.by)] += -count if action == EventAction.UNBLOCK else count
    cells = []
    for bucket in period.buckets():
        net += change[bucket]
        cells.append([net])
    return Figures(
        title=_("Numbers registered"),
        heading=_("Period"),
        rows=[period.label(bucket) for bucket in period.buckets()],
        columns=[str(_("numbers registered at the end"))],
        cells=cells,
        line=True,
    )


@dataclass(frozen=True)
class PublicStatistics:
    """The public page (SPEC §5): the numbers registered today, and per month of one year the
    numbers registered at its end, the registrations and the unblocks per channel."""

    year: int
    registered: int
    size: Figures
    registrations: Figures
    unblocks: Figures

    def table(self) -> Figures:
        """All three per month in one table: the page's CSV."""
        columns = [*self.size.columns]
        columns += [
            str(_("registered: %(channel)s") % {"channel": c}) for c in self.registrations.columns
        ]
        columns += [
            str(_("unblocked: %(channel)s") % {"channel": c}) for c in self.unblocks.columns
        ]
        cells = [
            [*size, *blocks, *unblocks]
            for size, blocks, unblocks in zip(
                self.size.cells, self.registrations.cells, self.unblocks.cells, strict=True
            )
        ]
        return Figures(
            title=_("The register per month"),
            heading=_("Month"),
            rows=self.size.rows,
            columns=columns,
            cells=cells,
        )


def public_statistics(*, register: Register, year: int) -> PublicStatistics:
    """The public statistics of `year` (one the register has had, up to this one)."""
    counts = RegisterCounts(register=register)
    today = register.date_of(counts.now)
    period = Period(
        start=date(year, 1, 1), end=min(date(year, 12, 31), today), by=Granularity.MONTH
    )
    return PublicStatistics(
        year=year,
        registered=counts.net_before(today + timedelta(days=1)),
        size=register_size(counts=counts, period=period),
        registrations=events_by_channel(counts=counts, period=period, action=EventAction.BLOCK),
        unblocks=events_by_channel(counts=counts, period=period, action=EventAction.UNBLOCK),
    )


def statistics_years(*, register: Register) -> list[int]:
    """The years the public page offers: from the register's first registration to this one."""
    first = DailyCount.objects.filter(register=register).aggregate(first=Min("day"))["first"]
    this_year = register.today().year
    return list(range(first.year if first else this_year, this_year + 1))
