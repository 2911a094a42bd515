"""The register's signature on its certificates of consultation (PAdES, with pyHanko).

Production reads the key and its certificate from the files the settings name. Development and
tests have none configured: a key and a self-signed certificate are made once under
`CERTIFICATE_SIGNING_DEV_DIR`, so every certificate is signed the same way everywhere.
"""

import datetime
import functools
import io
import os
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

DEV_FILE = "development.pem"


def signing_paths() -> tuple[Path, Path]:
    """The key's and the certificate's PEM files: the settings', or the development pair."""
    key, cert = settings.CERTIFICATE_SIGNING_KEY, settings.CERTIFICATE_SIGNING_CERT
    if key and cert:
        return Path(key), Path(cert)
    if key or cert:
        raise ImproperlyConfigured(
            "Set both CERTIFICATE_SIGNING_KEY and CERTIFICATE_SIGNING_CERT, or neither."
        )
    if not settings.CERTIFICATE_SIGNING_DEV_DIR:
        raise ImproperlyConfigured(
            "Set CERTIFICATE_SIGNING_KEY and CERTIFICATE_SIGNING_CERT: certificates of "
            "consultation are signed."
        )
    path = Path(settings.CERTIFICATE_SIGNING_DEV_DIR) / DEV_FILE
    if not path.exists():
        signing_pair_write(path)
    # One file holds both, written at once: two processes never pair one's key with
    # another's certificate.
    return path, path


def signing_pair_write(path: Path) -> None:
    """A new key and its self-signed certificate, both in one PEM file at `path`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Do-not-call register portal"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Certificates of consultation (development)"),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ) + cert.public_bytes(serialization.Encoding.PEM)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".signing-")
    with os.fdopen(handle, "wb") as out:
        out.write(pem)
    os.chmod(temporary, 0o600)
    # Another process may have written its pair meanwhile: either whole file is a good pair.
    os.replace(temporary, path)


@functools.cache
def _signer(key: Path, cert: Path, password: str):
    from pyhanko.sign import signers

    signer = signers.SimpleSigner.load(
        str(key), str(cert), key_passphrase=password.encode() if password else None
    )
    if signer is None:
        raise ImproperlyConfigured(f"Cannot read the signing key {key} or certificate {cert}.")
    return signer


def signing_certificate_pem() -> bytes:
    """The signing certificate, for whoever validates a signature (and for the tests)."""
    _key, cert = signing_paths()
    text = cert.read_bytes()
    start = text.index(b"-----BEGIN CERTIFICATE-----")
    return text[start:]


def pdf_sign(pdf: bytes, *, signer_name: str, location: str) -> bytes:
    """The PDF with the register's PAdES signature (B-B) appended as an incremental update."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    key, cert = signing_paths()
    signer = _signer(key, cert, settings.CERTIFICATE_SIGNING_KEY_PASSWORD)
    metadata = signers.PdfSignatureMetadata(
        field_name="Register",
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        name=signer_name,
        location=location,
        reason="Certificate of consultation",
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    return signers.sign_pdf(writer, metadata, signer=signer).getvalue()
