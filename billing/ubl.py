"""Peppol BIS Billing 3.0 documents (UBL 2.1) of issued invoices and credit notes (SPEC §12).

`invoice_ubl()` is a pure function of the invoice as issued: every value comes from the copy on
the invoice (parties, lines, totals), never from today's company or supplier profile, so the
XML says what the PDF says. Amounts are the invoice's own, rounded as it was (VAT per line,
totals as sums of the lines); nothing is recomputed here, so a document that does not add up is
caught by the validator rather than hidden. A credit note's amounts are negative in the
database and positive in UBL, where the document type carries the sign.

Invoices are issued when their order is paid (through Mollie), so an invoice states the whole
amount as prepaid and nothing payable; a credit note leaves its amount payable to the customer.
The element order follows the UBL 2.1 schema (the validator does not check it; access points do).
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING
from xml.etree import ElementTree as ET

if TYPE_CHECKING:
    from billing.models import Invoice, InvoiceLine

CUSTOMIZATION_ID = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PROFILE_ID = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"

NS_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
NS_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
ET.register_namespace("cac", CAC)
ET.register_namespace("cbc", CBC)

# UNCL1001 document types: commercial invoice, credit note.
INVOICE_TYPE_CODE = "380"
CREDIT_NOTE_TYPE_CODE = "381"
# UNCL4461: SEPA credit transfer to the supplier's IBAN (NL-R-008 allows 30, 48, 49, 57-59).
PAYMENT_MEANS_CODE = "58"
# UNCL5305 standard rate; UN/ECE rec. 20 "one" (C62) for licences counted in units.
VAT_CATEGORY = "S"
UNIT_CODE = "C62"

# Peppol EAS (electronic address scheme) and ICD codes used for the parties' identifiers.
SCHEME_BE_ENTERPRISE = "0208"  # Belgian enterprise number (KBO/BCE), 10 digits
SCHEME_NL_KVK = "0106"  # Dutch chamber of commerce (KvK), 8 digits
# A VAT number as endpoint, per country (EAS 99xx), for a party with no registry number above.
VAT_ENDPOINT_SCHEMES = {
    "AT": "9914",
    "BE": "9925",
    "DE": "9930",
    "FR": "9957",
    "IT": "0211",
    "LU": "9938",
    "NL": "9944",
}


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value or "")


def enterprise_number(*, vat_id: str, chamber_number: str) -> str:
    """A Belgian enterprise number: the KBO number as registered, else the VAT id's digits."""
    for candidate in (_digits(chamber_number), _digits(vat_id)):
        if len(candidate) == 9:  # the old nine-digit form takes a leading zero
            candidate = "0" + candidate
        if len(candidate) == 10:
            return candidate
    return ""


def legal_entity_id(*, country: str, vat_id: str, chamber_number: str) -> tuple[str, str]:
    """(scheme, id) of a party's legal registration (BT-30/BT-47), or ("", "") if unknown.

    Belgium: the enterprise number (0208); the Netherlands: the KvK number (0106), which
    NL-R-003 and NL-R-005 require of Dutch parties. Elsewhere the number as given, no scheme.
    """
    if country == "BE":
        number = enterprise_number(vat_id=vat_id, chamber_number=chamber_number)
        return (SCHEME_BE_ENTERPRISE, number) if number else ("", "")
    if country == "NL":
        kvk = _digits(chamber_number)
        return (SCHEME_NL_KVK, kvk) if len(kvk) == 8 else ("", "")
    return ("", chamber_number.strip())


def endpoint_id(*, country: str, vat_id: str, chamber_number: str) -> tuple[str, str]:
    """(scheme, id) of a party's Peppol address (BT-34/BT-49), or ("", "") if none is known.

    The registry number where Peppol has a scheme for it (Belgian enterprise number 0208, Dutch
    KvK 0106; the schemes Belgian and Dutch participants register under), else the VAT number
    under its country's VAT scheme.
    """
    scheme, number = legal_entity_id(country=country, vat_id=vat_id, chamber_number=chamber_number)
    if scheme:
        return scheme, number
    vat = re.sub(r"[\s.\-]", "", vat_id or "").upper()
    vat_scheme = VAT_ENDPOINT_SCHEMES.get(vat[:2])
    if vat_scheme:
        return vat_scheme, vat
    return "", ""


def _amount(value: Decimal) -> str:
    return f"{value:.2f}"


