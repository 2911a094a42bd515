"""The open cases for the staff dashboard: how many at each stage, and which are overdue."""

from datetime import date

from django.db.models import Case as Switch
from django.db.models import Count, Q, QuerySet, Value, When
from django.utils.translation import gettext_lazy as _

from complaints.models import OPEN_STAGES, Case, Stage
from register.figures import Figures
from register.models import Register


def cases_open_by_stage(*, register: Register, today: date) -> Figures:
    """Open cases per stage (in the order of the workflow), overdue ones (a deadline before
    `today`) apart from the rest."""
    counts = {
        row["stage"]: row
        for row in Case.objects.filter(register=register, stage__in=OPEN_STAGES)
        .values("stage")
        .annotate(
            overdue=Count("pk", filter=Q(next_due__lt=today)),
            total=Count("pk"),
        )
    }
    stages = [stage for stage in OPEN_STAGES if stage in counts]
    return Figures(
        title=_("Open cases by stage"),
        heading=_("Stage"),
        rows=[str(Stage(stage).label) for stage in stages],
        columns=[str(_("overdue")), str(_("on time"))],
        cells=[[counts[s]["overdue"], counts[s]["total"] - counts[s]["overdue"]] for s in stages],
        stacked=True,
    )


def cases_open(*, register: Register, today: date) -> QuerySet[Case]:
    """The open cases, overdue ones first, then by their next deadline (none last)."""
    return (
        Case.objects.filter(register=register, stage__in=OPEN_STAGES)
        .annotate(late_last=Switch(When(next_due__lt=today, then=Value(0)), default=Value(1)))
        .order_by("late_last", "next_due", "received_at")
        .select_related("company")
    )
