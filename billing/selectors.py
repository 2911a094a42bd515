"""Reads for orders and invoices; company isolation is explicit (another company's is a 404)."""

from django.apps import apps
from django.db.models import QuerySet

from billing.models import Invoice, InvoiceKind, Order
from licences.models import Company
from register.errors import NotFound


def orders_for_company(*, company: Company) -> QuerySet[Order]:
    return Order.objects.filter(company=company).prefetch_related("lines__product")


def order_get(*, company: Company, order_id) -> Order:
    order = orders_for_company(company=company).filter(pk=order_id).first()
    if order is None:
        raise NotFound
    return order


def order_invoice(*, order: Order) -> Invoice | None:
    return Invoice.objects.filter(order=order, kind=InvoiceKind.INVOICE).first()


def invoices_for_company(*, company: Company) -> QuerySet[Invoice]:
    return Invoice.objects.filter(company=company).order_by("-issued_on", "-sequence")


def invoice_get(*, company: Company, invoice_id) -> Invoice:
    invoice = invoices_for_company(company=company).filter(pk=invoice_id).first()
    if invoice is None:
        raise NotFound
    return invoice


def campaign_of_company(*, company: Company, campaign_id):
    """A campaign the company owns (the one an nl licence is bought for), else NotFound.

    By app registry rather than import: billing sits above licences, beside campaigns (STYLE).
    """
    campaign_model = apps.get_model("campaigns", "Campaign")
    campaign = campaign_model.objects.filter(company=company, pk=campaign_id).first()
    if campaign is None:
        raise NotFound
    return campaign
