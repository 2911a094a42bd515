"""What a call file will cost before it is marked (issue #13): a free pass over the whole file
that reads every record as the scrub will and normalises its number, but looks nothing up in the
register or the opt-out lists, so it reveals nothing a company has not paid for.

It counts the records offered (what nl charges, seed 000: every one of them, less the later
repeats of a number where the company leaves those out of the marking), the blank lines
(free), the invalid, foreign and service numbers and the repeated numbers, and lists each of
those rows with its line. The file streams through in chunks, normalised by the bulk normaliser
and checked for repeats with numpy, so a million rows take seconds and the memory stays at a few
bytes a number.
"""

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import compress, islice
from operator import not_
from pathlib import Path

import numpy as np
from django.db import models
from django.utils.translation import gettext_lazy as _

from campaigns.checks.selectors import checks_charge_credits
from campaigns.models import Campaign
from licences.selectors import credit_balance
from register.phone import Batch, Normaliser, Problem
from uploads.intake import FileSettings, IntakeCounts, intake_records

# Problem rows shown on the page and in the API's answer; the CSV has them all.
PROBLEMS_SHOWN = 100
# Records normalised at a time, as the scrub does.
CHUNK = 50_000
# An input longer than this is cut in the list of problems.
INPUT_SHOWN = 64


class ProblemReason(models.TextChoices):
    INVALID = "invalid", _("not a telephone number")
    FOREIGN = "foreign", _("a number of another country")
    SERVICE = "service", _("a service number, which consumers cannot register")
    DUPLICATE = "duplicate", _("a number that came before in the file")


_REASONS = {
    Problem.INVALID: ProblemReason.INVALID,
    Problem.FOREIGN: ProblemReason.FOREIGN,
    Problem.SERVICE: ProblemReason.SERVICE,
}


@dataclass(frozen=True)
class ProblemRow:
    line: int
    input: str
    reason: str

    def get_reason_display(self) -> str:
        return ProblemReason(self.reason).label


@dataclass
class Validation:
    """The counts of one pass; `credits_needed` and the balances are None where marking is not
    paid in credits (be: the access licence)."""

    records: int = 0
    blank_lines: int = 0
    invalid: int = 0
    foreign: int = 0
    service: int = 0
    duplicates: int = 0
    # The repeats left out of the file sent for marking, by the company's choice: in the file,
    # but not offered (so not in `records`, nor charged).
    left_out: int = 0
    problems: list[ProblemRow] = field(default_factory=list)
    credits_needed: int | None = None
    balance: int | None = None
    balance_after: int | None = None

    @property
    def problem_count(self) -> int:
        return self.invalid + self.foreign + self.service + self.duplicates

    def leave_out_duplicates(self, chosen: bool) -> None:
        """Counts the file as marking will offer it with the choice (CallFile.
        leave_out_duplicates) made or not; reprice after."""
        self.records += self.left_out
        self.left_out = self.duplicates if chosen else 0
        self.records -= self.left_out

    def reprice(self, *, campaign: Campaign) -> None:
        """The cost and the campaign's balance now (nl); None where marking is not paid in
        credits."""
        if checks_charge_credits(campaign.register):
            # Seed 000: every record offered costs a credit, whatever it turns out to be.
            self.credits_needed = self.records
            self.balance = credit_balance(campaign=campaign)
            self.balance_after = self.balance - self.credits_needed

    @property
    def affordable(self) -> bool:
        return self.balance_after is None or self.balance_after >= 0


