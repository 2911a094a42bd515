"""The Mollie webhook (SPEC §12): Mollie posts only `id=tr_…`; everything else is fetched."""

import logging

from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing.payments.base import PaymentProviderError
from billing.services import payment_sync
from register.errors import DomainError

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def mollie_webhook(request, token: str) -> HttpResponse:
    """200 once handled, also for ids we do not know or that do not match (Mollie's advice:
    never tell a prober which ids exist); 503 when Mollie could not be asked, so it retries."""
    try:
        payment_sync(payment_id=request.POST.get("id", ""), token=token)
    except PaymentProviderError:
        logger.warning("webhook: Mollie could not be reached; it will retry")
        return HttpResponse(status=503)
    except DomainError as error:
        logger.warning("webhook ignored: %s", error.code)
    return HttpResponse(status=200)
