"""The dashboard's panels: each a table of figures from the statistics of its app, for one
register and period, drawn as a chart, shown as a table and exported as CSV."""

from dataclasses import dataclass
from datetime import date, timedelta

from django import forms
from django.utils.translation import gettext_lazy as _

from billing.statistics import revenue_per_product
from campaigns.statistics import usage_per_company
from complaints.statistics import cases_open_by_stage
from register.figures import Figures
from register.models import EventAction, Register
from register.statistics import (
    Granularity,
    Period,
    RegisterCounts,
    events_by_category,
    events_by_channel,
    register_size,
)

# Bars a chart can show legibly and a page can list: a period has at most this many buckets.
MAX_BUCKETS = 400
DEFAULT_DAYS = 91


class PeriodForm(forms.Form):
    start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("Until"), widget=forms.DateInput(attrs={"type": "date"}))
    by = forms.ChoiceField(label=_("Counted"), choices=Granularity.CHOICES)

    @classmethod
    def initial_for(cls, today: date) -> dict:
        return {"start": today - timedelta(days=DEFAULT_DAYS - 1), "end": today, "by": "week"}

    def clean(self):
        data = super().clean()
        start, end, by = data.get("start"), data.get("end"), data.get("by")
        if start and end and by:
            if start > end:
                raise forms.ValidationError(_("The period must start before it ends."))
            if len(Period(start=start, end=end, by=by).buckets()) > MAX_BUCKETS:
                raise forms.ValidationError(
                    _("That is more than %(max)d rows: count per week or per month instead.")
                    % {"max": MAX_BUCKETS}
                )
        return data


@dataclass
class Dashboard:
    """The panels of one register for one period; the register's counts are read once for all
    the panels made of them."""

    register: Register
    period: Period
    language: str

    def __post_init__(self):
        self.counts = RegisterCounts(register=self.register)
        self.today = self.register.today()

    def registrations(self) -> Figures:
        return events_by_channel(counts=self.counts, period=self.period, action=EventAction.BLOCK)

    def unblocks(self) -> Figures:
        return events_by_channel(counts=self.counts, period=self.period, action=EventAction.UNBLOCK)

    def registrations_by_category(self) -> Figures:
        return events_by_category(
            counts=self.counts,
            period=self.period,
            action=EventAction.BLOCK,
            language=self.language,
        )

    def unblocks_by_category(self) -> Figures:
        return events_by_category(
            counts=self.counts,
            period=self.period,
            action=EventAction.UNBLOCK,
            language=self.language,
        )

    def size(self) -> Figures:
        return register_size(counts=self.counts, period=self.period)

    def cases(self) -> Figures:
        return cases_open_by_stage(register=self.register, today=self.today)

    def usage(self) -> Figures:
        return usage_per_company(
            register=self.register, start=self.period.start, end=self.period.end
        )

    def revenue(self) -> Figures:
        return revenue_per_product(
            register=self.register,
            start=self.period.start,
            end=self.period.end,
            language=self.language,
        )


# The panels in the order of the page; the key names the panel's CSV.
PANELS = {
    "registrations": Dashboard.registrations,
    "unblocks": Dashboard.unblocks,
    "registrations-by-category": Dashboard.registrations_by_category,
    "unblocks-by-category": Dashboard.unblocks_by_category,
    "size": Dashboard.size,
    "cases": Dashboard.cases,
    "usage": Dashboard.usage,
    "revenue": Dashboard.revenue,
}
