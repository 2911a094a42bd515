"""Reads for /verify/ (SPEC §8.7): which certificate of this register, if any, an inspector holds.

Only a finished scrub has a certificate, a reference and a hash of its PDF, so a file not yet
marked, rejected or failed never matches. A purged file's certificate still does: the record of
the scrub and its certificate are kept as the proof (SPEC §8.9).
"""

import hashlib
import re

from campaigns.models import CallFile, CallFileStatus
from register.models import Register

SHA256 = re.compile(r"[0-9a-f]{64}")


def reference_normalise(reference: str) -> str:
    """As typed from paper: any case, spaces or dashes anywhere; `NL-7K3M-Q9XD` as stored."""
    letters = re.sub(r"[\s\-]+", "", reference).upper()
    parts = re.fullmatch(r"([A-Z]+?)([0-9A-Z]{4})([0-9A-Z]{4})", letters)
    return "-".join(parts.groups()) if parts else letters


def _issued(register: Register):
    return (
        CallFile.objects.filter(
            register=register, status=CallFileStatus.DONE, finished_at__isnull=False
        )
        .exclude(certificate_reference="")
        .select_related("company", "register")
    )


def certificate_find(*, register: Register, reference: str, sha256: str) -> CallFile | None:
    """The scrub whose certificate bears this reference and this call file's SHA-256; None when
    this register issued no such certificate (another register's included)."""
    sha256 = sha256.strip().lower()
    if not SHA256.fullmatch(sha256):
        return None
    return (
        _issued(register)
        .filter(certificate_reference=reference_normalise(reference), sha256=sha256)
        .first()
    )


def certificate_find_by_pdf(*, register: Register, content: bytes) -> CallFile | None:
    """The scrub whose certificate is exactly this PDF, byte for byte: a copy changed in any way
    (a single byte) is not the certificate the register signed."""
    return _issued(register).filter(certificate_sha256=hashlib.sha256(content).hexdigest()).first()


def certificate_facts(call_file: CallFile) -> dict:
    """What /verify/ says of a certificate it recognises, and nothing more (SPEC §16)."""
    return {
        "valid": True,
        "company": call_file.company.name,
        "file_name": call_file.filename,
        "file_sha256": call_file.sha256,
        "marked_at": call_file.finished_at.astimezone(call_file.register.zone).isoformat(),
        "counts": {
            "blocked": call_file.rows_blocked,
            "callable": call_file.rows_callable,
            "invalid": call_file.rows_invalid,
            "out_of_scope": call_file.rows_out_of_scope,
        },
    }
