"""Orders in the API (SPEC §16): thin views over billing's services and selectors."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.files import invoice_file_response
from billing.models import Order, PaymentStatus
from billing.selectors import campaign_of_company, order_get, order_invoice
from billing.services import invoice_pdf_render, order_create, payment_start
from register.errors import DomainError, NotFound, api_errors


class OrderLineInput(serializers.Serializer):
    product = serializers.SlugField(max_length=40)
    quantity = serializers.IntegerField(min_value=1, max_value=100, default=1)
    campaign = serializers.IntegerField(required=False, allow_null=True, default=None)


class OrderInput(serializers.Serializer):
    lines = OrderLineInput(many=True, allow_empty=False)


class OrderLineOutput(serializers.Serializer):
    product = serializers.CharField(source="product.code")
    description = serializers.CharField()
    quantity = serializers.IntegerField()
    campaign = serializers.IntegerField(source="campaign_id", allow_null=True)
    unit_price_excl_vat = serializers.DecimalField(
        source="unit_price", max_digits=12, decimal_places=2
    )
    total_excl_vat = serializers.DecimalField(max_digits=12, decimal_places=2)
    vat = serializers.DecimalField(source="vat_amount", max_digits=12, decimal_places=2)


class InvoiceRef(serializers.Serializer):
    number = serializers.CharField()
    pdf_url = serializers.URLField(
        help_text="The PDF, from the moment the order is paid (rendered on first fetch if the "
        "worker has not yet)."
    )
    xml_url = serializers.URLField(
        allow_null=True,
        help_text="The Peppol BIS Billing 3.0 UBL document; null until it is rendered.",
    )


class OrderOutput(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    lines = OrderLineOutput(many=True)
    total_excl_vat = serializers.DecimalField(max_digits=12, decimal_places=2)
    vat = serializers.DecimalField(max_digits=12, decimal_places=2)
    total_incl_vat = serializers.DecimalField(max_digits=12, decimal_places=2)
    checkout_url = serializers.URLField(allow_null=True)
    payment_id = serializers.CharField(allow_null=True)
    invoice = InvoiceRef(allow_null=True)


def order_data(request, order: Order) -> dict:
    payment = order.payments.exclude(provider_id=None).order_by("-created_at", "-id").first()
    invoice = order_invoice(order=order)
    return OrderOutput(
        {
            "id": order.pk,
            "status": order.status,
            "lines": order.lines.select_related("product"),
            "total_excl_vat": order.total_excl_vat,
            "vat": order.vat_amount,
            "total_incl_vat": order.total_incl_vat,
            "checkout_url": (
                payment.checkout_url
                if payment and payment.status == PaymentStatus.OPEN and payment.checkout_url
                else None
            ),
            "payment_id": payment.provider_id if payment else None,
            "invoice": (
                {
                    "number": invoice.number,
                    # Present once paid, whether or not the worker has rendered the PDF yet:
                    # the PDF's own endpoint renders it if not (invoice_pdf_render).
                    "pdf_url": request.build_absolute_uri(
                        reverse("api-order-invoice-pdf", kwargs={"order_id": order.pk})
                    ),
                    "xml_url": request.build_absolute_uri(
                        reverse("api-order-invoice-xml", kwargs={"order_id": order.pk})
                    )
                    if invoice.xml
                    else None,
                }
                if invoice
                else None
            ),
        }
    ).data


class OrderListView(APIView):
    @extend_schema(
        request=OrderInput,
        responses={
            201: OrderOutput,
            **api_errors(
                "invalid",
                "order_empty",
                "product_not_offered",
                "invalid_quantity",
                "campaign_required",
                "not_found",
                "payment_provider_error",
            ),
        },
        summary="Order licences; pay at checkout_url",
        description=(
            "A product the register does not sell (the upload licence: requested in the portal "
            "and granted by the register's staff) is a 400 `not_for_sale`."
        ),
    )
    def post(self, request):
        data = OrderInput(data=request.data)
        data.is_valid(raise_exception=True)
        company = request.user.company
        lines = [
            {
                "product": line["product"],
                "quantity": line["quantity"],
                "campaign": (
                    campaign_of_company(company=company, campaign_id=line["campaign"])
                    if line["campaign"] is not None
                    else None
                ),
            }
            for line in data.validated_data["lines"]
        ]
        # The log names the key that ordered (never its secret): an API caller is no user.
        order = order_create(
            company=company, lines=lines, actor=f"API key {request.auth.name} #{request.auth.pk}"
        )
        if order.total_incl_vat > 0:
            payment_start(order=order, base_url=request.build_absolute_uri("/"))
        return Response(order_data(request, order), status=status.HTTP_201_CREATED)


class OrderDetailView(APIView):
    @extend_schema(
        responses={200: OrderOutput, **api_errors("not_found")},
        summary="An order, with its invoice once paid",
    )
    def get(self, request, order_id: int):
        order = order_get(company=request.user.company, order_id=order_id)
        return Response(order_data(request, order))


class OrderInvoicePdfView(APIView):
    @extend_schema(
        responses={
            (200, "application/pdf"): bytes,
            **api_errors("not_found"),
        },
        summary="The invoice PDF of a paid order",
        operation_id="orders_invoice_pdf",
    )
    def get(self, request, order_id: int):
        order = order_get(company=request.user.company, order_id=order_id)
        invoice = order_invoice(order=order)
        if invoice is None:
            raise NotFound
        if not invoice.pdf:
            # The worker has not rendered it yet: rendered now, once (see invoice_pdf_render).
            invoice = invoice_pdf_render(invoice_id=invoice.pk)
        return invoice_file_response(invoice, "pdf")


class InvoiceNotReady(DomainError):
    code = "not_ready"
    message = _("The e-invoice is not ready yet: it is made once the order is paid.")
    status = 409


class OrderInvoiceXmlView(APIView):
    @extend_schema(
        responses={
            (200, "application/xml"): bytes,
            **api_errors("not_found", "not_ready"),
        },
        summary="The invoice of a paid order as a Peppol BIS Billing 3.0 UBL document",
        description="409 `not_ready` until the order is paid and its document rendered.",
        operation_id="orders_invoice_xml",
    )
    def get(self, request, order_id: int):
        order = order_get(company=request.user.company, order_id=order_id)
        invoice = order_invoice(order=order)
        if invoice is None or not invoice.xml:
            raise InvoiceNotReady
        return invoice_file_response(invoice, "xml")