class NumbersSeen:
    """The numbers met so far, sorted, to tell a repeat from a first occurrence in file order.
    The validation counts the repeats with it, and the marking job leaves them out with it
    (CallFile.leave_out_duplicates): one rule of what a repeat is for both."""

    def __init__(self):
        self.numbers = np.empty(0, dtype=np.int64)

    def later(self, numbers: np.ndarray) -> np.ndarray:
        """A mask of `numbers` (in file order) that came before: earlier in the file or in
        `numbers` itself. Remembers them all."""
        # A stable sort keeps each number's first occurrence first among its equals. (Sorting
        # beats np.unique, whose hashing of int64 took seconds a chunk.)
        order = np.argsort(numbers, kind="stable")
        ordered = numbers[order]
        again = ordered[1:] == ordered[:-1]
        repeated = np.zeros(len(numbers), dtype=bool)
        repeated[order[1:][again]] = True
        if self.numbers.size:
            # Looked up in order: neighbouring needles share the cache lines they search.
            at = np.searchsorted(self.numbers, ordered).clip(max=self.numbers.size - 1)
            repeated[order[self.numbers[at] == ordered]] = True
        unique = ordered[np.concatenate(([True], ~again))] if ordered.size else ordered
        # Two sorted runs: the stable sort (timsort) merges them in linear time.
        self.numbers = np.sort(np.concatenate((self.numbers, unique)), kind="stable")
        return repeated

    def repeats(self, found) -> tuple[np.ndarray, np.ndarray, list]:
        """Of a chunk's normalised records (the normaliser's `many`, in file order): a mask of
        those with a number of this register, the indices of those whose number came before,
        and each record's problem (None for none)."""
        if isinstance(found, Batch):
            numbers, problems = found.numbers, found.problems
        else:
            numbers = [number for number, _problem in found]
            problems = [problem for _number, problem in found]
        # A problem is a non-empty string, no problem None: `not_` says which are this
        # register's numbers, in C.
        valid = np.fromiter(map(not_, problems), dtype=bool, count=len(problems))
        at = np.flatnonzero(valid)
        values = np.fromiter(compress(numbers, valid), dtype=np.int64, count=at.size)
        return valid, at[self.later(values)], problems


def call_file_problems(
    path: Path, file_settings: FileSettings, region: str, totals: Counter, counts: IntakeCounts
) -> Iterator[ProblemRow]:
    """Every problem row in line order, streamed; `totals` counts "records" and each reason as
    the rows pass, `counts` the blank lines. IntakeError for a file the scrub could not read."""
    normaliser = Normaliser(region)
    phone = file_settings.phone_column - 1
    records = intake_records(path, file_settings, counts)
    seen = NumbersSeen()
    while True:
        # Only the cells needed are kept, as in the scrub: a chunk of whole records held at
        # once outlives the young garbage collections and sets off full ones over the heap.
        lines, phones = [], []
        add_line, add_phone = lines.append, phones.append
        for line, fields in islice(records, CHUNK):
            add_line(line)
            add_phone(fields[phone])
        if not lines:
            return
        totals["records"] += len(lines)
        valid, repeated, problems = seen.repeats(normaliser.many(phones))
        repeats = set(repeated.tolist())
        for problem, count in Counter(problems).items():
            if problem is not None:
                totals[_REASONS[problem]] += count
        totals[ProblemReason.DUPLICATE] += len(repeats)
        bad = sorted([*np.flatnonzero(~valid).tolist(), *repeats])
        for i in bad:
            reason = ProblemReason.DUPLICATE if i in repeats else _REASONS[problems[i]]
            yield ProblemRow(lines[i], phones[i][:INPUT_SHOWN], reason)


def call_file_validate(
    *,
    path: Path,
    file_settings: FileSettings,
    region: str,
    campaign: Campaign,
    leave_out_duplicates: bool = False,
) -> Validation:
    """The whole file's counts and cost, and its first PROBLEMS_SHOWN problem rows; with
    `leave_out_duplicates`, the later repeats are not records offered."""
    totals, counts = Counter(), IntakeCounts()
    problems = []
    for row in call_file_problems(path, file_settings, region, totals, counts):
        if len(problems) < PROBLEMS_SHOWN:
            problems.append(row)
    validation = Validation(
        records=totals["records"],
        blank_lines=counts.blank,
        invalid=totals[ProblemReason.INVALID],
        foreign=totals[ProblemReason.FOREIGN],
        service=totals[ProblemReason.SERVICE],
        duplicates=totals[ProblemReason.DUPLICATE],
        problems=problems,
    )
    validation.leave_out_duplicates(leave_out_duplicates)
    validation.reprice(campaign=campaign)
    return validation
