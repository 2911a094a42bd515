"""Company users' accounts: sign-up with a verified e-mail address (SPEC §6).

A new account is inactive until its owner opens the link mailed to the address: Django's
authentication refuses inactive users, so an unverified account can neither log in nor create a
company or buy. The link is signed (`django.core.signing`) with the address in it, so it stops
working if the address changes, and expires after `VERIFICATION_DAYS`.
"""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from register.errors import DomainError
from register.mail import mail_on_commit
from register.models import Register

VERIFICATION_DAYS = 3
VERIFICATION_SALT = "licences.email-verification"


class VerificationLinkInvalid(DomainError):
    code = "link_invalid"
    message = _("This link is not valid. Check that you copied the whole link from the e-mail.")


class VerificationLinkExpired(DomainError):
    code = "link_expired"
    message = _("This link has expired. Sign up again to receive a new one.")


def normalise_email(email: str) -> str:
    return email.strip().lower()


def verification_token_make(*, user: AbstractBaseUser) -> str:
    return signing.dumps({"u": user.pk, "e": user.email}, salt=VERIFICATION_SALT)


def user_signup(
    *, register: Register, email: str, password: str, language: str, base_url: str
) -> None:
    """Creates an inactive account and mails its verification link.

    The answer is the same whether or not the address already has an account, so the sign-up
    form does not tell strangers who has one: an active account's owner is mailed a reminder to
    log in instead, an unverified account gets a fresh link (and keeps its first password, or
    anyone could reset it by signing up again).
    """
    email = normalise_email(email)
    user_model = get_user_model()
    with transaction.atomic():
        user = user_model.objects.select_for_update().filter(username=email).first()
        if user is None:
            user = user_model(username=email, email=email, is_active=False)
            user.set_password(password)
            user.save()
        if user.is_active:
            mail_on_commit(
                register=register,
                to=email,
                language=language,
                template="licences/email/account_exists",
                context={"login_url": base_url.rstrip("/") + reverse("licences:login")},
            )
            return
        url = base_url.rstrip("/") + reverse(
            "licences:verify", kwargs={"token": verification_token_make(user=user)}
        )
        mail_on_commit(
            register=register,
            to=email,
            language=language,
            template="licences/email/verify_email",
            context={"url": url, "days": VERIFICATION_DAYS},
        )


def user_for_verification(*, token: str) -> AbstractBaseUser:
    """The account a verification link is for; raises when the link is bad or too old."""
    try:
        data = signing.loads(token, salt=VERIFICATION_SALT, max_age=timedelta(VERIFICATION_DAYS))
    except signing.SignatureExpired as error:
        raise VerificationLinkExpired from error
    except signing.BadSignature as error:
        raise VerificationLinkInvalid from error
    user = get_user_model().objects.filter(pk=data["u"], email=data["e"]).first()
    if user is None:
        raise VerificationLinkInvalid
    return user


def user_verify(*, token: str) -> AbstractBaseUser:
    """Activates the account; opening the link twice is harmless."""
    user = user_for_verification(token=token)
    if not user.is_active:
        user.is_active = True
        user.save(update_fields=["is_active"])
    return user
