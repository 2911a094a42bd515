"""The certificate of consultation (SPEC §8.7): rendered, signed by the register, and checked by
anyone on /verify/."""

import base64
import hashlib
import secrets
from urllib.parse import urlencode

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse

from campaigns.marking.signing import pdf_sign
from campaigns.models import CallFile, CallFileStatus
from licences.accounts import portal_base_url
from register.models import Register

# Read aloud or typed from paper: no 0/O or 1/I to confuse.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
REFERENCE_GROUPS = 2
REFERENCE_GROUP_LENGTH = 4


def certificate_reference_new(register: Register) -> str:
    """`NL-7K3M-Q9XD`: 40 random bits after the register's code. Only the reference together
    with the file's SHA-256 verifies, so a guessed reference reveals nothing."""
    groups = (
        "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_GROUP_LENGTH))
        for _ in range(REFERENCE_GROUPS)
    )
    return "-".join([register.slug.upper(), *groups])


def certificate_verify_url(call_file: CallFile) -> str:
    """Where the certificate's QR code leads: /verify/ on the register's own host, filled in."""
    query = urlencode({"reference": call_file.certificate_reference, "sha256": call_file.sha256})
    return f"{portal_base_url(call_file.register)}{reverse('verify')}?{query}"


def _qr_data_uri(text: str) -> str:
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(
        text,
        image_factory=qrcode.image.svg.SvgPathImage,
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        border=0,
    )
    return "data:image/svg+xml;base64," + base64.b64encode(image.to_string()).decode()


def call_file_certificate_render(*, call_file_id: int) -> CallFile | None:
    """The certificate of consultation (SPEC §8.7): rendered once for a finished scrub, signed by
    the register, and kept after the files are purged. Labels in Dutch and English at once, like
    an invoice: it is read by an inspector, whatever language the user reads the portal in."""
    from weasyprint import HTML

    with transaction.atomic():
        call_file = (
            CallFile.objects.select_for_update(of=("self",))
            .select_related("register", "campaign", "company")
            .filter(pk=call_file_id)
            .first()
        )
        if call_file is None or call_file.status != CallFileStatus.DONE or call_file.certificate:
            return call_file
        register = call_file.register
        # A run that died after choosing one chose nothing lasting: the reference is stored
        # only with the certificate that prints it.
        call_file.certificate_reference = certificate_reference_new(register)
        verify_url = certificate_verify_url(call_file)
        html = render_to_string(
            "campaigns/certificate_pdf.html",
            {
                "call_file": call_file,
                "register": register,
                "time_zone": register.time_zone,
                "purpose": " / ".join(
                    dict.fromkeys(
                        register.category_label(call_file.campaign.purpose, language)
                        for language in ("nl", "en")
                    )
                ),
                "verify_url": verify_url,
                "verify_page": verify_url.split("?", 1)[0],
                "qr_code": _qr_data_uri(verify_url),
            },
        )
        pdf = HTML(string=html, base_url=str(settings.BASE_DIR / "templates")).write_pdf()
        signed = pdf_sign(
            pdf, signer_name=f"{register.name} — {register.operator}", location=register.name
        )
        # An unguessable name: the certificate is only ever served through an access check.
        name = f"call-files/{register.slug}/{secrets.token_urlsafe(24)}.pdf"
        call_file.certificate.save(name, ContentFile(signed), save=False)
        call_file.certificate_sha256 = hashlib.sha256(signed).hexdigest()
        call_file.save(update_fields=["certificate", "certificate_reference", "certificate_sha256"])
    return call_file
