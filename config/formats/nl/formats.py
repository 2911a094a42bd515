"""One date format per language (issue 13): the short formats are the long ones, so a date reads
the same in a table as in a sentence."""

from django.conf.locale.nl.formats import *  # noqa: F403
from django.conf.locale.nl.formats import DATE_FORMAT, DATETIME_FORMAT

SHORT_DATE_FORMAT = DATE_FORMAT
SHORT_DATETIME_FORMAT = DATETIME_FORMAT