class _Builder:
    """Appends UBL's common components (cbc: basic, cac: aggregate) to a document."""

    def __init__(self, currency: str):
        self.currency = currency

    def cbc(self, parent: ET.Element, name: str, text, **attrs) -> ET.Element:
        element = ET.SubElement(parent, f"{{{CBC}}}{name}", {k: v for k, v in attrs.items() if v})
        element.text = str(text)
        return element

    def cac(self, parent: ET.Element, name: str) -> ET.Element:
        return ET.SubElement(parent, f"{{{CAC}}}{name}")

    def money(self, parent: ET.Element, name: str, value: Decimal) -> ET.Element:
        return self.cbc(parent, name, _amount(value), currencyID=self.currency)

    def tax_category(self, parent: ET.Element, name: str, rate: Decimal) -> None:
        category = self.cac(parent, name)
        self.cbc(category, "ID", VAT_CATEGORY)
        self.cbc(category, "Percent", f"{rate.normalize():f}")
        self.cbc(self.cac(category, "TaxScheme"), "ID", "VAT")

    def party(self, parent: ET.Element, name: str, *, party: Party) -> None:
        element = self.cac(self.cac(parent, name), "Party")
        scheme, endpoint = endpoint_id(**party.ids)
        if endpoint:
            self.cbc(element, "EndpointID", endpoint, schemeID=scheme)
        self.cbc(self.cac(element, "PartyName"), "Name", party.name)
        address = self.cac(element, "PostalAddress")
        for tag, value in (
            ("StreetName", party.street),
            ("CityName", party.city),
            ("PostalZone", party.postcode),
        ):
            if value:
                self.cbc(address, tag, value)
        self.cbc(self.cac(address, "Country"), "IdentificationCode", party.country)
        if party.vat_id:
            tax_scheme = self.cac(element, "PartyTaxScheme")
            self.cbc(tax_scheme, "CompanyID", party.vat_id)
            self.cbc(self.cac(tax_scheme, "TaxScheme"), "ID", "VAT")
        legal = self.cac(element, "PartyLegalEntity")
        self.cbc(legal, "RegistrationName", party.name)
        scheme, number = legal_entity_id(**party.ids)
        if number:
            self.cbc(legal, "CompanyID", number, schemeID=scheme)
        if party.email:
            self.cbc(self.cac(element, "Contact"), "ElectronicMail", party.email)


def _country(country: str, address: str) -> str:
    """The country code; an invoice issued before the parts were copied has it as the last
    line of its printed address (billing.services builds it so)."""
    if country:
        return country
    last = address.strip().splitlines()[-1].strip() if address.strip() else ""
    return last if re.fullmatch(r"[A-Z]{2}", last) else ""


@dataclass(frozen=True)
class Party:
    """A party as copied onto the invoice (`supplier_*` or `customer_*` fields)."""

    name: str
    street: str
    postcode: str
    city: str
    country: str
    vat_id: str
    chamber_number: str
    email: str

    @classmethod
    def of(cls, invoice: Invoice, role: str) -> Party:
        def copied(field: str) -> str:
            return getattr(invoice, f"{role}_{field}").strip()

        return cls(
            name=copied("name"),
            street=copied("street"),
            postcode=copied("postcode"),
            city=copied("city"),
            country=_country(copied("country"), copied("address")),
            vat_id=copied("vat_id"),
            chamber_number=copied("chamber_number"),
            email=copied("email"),
        )

    @property
    def ids(self) -> dict[str, str]:
        return {
            "country": self.country,
            "vat_id": self.vat_id,
            "chamber_number": self.chamber_number,
        }


