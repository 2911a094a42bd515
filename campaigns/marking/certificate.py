"""The certificate of consultation (SPEC §8.7)."""

import secrets

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.template.loader import render_to_string

from campaigns.models import CallFile, CallFileStatus


def call_file_certificate_render(*, call_file_id: int) -> CallFile | None:
    """The certificate of consultation (SPEC §8.7): rendered once for a finished scrub and kept
    after the files are purged. Labels in Dutch and English at once, like an invoice: it is read
    by an inspector, whatever language the user reads the portal in."""
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
        html = render_to_string(
            "campaigns/certificate_pdf.html",
            {
                "call_file": call_file,
                "register": call_file.register,
                "time_zone": call_file.register.time_zone,
                "purpose": " / ".join(
                    dict.fromkeys(
                        call_file.register.category_label(call_file.campaign.purpose, language)
                        for language in ("nl", "en")
                    )
                ),
            },
        )
        pdf = HTML(string=html, base_url=str(settings.BASE_DIR / "templates")).write_pdf()
        # An unguessable name: the certificate is only ever served through an access check.
        name = f"call-files/{call_file.register.slug}/{secrets.token_urlsafe(24)}.pdf"
        call_file.certificate.save(name, ContentFile(pdf), save=False)
        call_file.save(update_fields=["certificate"])
    return call_file
