from django import forms
from django.utils.translation import gettext_lazy as _

# A certificate is one page of some 100 KB: anything far larger is not one of ours.
PDF_MAX_BYTES = 5 * 1024 * 1024


class CertificateLookupForm(forms.Form):
    """The reference and the SHA-256 printed on the certificate (or in its QR code's link)."""

    reference = forms.CharField(
        label=_("Reference"),
        max_length=64,
        help_text=_("As printed on the certificate, for example NL-7K3M-Q9XD."),
    )
    sha256 = forms.CharField(
        label=_("SHA-256 of the call file"),
        max_length=100,
        help_text=_("The 64 characters printed on the certificate under “SHA-256”."),
    )

    def clean_sha256(self) -> str:
        value = "".join(self.cleaned_data["sha256"].split()).lower()
        if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
            raise forms.ValidationError(
                _("A SHA-256 is 64 characters, the digits 0-9 and the letters a-f.")
            )
        return value


class CertificatePdfForm(forms.Form):
    pdf = forms.FileField(
        label=_("The certificate (PDF)"),
        help_text=_("The PDF file exactly as the company received it."),
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,.pdf"}),
    )

    def clean_pdf(self):
        pdf = self.cleaned_data["pdf"]
        if pdf.size > PDF_MAX_BYTES:
            raise forms.ValidationError(_("This file is too large to be a certificate."))
        return pdf