def invoice_ubl(invoice: Invoice, *, lines: list[InvoiceLine], pdf: bytes | None = None) -> bytes:
    """The Peppol BIS Billing 3.0 UBL document of an issued invoice or credit note.

    `lines` are the invoice's lines in order; `pdf`, when given, is embedded as the document's
    visual representation. For a credit note, `invoice.corrects` names the invoice it corrects.
    """
    credit = invoice.kind == "credit_note"
    sign = Decimal(-1) if credit else Decimal(1)
    # The document's namespace as the default one, as in OpenPEPPOL's examples: every other
    # element is cac: or cbc:, so only the root is in it (ElementTree would call it ns0:).
    root = ET.Element(
        "CreditNote" if credit else "Invoice",
        xmlns=NS_CREDIT_NOTE if credit else NS_INVOICE,
    )
    b = _Builder(invoice.currency)
    b.cbc(root, "CustomizationID", CUSTOMIZATION_ID)
    b.cbc(root, "ProfileID", PROFILE_ID)
    b.cbc(root, "ID", invoice.number)
    b.cbc(root, "IssueDate", invoice.issued_on.isoformat())
    if credit:
        b.cbc(root, "CreditNoteTypeCode", CREDIT_NOTE_TYPE_CODE)
        b.cbc(root, "Note", invoice.reason or invoice.corrects.number)
    else:
        # Paid when issued: due on the day of issue.
        b.cbc(root, "DueDate", invoice.issued_on.isoformat())
        b.cbc(root, "InvoiceTypeCode", INVOICE_TYPE_CODE)
    b.cbc(root, "DocumentCurrencyCode", invoice.currency)
    if invoice.order_id is not None:
        # PEPPOL-EN16931-R003: a buyer reference or an order reference; ours is the order the
        # customer placed in the portal.
        b.cbc(b.cac(root, "OrderReference"), "ID", invoice.order_id)
    if credit:
        reference = b.cac(b.cac(root, "BillingReference"), "InvoiceDocumentReference")
        b.cbc(reference, "ID", invoice.corrects.number)
        b.cbc(reference, "IssueDate", invoice.corrects.issued_on.isoformat())
    if pdf:
        document = b.cac(root, "AdditionalDocumentReference")
        b.cbc(document, "ID", invoice.number)
        b.cbc(document, "DocumentDescription", "Credit note" if credit else "Invoice")
        b.cbc(
            b.cac(document, "Attachment"),
            "EmbeddedDocumentBinaryObject",
            base64.b64encode(pdf).decode("ascii"),
            mimeCode="application/pdf",
            filename=f"{invoice.number}.pdf",
        )
    b.party(root, "AccountingSupplierParty", party=Party.of(invoice, "supplier"))
    b.party(root, "AccountingCustomerParty", party=Party.of(invoice, "customer"))
    b.cbc(b.cac(root, "Delivery"), "ActualDeliveryDate", invoice.supplied_on.isoformat())
    if credit:
        terms = b.cac(root, "PaymentTerms")
        b.cbc(terms, "Note", f"Corrects invoice {invoice.corrects.number}.")
    else:
        means = b.cac(root, "PaymentMeans")
        b.cbc(means, "PaymentMeansCode", PAYMENT_MEANS_CODE)
        if invoice.structured_reference or invoice.payment_reference:
            b.cbc(means, "PaymentID", invoice.structured_reference or invoice.payment_reference)
        if invoice.supplier_iban:
            account = b.cac(means, "PayeeFinancialAccount")
            b.cbc(account, "ID", re.sub(r"\s", "", invoice.supplier_iban))
            b.cbc(account, "Name", invoice.supplier_name)
        if invoice.payment_reference:
            b.cbc(
                b.cac(root, "PaymentTerms"),
                "Note",
                f"Paid through Mollie, reference {invoice.payment_reference}.",
            )

    # An invoice has one VAT rate (the register's), so the breakdown has one subtotal: the
    # lines' amounts and their VAT, each line rounded as issued.
    line_total = sum((line.total_excl_vat for line in lines), Decimal("0.00"))
    line_vat = sum((line.vat_amount for line in lines), Decimal("0.00"))
    tax_total = b.cac(root, "TaxTotal")
    b.money(tax_total, "TaxAmount", sign * invoice.vat_amount)
    subtotal = b.cac(tax_total, "TaxSubtotal")
    b.money(subtotal, "TaxableAmount", sign * line_total)
    b.money(subtotal, "TaxAmount", sign * line_vat)
    b.tax_category(subtotal, "TaxCategory", invoice.vat_rate)

    totals = b.cac(root, "LegalMonetaryTotal")
    b.money(totals, "LineExtensionAmount", sign * line_total)
    b.money(totals, "TaxExclusiveAmount", sign * invoice.total_excl_vat)
    b.money(totals, "TaxInclusiveAmount", sign * invoice.total_incl_vat)
    if credit:
        b.money(totals, "PayableAmount", sign * invoice.total_incl_vat)
    else:
        b.money(totals, "PrepaidAmount", invoice.total_incl_vat)
        b.money(totals, "PayableAmount", Decimal("0.00"))

    for line in lines:
        element = b.cac(root, "CreditNoteLine" if credit else "InvoiceLine")
        b.cbc(element, "ID", line.position)
        b.cbc(
            element,
            "CreditedQuantity" if credit else "InvoicedQuantity",
            sign * line.quantity,
            unitCode=UNIT_CODE,
        )
        b.money(element, "LineExtensionAmount", sign * line.total_excl_vat)
        item = b.cac(element, "Item")
        b.cbc(item, "Name", line.description)
        b.tax_category(item, "ClassifiedTaxCategory", invoice.vat_rate)
        b.money(b.cac(element, "Price"), "PriceAmount", line.unit_price)

    body = ET.tostring(root, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body).encode()
