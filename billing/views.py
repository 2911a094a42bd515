"""Shop, checkout, return page and invoices of the company portal (SPEC §7, §12).

The order page is also where Mollie sends the buyer back: it shows the outcome and, while the
payment is open, asks for it every few seconds. Asking syncs the payment with Mollie, so the
page settles even when the webhook is late or lost.
"""

from contextlib import suppress

from django.contrib import messages
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from billing.files import invoice_file_response
from billing.forms import OrderForm
from billing.models import OrderStatus, PaymentStatus
from billing.selectors import invoice_get, invoices_for_company, order_get
from billing.services import (
    invoice_pdf_render,
    order_create,
    payment_start,
    payment_sync,
    vat_of,
)
from licences.middleware import EVERYONE, STAFF, company_required
from register.errors import DomainError, NotFound


def _order_get(request, order_id: int):
    try:
        return order_get(company=request.company, order_id=order_id)
    except NotFound:
        raise Http404 from None


def _start_payment(request, order):
    try:
        payment = payment_start(order=order, base_url=request.build_absolute_uri("/"))
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("billing:order", order_id=order.pk)
    return redirect(payment.checkout_url)


@require_http_methods(["GET", "POST"])
@company_required(STAFF)
def shop(request):
    company = request.company
    form = OrderForm(request.POST or None, company=company)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            order = order_create(
                company=company,
                lines=[
                    {
                        "product": form.cleaned_data["product"].code,
                        "quantity": form.cleaned_data["quantity"],
                        "campaign": form.cleaned_data["campaign"],
                    }
                ],
                created_by=request.user,
            )
        except DomainError as error:
            form.add_error(None, error.message)
            status = error.status
        else:
            if order.status != OrderStatus.OPEN:
                # Free products are settled at once: nothing to pay.
                return redirect("billing:order", order_id=order.pk)
            return _start_payment(request, order)
    vat_rate = request.register.vat_rate
    products = [
        {
            "product": product,
            "name": product.name(request.LANGUAGE_CODE),
            "price_incl_vat": product.price + vat_of(product.price, vat_rate),
        }
        for product in form.products.values()
    ]
    return render(
        request,
        "billing/portal/shop.html",
        {
            "form": form,
            "products": products,
            "vat_rate": vat_rate,
            "campaigns": form.campaigns,
        },
        status=status,
    )


@require_http_methods(["GET"])
@company_required(STAFF)
def order_detail(request, order_id: int):
    order = _order_get(request, order_id)
    return render(
        request,
        "billing/portal/order.html",
        {"order": order, "payment": order.payments.first(), "final": _is_final(order)},
    )


@require_POST
@company_required(STAFF)
def order_pay(request, order_id: int):
    order = _order_get(request, order_id)
    if order.status != OrderStatus.OPEN:
        raise Http404
    return _start_payment(request, order)


def _is_final(order) -> bool:
    return order.status != OrderStatus.OPEN


@require_http_methods(["GET"])
@never_cache
@company_required(STAFF)
def order_status(request, order_id: int):
    """The order's status as JSON for the waiting return page; syncs an open payment."""
    order = _order_get(request, order_id)
    payment = order.payments.first()
    if payment is not None and payment.status == PaymentStatus.OPEN and payment.provider_id:
        # Mollie unreachable: the page keeps waiting and asks again; the webhook may come.
        with suppress(DomainError):
            payment_sync(payment_id=payment.provider_id)
        order.refresh_from_db()
    return JsonResponse({"status": order.status, "final": _is_final(order)})


@require_http_methods(["GET"])
@company_required(EVERYONE)
def invoices(request):
    return render(
        request,
        "billing/portal/invoices.html",
        {"invoices": invoices_for_company(company=request.company)},
    )


def _invoice_file(request, invoice_id: int, field: str):
    try:
        invoice = invoice_get(company=request.company, invoice_id=invoice_id)
    except NotFound:
        raise Http404 from None
    if field == "pdf" and not invoice.pdf:
        # The worker has not rendered it yet: rendered now, once (see invoice_pdf_render).
        invoice = invoice_pdf_render(invoice_id=invoice.pk)
    if not getattr(invoice, field):
        raise Http404
    return invoice_file_response(invoice, field)


@require_http_methods(["GET"])
@company_required(EVERYONE)
def invoice_pdf(request, invoice_id: int):
    return _invoice_file(request, invoice_id, "pdf")


@require_http_methods(["GET"])
@company_required(EVERYONE)
def invoice_xml(request, invoice_id: int):
    """The Peppol BIS Billing 3.0 UBL document, for the customer's bookkeeping software."""
    return _invoice_file(request, invoice_id, "xml")
