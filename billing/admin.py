"""Accounting in the admin (SPEC §12): invoices by period and kind, PDFs and Peppol UBL
documents, CSV and a zip of the UBL documents, credit notes.

Invoices, orders and payments change only through services; the admin shows them read-only.
"""

import csv

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from billing.files import invoice_file_response
from billing.models import (
    Invoice,
    InvoiceKind,
    InvoiceLine,
    Order,
    OrderLine,
    Payment,
    SupplierProfile,
)
from billing.services import credit_note_issue, invoice_balance
from billing.services.einvoices import invoices_xml_zip
from register.admin import ReadOnlyAdmin
from register.audit_admin import ActionLogInline
from register.errors import DomainError
from register.spreadsheets import spreadsheet_safe

# A spreadsheet runs a text cell that starts with one of these as a formula (SPEC §17).

CSV_COLUMNS = [
    ("number", _("number")),
    ("kind", _("kind")),
    ("issued_on", _("issue date")),
    ("supplied_on", _("supply date")),
    ("customer_name", _("customer")),
    ("customer_vat_id", _("customer VAT id")),
    ("customer_chamber_number", _("customer KvK/KBO")),
    ("total_excl_vat", _("total excl. VAT")),
    ("vat_rate", _("VAT rate (%)")),
    ("vat_amount", _("VAT")),
    ("total_incl_vat", _("total incl. VAT")),
    ("payment_reference", _("payment reference")),
    ("corrects", _("corrects invoice")),
]
TEXT_COLUMNS = {"number", "kind", "customer_name", "customer_vat_id", "customer_chamber_number"}
TEXT_COLUMNS |= {"payment_reference", "corrects"}


