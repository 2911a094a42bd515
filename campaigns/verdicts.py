"""The verdict on one number (SPEC §8.4, §8.5, §10): its status and why. A number check
(`campaigns.checks`) and a scrub (`campaigns.marking.job`) answer in these words."""

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
    COMPANY_OPT_OUT = "COMPANY_OPT_OUT", _("on your company's opt-out list")
    INVALID_NUMBER = "INVALID_NUMBER", _("not a valid telephone number")
    FOREIGN_NUMBER = "FOREIGN_NUMBER", _("a number of another country")
    NONE = "", _("none")


# Not a reason a number check gives: only a file carries opt-in dates (SPEC §8.5). Kept out of
# CheckReason, whose choices are the API's.
OPT_IN_AFTER_REGISTRATION = "OPT_IN_AFTER_REGISTRATION"


# The scrub's one-letter codes for `Problem`, as its temporary table holds them.
PROBLEM_CODES = {Problem.INVALID: "i", Problem.FOREIGN: "f", Problem.SERVICE: "s"}
