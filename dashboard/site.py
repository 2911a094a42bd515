"""The admin site whose index is the dashboard for staff of the host's register."""

from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _

from complaints.statistics import cases_open
from dashboard.panels import PANELS, Dashboard, PeriodForm
from register.admin_site import RegisterAdminSite
from register.statistics import Period

# Open cases listed under their chart, overdue ones first.
CASES_LISTED = 15


def _period(request, today) -> tuple[PeriodForm, Period]:
    """The period asked for, else (nothing asked, or a period that cannot be shown) the last
    three months per week; the form carries the errors to show."""
    initial = PeriodForm.initial_for(today)
    form = PeriodForm(request.GET if "start" in request.GET else None, initial=initial)
    data = form.cleaned_data if form.is_valid() else initial
    return form, Period(start=data["start"], end=data["end"], by=data["by"])


class DashboardAdminSite(RegisterAdminSite):
    index_title = _("Dashboard")

    def get_urls(self):
        return [
            path(
                "dashboard/<slug:panel>.csv",
                self.admin_view(self.panel_csv),
                name="dashboard_csv",
            ),
            *super().get_urls(),
        ]

    def index(self, request, extra_context=None):
        """The dashboard above the usual list of the admin's models."""
        register = request.register
        form, period = _period(request, register.today())
        dashboard = Dashboard(register=register, period=period, language=request.LANGUAGE_CODE)
        panels = [(key, panel(dashboard)) for key, panel in PANELS.items()]
        query = request.GET.urlencode() if form.is_bound and form.is_valid() else ""
        context = {
            **self.each_context(request),
            "title": self.index_title,
            "subtitle": None,
            "app_list": self.get_app_list(request),
            "form": form,
            "period": period,
            "panels": panels,
            "query": query,
            "cases": cases_open(register=register, today=dashboard.today)[:CASES_LISTED],
            "today": dashboard.today,
            **(extra_context or {}),
        }
        request.current_app = self.name
        return TemplateResponse(request, "admin/dashboard.html", context)

    def panel_csv(self, request, panel: str):
        if panel not in PANELS:
            raise Http404("No such panel.")
        register = request.register
        form, period = _period(request, register.today())
        if form.is_bound and not form.is_valid():
            return HttpResponseBadRequest(
                " ".join(str(error) for errors in form.errors.values() for error in errors),
                content_type="text/plain; charset=utf-8",
            )
        dashboard = Dashboard(register=register, period=period, language=request.LANGUAGE_CODE)
        figures = PANELS[panel](dashboard)
        response = HttpResponse(figures.csv(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="{register.slug}-{panel}-{period.start}-{period.end}.csv"'
        )
        return response
