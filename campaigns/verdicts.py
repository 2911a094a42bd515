"""The verdict on one number (SPEC §8.4, §8.5, §10): BLOCKED, CALLABLE, INVALID or OUT_OF_SCOPE,
and why. One table (`RULES`), read by both paths that give a verdict (STYLE 17):

- a number check (`campaigns.checks`) runs it in Python, per number, with `verdict`;
- a scrub (`campaigns.marking.job`) runs it in SQL, per record, as the CASEs `sql_case` writes.

A rule is the outcome and the facts that must all hold for it; the first rule whose facts hold
decides. A fact is measured by each path its own way (Python from the looked-up rows, SQL from
the columns of the match), so `FACTS` gives each its Python and its SQL side by side. A test
(tests/campaigns/test_verdicts.py) runs every rule through a single check, a batch check and a
real scrub, and expects the same answer from all three.
"""

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _

from register.phone import Problem


class CheckStatus(models.TextChoices):
    BLOCKED = "BLOCKED", _("blocked: do not call")
    CALLABLE = "CALLABLE", _("callable")
    INVALID = "INVALID", _("invalid")
    OUT_OF_SCOPE = "OUT_OF_SCOPE", _("outside this register")


class CheckReason(models.TextChoices):
    REGISTERED = "REGISTERED", _("registered in the register")
    REGISTERED_OTHER_CATEGORIES = (
        "REGISTERED_OTHER_CATEGORIES",
        _("registered, but not for this purpose"),
    )
    COMPANY_OPT_OUT = "COMPANY_OPT_OUT", _("on your company's opt-out list")
    INVALID_NUMBER = "INVALID_NUMBER", _("not a valid telephone number")
    FOREIGN_NUMBER = "FOREIGN_NUMBER", _("a number of another country")
    SERVICE_NUMBER = "SERVICE_NUMBER", _("a service number, which consumers cannot register")
    NONE = "", _("none")


# Not a reason a number check gives: only a file carries opt-in dates (SPEC §8.5). Kept out of
# CheckReason, whose choices are the API's.
OPT_IN_AFTER_REGISTRATION = "OPT_IN_AFTER_REGISTRATION"


@dataclass(frozen=True)
class Facts:
    """What is known of one number when its verdict is given (the Python path's input)."""

    # On an opt-out list that applies: the asking company's, and for a campaign its
    # advertiser's and its call centre's (campaigns.selectors.opt_out_companies).
    opted_out: bool
    # What is wrong with it as a number of this register; None for a number it holds.
    problem: Problem | None
    # Registered with a category of the purpose (or in a register without categories).
    covered: bool
    registered_on: datetime.date | None = None
    # The consumer's opt-in date from a call file; a check has none.
    opt_in: datetime.date | None = None


@dataclass(frozen=True)
class Fact:
    python: Callable[[Facts], bool]
    # A boolean SQL expression over the scrub's match columns `m.opted_out`, `m.problem` (the
    # codes of `PROBLEM_CODES`), `m.covered`, `m.registered_on`, `m.opt_in`.
    sql: str


# The scrub's one-letter codes for `Problem`, as its temporary table holds them.
PROBLEM_CODES = {Problem.INVALID: "i", Problem.FOREIGN: "f", Problem.SERVICE: "s"}

FACTS = {
    "opted out": Fact(lambda f: f.opted_out, "m.opted_out"),
    "invalid": Fact(
        lambda f: f.problem is Problem.INVALID, f"m.problem = '{PROBLEM_CODES[Problem.INVALID]}'"
    ),
    "foreign": Fact(
        lambda f: f.problem is Problem.FOREIGN, f"m.problem = '{PROBLEM_CODES[Problem.FOREIGN]}'"
    ),
    "service number": Fact(
        lambda f: f.problem is Problem.SERVICE, f"m.problem = '{PROBLEM_CODES[Problem.SERVICE]}'"
    ),
    "registered": Fact(lambda f: f.registered_on is not None, "m.registered_on IS NOT NULL"),
    "registered for the purpose": Fact(lambda f: f.covered, "m.covered"),
    # Seed 001: the consumer's latest act prevails; an opt-in on the day of registration does not
    # beat it.
    "opted in after registration": Fact(
        lambda f: (
            f.opt_in is not None and f.registered_on is not None and f.opt_in > f.registered_on
        ),
        "m.opt_in > m.registered_on",
    ),
}


@dataclass(frozen=True)
class Rule:
    facts: tuple[str, ...]
    status: str
    reason: str


# In order: the first rule whose facts all hold gives the verdict. An opt-out list always wins
# (SPEC §6, §8.5); a number that is no number of this register has no registration to
# look at; a registration for the purpose blocks unless the consumer opted in after it.
RULES = (
    Rule(("opted out",), CheckStatus.BLOCKED, CheckReason.COMPANY_OPT_OUT),
    Rule(("invalid",), CheckStatus.INVALID, CheckReason.INVALID_NUMBER),
    Rule(("foreign",), CheckStatus.OUT_OF_SCOPE, CheckReason.FOREIGN_NUMBER),
    # A service number (0800, 0900, 112, …) is a real number, so not INVALID, but consumers
    # cannot register it (SPEC §4).
    Rule(("service number",), CheckStatus.OUT_OF_SCOPE, CheckReason.SERVICE_NUMBER),
    Rule(
        ("registered for the purpose", "opted in after registration"),
        CheckStatus.CALLABLE,
        OPT_IN_AFTER_REGISTRATION,
    ),
    Rule(("registered for the purpose",), CheckStatus.BLOCKED, CheckReason.REGISTERED),
    # Registered only for other categories: callable, and said so, so that a registration date
    # beside CALLABLE does not read as an error (issue #13).
    Rule(("registered",), CheckStatus.CALLABLE, CheckReason.REGISTERED_OTHER_CATEGORIES),
    # Not registered.
    Rule((), CheckStatus.CALLABLE, CheckReason.NONE),
)


def verdict(facts: Facts) -> tuple[str, str]:
    """The (status, reason) of the first rule whose facts hold."""
    for rule in RULES:
        if all(FACTS[name].python(facts) for name in rule.facts):
            return rule.status, rule.reason
    raise AssertionError("the last rule holds always")


def sql_case(outcome: str) -> str:
    """A SQL CASE giving each record's `outcome` ("status" or "reason") by the same rules.
    Only this module's constants go into it."""
    whens = [
        f"WHEN {' AND '.join(FACTS[name].sql for name in rule.facts)}"
        f" THEN '{getattr(rule, outcome)}'"
        for rule in RULES
        if rule.facts
    ]
    otherwise = getattr(RULES[-1], outcome)
    return "CASE " + " ".join(whens) + f" ELSE '{otherwise}' END"
