"""Revenue for the staff dashboard: per product and month, net of credit notes."""

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import F, Sum
from django.utils.translation import gettext_lazy as _

from billing.models import InvoiceKind, OrderLine
from licences.models import LicenceProduct
from register.figures import Figures
from register.models import Register


def _months(start: date, end: date) -> list[date]:
    months, month = [], start.replace(day=1)
    while month <= end:
        months.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    return months


def revenue_per_product(*, register: Register, start: date, end: date, language: str) -> Figures:
    """Revenue excluding VAT per month of issue and product, from `start` to `end`: the lines of
    the orders invoiced, less those of the invoices credited (a credit note reverses its invoice
    whole, in the month it is issued)."""
    rows = (
        OrderLine.objects.filter(
            order__register=register,
            order__invoices__issued_on__gte=start,
            order__invoices__issued_on__lte=end,
        )
        .values(
            "product",
            kind=F("order__invoices__kind"),
            issued_on=F("order__invoices__issued_on"),
        )
        .annotate(total=Sum("total_excl_vat"))
    )
    totals: dict[tuple[date, int], Decimal] = defaultdict(Decimal)
    for row in rows:
        sign = -1 if row["kind"] == InvoiceKind.CREDIT_NOTE else 1
        totals[row["issued_on"].replace(day=1), row["product"]] += sign * row["total"]
    products = list(
        LicenceProduct.objects.filter(
            register=register, pk__in={product for _month, product in totals}
        ).order_by("position", "code")
    )
    months = _months(start, end)
    return Figures(
        title=_("Revenue per product (excl. VAT)"),
        heading=_("Month"),
        rows=[month.strftime("%Y-%m") for month in months],
        columns=[product.name(language) for product in products],
        cells=[
            [totals.get((month, product.pk), Decimal("0.00")) for product in products]
            for month in months
        ],
        stacked=True,
    )
