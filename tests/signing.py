"""Production settings require the register's signing key and certificate: the tests that start
the application with them make a pair of their own."""

from pathlib import Path

from campaigns.marking.signing import signing_pair_write


def signing_environment(directory: Path) -> dict[str, str]:
    path = directory / "signing.pem"
    signing_pair_write(path)
    return {"CERTIFICATE_SIGNING_KEY": str(path), "CERTIFICATE_SIGNING_CERT": str(path)}
