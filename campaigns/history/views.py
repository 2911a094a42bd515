"""The company's history (issue 13): every scrub, check batch and download across campaigns,
filtered, as a page or CSV; and the credits used per month as a chart with its table."""

import csv

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from campaigns.history.forms import HistoryFilterForm
from campaigns.history.selectors import company_history, credits_used_per_month
from licences.middleware import STAFF, company_required
from register.spreadsheets import spreadsheet_safe

# The chart's drawing area in SVG units; the browser scales it to the page's width.
CHART_WIDTH, CHART_HEIGHT, CHART_TOP = 600, 180, 16


def usage_chart(months: list[dict]) -> dict:
    """Bars of the credits used per month (scrubs below, checks stacked on top), as coordinates
    for the template's inline SVG: no script and nothing fetched from elsewhere."""
    peak = max((month["total"] for month in months), default=0)
    scale = peak or 1  # an empty year draws no bars
    slot = CHART_WIDTH / len(months)
    bars = []
    for index, month in enumerate(months):
        scrub = round(CHART_HEIGHT * month["scrub"] / scale, 1)
        check = round(CHART_HEIGHT * month["check"] / scale, 1)
        bars.append(
            {
                **month,
                "x": round(index * slot + slot * 0.15, 1),
                "width": round(slot * 0.7, 1),
                "label_x": round(index * slot + slot / 2, 1),
                "scrub_y": CHART_TOP + CHART_HEIGHT - scrub,
                "scrub_height": scrub,
                "check_y": CHART_TOP + CHART_HEIGHT - scrub - check,
                "check_height": check,
                "value_y": CHART_TOP + CHART_HEIGHT - scrub - check - 3,
            }
        )
    return {
        "bars": bars,
        "peak": peak,
        "width": CHART_WIDTH,
        "height": CHART_TOP + CHART_HEIGHT + 24,
        "month_y": CHART_TOP + CHART_HEIGHT + 18,
        "base": CHART_TOP + CHART_HEIGHT,
        "top": CHART_TOP,
    }


def _rows(request, form):
    if not form.is_valid():
        return []
    return company_history(
        company=request.company,
        campaign=form.cleaned_data["campaign"],
        user=form.cleaned_data["user"],
        since=form.cleaned_data["since"],
        until=form.cleaned_data["until"],
    )


@require_GET
@company_required(STAFF)
def history(request):
    form = HistoryFilterForm(request.GET or None, company=request.company)
    rows = _rows(request, form) if request.GET else company_history(company=request.company)
    if request.GET.get("format") == "csv":
        return _csv(request, rows)
    query = request.GET.copy()
    query["format"] = "csv"
    return render(
        request,
        "campaigns/history.html",
        {
            "form": form,
            "rows": [
                {
                    "row": row,
                    "url": reverse(row.url_name, args=row.url_args) if row.url_name else "",
                }
                for row in rows
            ],
            "csv_url": f"{reverse('history:list')}?{query.urlencode()}",
            "chart": usage_chart(credits_used_per_month(company=request.company)),
        },
    )


def _csv(request, rows) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="history.csv"'
    writer = csv.writer(response, delimiter=";")
    writer.writerow(
        ["kind", "at", "campaign", "user", "subject", "records", "credits", "status", "valid_until"]
    )
    zone = request.register.zone
    for row in rows:
        writer.writerow(
            [
                row.kind,
                row.at.astimezone(zone).isoformat(timespec="seconds"),
                spreadsheet_safe(row.campaign.name if row.campaign else ""),
                spreadsheet_safe(row.user),
                spreadsheet_safe(row.subject),
                "" if row.records is None else row.records,
                row.credits,
                row.status,
                row.valid_until.isoformat() if row.valid_until else "",
            ]
        )
    return response