def invoice_csv_row(invoice: Invoice) -> list[str]:
    row = []
    for field, _label in CSV_COLUMNS:
        value = getattr(invoice, field)
        if field == "corrects":
            value = value.number if value else ""
        value = "" if value is None else str(value)
        row.append(spreadsheet_safe(value) if field in TEXT_COLUMNS else value)
    return row


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 0
    can_delete = False
    fields = ["position", "description", "quantity", "unit_price", "vat_amount", "total_excl_vat"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class CreditedFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "credited"

    def lookups(self, request, model_admin):
        return [("no", _("standing")), ("yes", _("credited"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(kind=InvoiceKind.INVOICE, credit_notes__isnull=False)
        if self.value() == "no":
            return queryset.filter(kind=InvoiceKind.INVOICE, credit_notes__isnull=True)
        return queryset


class CreditNoteForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=300)
    override_reason = forms.CharField(
        label=_("Refund used licences anyway, because"),
        max_length=300,
        required=False,
        help_text=_(
            "Used credits and used downloads are not refunded (seed 000). Only to make an "
            "exception: say why; it is logged."
        ),
    )


class PartialCreditNoteForm(CreditNoteForm):
    """A credit note for some lines of one invoice (a quantity per line) or for an amount."""

    BY_LINE, BY_AMOUNT = "lines", "amount"

    mode = forms.ChoiceField(
        label=_("Credit"),
        choices=[(BY_LINE, _("the quantities below")), (BY_AMOUNT, _("an amount"))],
        widget=forms.RadioSelect,
        initial=BY_LINE,
    )
    amount = forms.DecimalField(
        label=_("Amount excl. VAT"), max_digits=12, decimal_places=2, min_value=0, required=False
    )

    def __init__(self, *args, balance, **kwargs):
        super().__init__(*args, **kwargs)
        self.balance = balance
        for position, rest in balance.lines.items():
            self.fields[f"line_{position}"] = forms.IntegerField(
                label=f"{position}. {rest.line.description}",
                min_value=0,
                max_value=rest.quantity,
                initial=0,
                required=False,
                help_text=_("at most %(quantity)d") % {"quantity": rest.quantity},
            )
        self.order_fields(["mode", *[f"line_{p}" for p in balance.lines], "amount"])

    def clean(self):
        data = super().clean()
        if data.get("mode") == self.BY_AMOUNT and not data.get("amount"):
            self.add_error("amount", _("Give the amount to credit."))
        return data

    def credit(self) -> dict:
        """The arguments of `credit_note_issue` for what the form chose."""
        data = self.cleaned_data
        chosen = {"reason": data["reason"], "override_reason": data["override_reason"]}
        if data["mode"] == self.BY_AMOUNT:
            return {**chosen, "amount": data["amount"]}
        lines = {p: data.get(f"line_{p}") or 0 for p in self.balance.lines}
        return {**chosen, "lines": lines}


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = [
        "number",
        "kind",
        "issued_on",
        "customer_name",
        "total_excl_vat",
        "vat_amount",
        "total_incl_vat",
        "mailed_at",
        "pdf_link",
        "xml_link",
    ]
    list_filter = ["kind", CreditedFilter, "issued_on"]
    date_hierarchy = "issued_on"
    search_fields = ["number", "customer_name", "payment_reference"]
    inlines = [InvoiceLineInline, ActionLogInline]
    exclude = ["pdf", "xml"]
    readonly_fields = ["credit_link"]
    actions = ["export_csv", "export_xml_zip", "issue_credit_notes"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("corrects")

    # The stored files of an invoice and their links' texts.
    FILES = {"pdf": _("PDF"), "xml": _("UBL")}

    def get_urls(self):
        return (
            [
                path(
                    "<int:invoice_id>/credit/",
                    self.admin_site.admin_view(self.credit_view),
                    name="billing_invoice_credit",
                ),
            ]
            + [
                path(
                    f"<int:invoice_id>/{field}/",
                    self.admin_site.admin_view(self.file_view),
                    {"field": field},
                    name=f"billing_invoice_{field}",
                )
                for field in self.FILES
            ]
            + super().get_urls()
        )

    def file_view(self, request, invoice_id: int, field: str):
        invoice = self.get_queryset(request).filter(pk=invoice_id).first()
        if invoice is None or not getattr(invoice, field):
            raise Http404
        return invoice_file_response(invoice, field, as_attachment=False)

    def _file_link(self, invoice, field: str):
        if not getattr(invoice, field):
            return _("being rendered")
        url = reverse(f"admin:billing_invoice_{field}", kwargs={"invoice_id": invoice.pk})
        return format_html('<a href="{}">{}</a>', url, self.FILES[field])

    @admin.display(description=_("PDF"))
    def pdf_link(self, invoice):
        return self._file_link(invoice, "pdf")

    @admin.display(description=_("Peppol UBL"))
    def xml_link(self, invoice):
        return self._file_link(invoice, "xml")

    @admin.display(description=_("credit note"))
    def credit_link(self, invoice):
        if invoice.kind != InvoiceKind.INVOICE:
            return "—"
        url = reverse("admin:billing_invoice_credit", kwargs={"invoice_id": invoice.pk})
        return format_html('<a href="{}">{}</a>', url, _("Credit all or part of this invoice"))

    def credit_view(self, request, invoice_id: int):
        """Issues a credit note for some lines or an amount of one invoice."""
        invoice = self.get_queryset(request).filter(pk=invoice_id, kind=InvoiceKind.INVOICE).first()
        if invoice is None:
            raise Http404
        if not self.has_credit_permission(request):
            raise PermissionDenied
        balance = invoice_balance(invoice)
        form = PartialCreditNoteForm(
            request.POST if request.method == "POST" else None, balance=balance
        )
        if form.is_valid():
            try:
                credit_note = credit_note_issue(
                    invoice=invoice, actor=request.user, **form.credit()
                )
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                self.message_user(
                    request,
                    _("Credit note %(number)s issued.") % {"number": credit_note.number},
                    messages.SUCCESS,
                )
                return redirect("admin:billing_invoice_change", credit_note.pk)
        return render(
            request,
            "admin/billing/invoice/partial_credit_note.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Credit note for %(number)s") % {"number": invoice.number},
                "invoice": invoice,
                "balance": balance,
                "form": form,
                "opts": self.model._meta,
            },
        )

    def has_credit_permission(self, request):
        # A credit note is a new invoice: anyone who may read invoices may not issue one.
        return request.user.has_perm("billing.add_invoice")

    @admin.action(
        description=_("Export the selected invoices as CSV (a period: filter, select all)")
    )
    def export_csv(self, request, queryset):
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="invoices.csv"'
        # A BOM so spreadsheet programs read the file as UTF-8.
        response.write("\ufeff")
        writer = csv.writer(response, delimiter=";")
        writer.writerow([str(label) for _field, label in CSV_COLUMNS])
        for invoice in queryset.order_by("kind", "year", "sequence"):
            writer.writerow(invoice_csv_row(invoice))
        return response

    @admin.action(
        description=_(
            "Export the selected invoices' Peppol UBL documents as a zip (a period: filter, "
            "select all)"
        )
    )
    def export_xml_zip(self, request, queryset):
        content, missing = invoices_xml_zip(queryset.order_by("kind", "year", "sequence"))
        if missing:
            # Rendered by the delivery task a moment after issue; say which are left out.
            self.message_user(
                request,
                _("Not rendered yet, left out of the zip: %(numbers)s")
                % {"numbers": ", ".join(missing)},
                messages.WARNING,
            )
        response = HttpResponse(content, content_type="application/zip")
        response["Content-Disposition"] = 'attachment; filename="invoices-ubl.zip"'
        return response

    @admin.action(
        description=_("Issue a credit note for the selected invoices"), permissions=["credit"]
    )
    def issue_credit_notes(self, request, queryset):
        form = CreditNoteForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            for invoice in queryset:
                try:
                    credit_note = credit_note_issue(
                        invoice=invoice, reason=form.cleaned_data["reason"], actor=request.user
                    )
                except DomainError as error:
                    self.message_user(request, f"{invoice}: {error.message}", messages.ERROR)
                    continue
                # The admin's own append-only log records who credited what, and why.
                self.log_addition(
                    request,
                    credit_note,
                    [{"added": {"name": "credit note", "object": str(invoice)}}],
                )
                self.message_user(
                    request,
                    _("Credit note %(number)s issued.") % {"number": credit_note.number},
                    messages.SUCCESS,
                )
            return None
        return render(
            request,
            "admin/billing/invoice/credit_note.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Issue credit notes"),
                "invoices": queryset,
                "form": form,
                "opts": self.model._meta,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    can_delete = False
    fields = ["description", "product", "campaign", "quantity", "unit_price", "total_excl_vat"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ["id", "company", "kind", "status", "total_incl_vat", "created_at", "paid_at"]
    list_filter = ["status", "kind"]
    date_hierarchy = "created_at"
    search_fields = ["id", "company__name"]
    inlines = [OrderLineInline]


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ["provider_id", "order", "status", "amount", "created_at", "settled_at"]
    list_filter = ["status"]
    search_fields = ["provider_id"]
    exclude = ["webhook_token_hash"]


@admin.register(SupplierProfile)
class SupplierProfileAdmin(admin.ModelAdmin):
    """The operator on the invoices; a superuser makes it for a new register (data, not code)."""

    list_display = ["legal_name", "vat_id", "chamber_number", "invoice_prefix"]

    def get_readonly_fields(self, request, obj=None):
        # A register's invoices copy its profile: it never moves to another register.
        return ["register"] if obj is not None else []

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return False
