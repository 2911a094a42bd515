"""Payment providers behind one small interface (STYLE 6): see `base.py`."""

from billing.payments.base import PaymentProvider


def get_provider() -> PaymentProvider:
    """The provider payments are started with; Mollie is the only one (SPEC §12)."""
    from billing.payments.mollie import MollieProvider

    return MollieProvider()
