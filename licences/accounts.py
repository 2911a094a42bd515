"""Company users' and staff accounts on django-allauth (SPEC §3, §6, §17).

allauth signs people up, confirms their address with a mailed code, logs them in by e-mail
address, resets and changes passwords and runs TOTP two-factor. This module holds what is ours:

- the adapter: the client address of `register.clientip`, mail from the register's name, user
  names that are the e-mail address, and a logged warning for each login refused by the
  failed-login limit;
- invitations: an owner made by staff (`create_company`) or a member added by an owner gets a
  mail with a link to set a password. The link is allauth's password-reset link, so it is made by
  the same token generator: valid for `PASSWORD_RESET_TIMEOUT` (72 h) and only until a password is
  set. Following it proves the mailbox, so the address then counts as confirmed.
"""

import logging
from types import SimpleNamespace

from allauth.account import app_settings as account_settings
from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.models import EmailAddress
from allauth.account.utils import user_pk_to_url_str
from allauth.core import context as allauth_context
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.forms import ValidationError
from django.urls import reverse

from register.clientip import client_ip
from register.mail import mail_on_commit, mail_queue, register_sender
from register.models import Register

logger = logging.getLogger(__name__)

INVITATION_HOURS = settings.PASSWORD_RESET_TIMEOUT // 3600


def normalise_email(email: str) -> str:
    return email.strip().lower()


def user_for_email(email: str) -> AbstractBaseUser | None:
    """The account an address belongs to, confirmed or not."""
    email = normalise_email(email)
    address = EmailAddress.objects.filter(email__iexact=email).select_related("user").first()
    if address is not None:
        return address.user
    return get_user_model().objects.filter(email__iexact=email).first()


def email_confirm(*, user: AbstractBaseUser) -> None:
    """Marks the account's address as confirmed (and primary): its owner proved the mailbox."""
    email = normalise_email(user.email)
    updated = EmailAddress.objects.filter(user=user, email__iexact=email).update(
        verified=True, primary=True
    )
    if not updated:
        EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)


def user_invite(*, register: Register, user: AbstractBaseUser, language: str, base_url: str):
    """Mails the set-password link: allauth's password-reset link for this account."""
    token = account_settings.PASSWORD_RESET_TOKEN_GENERATOR().make_token(user)
    path = reverse(
        "account_reset_password_from_key",
        kwargs={"uidb36": user_pk_to_url_str(user), "key": token},
    )
    mail_on_commit(
        register=register,
        to=user.email,
        language=language,
        template="licences/email/invitation",
        context={
            "url": base_url.rstrip("/") + path,
            "hours": INVITATION_HOURS,
            "login_url": base_url.rstrip("/") + reverse("account_login"),
        },
    )


def user_get_or_invite(
    *, register: Register, email: str, language: str, base_url: str
) -> tuple[AbstractBaseUser, bool]:
    """The account of `email`, and whether it was mailed an invitation now.

    A new account is made without a password. New accounts and accounts whose address nobody
    has confirmed yet (an invitation not taken up, a sign-up left halfway) are mailed a link to
    set a password; following it confirms the address. Until then nobody can log in to such an
    account: a stranger who signed the address up would need the code mailed to it.
    """
    email = normalise_email(email)
    with transaction.atomic():
        user = user_for_email(email)
        if user is None:
            user = get_user_model()(username=email, email=email)
            user.set_unusable_password()
            user.save()
            EmailAddress.objects.create(user=user, email=email, verified=False, primary=True)
        elif EmailAddress.objects.filter(user=user, verified=True).exists() or not user.is_active:
            return user, False
        user_invite(register=register, user=user, language=language, base_url=base_url)
    return user, True


def portal_base_url(register: Register) -> str:
    """The portal's address for mails sent without a request (commands, scheduled jobs)."""
    return settings.PORTAL_BASE_URL_TEMPLATE.format(host=register.hostnames[0]).rstrip("/")


class AccountAdapter(DefaultAccountAdapter):
    def get_client_ip(self, request) -> str:
        return client_ip(request)

    def populate_username(self, request, user) -> None:
        """The user name is the e-mail address, as for every account made before allauth."""
        email = normalise_email(user.email or "")
        if email and len(email) <= get_user_model()._meta.get_field("username").max_length:
            user.username = email
        else:
            super().populate_username(request, user)

    def get_from_email(self) -> str:
        register = getattr(allauth_context.request, "register", None)
        if register is None:
            return super().get_from_email()
        return register_sender(register)

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        """allauth's mails greet and sign with the register's name, not the host name, and go
        through the register's outbox like every other mail (register/mail.py)."""
        request = allauth_context.request
        register = getattr(request, "register", None)
        if register is not None:
            site = SimpleNamespace(name=register.name, domain=request.get_host())
            context = {"current_site": site, "register": register, **context}
            mail_queue(register=register, message=self.render_mail(template_prefix, email, context))
            return
        super().send_mail(template_prefix, email, context)

    def format_email_subject(self, subject) -> str:
        register = getattr(allauth_context.request, "register", None)
        prefix = f"[{register.name}] " if register is not None else ""
        return prefix + str(subject)

    def _get_login_attempts_cache_key(self, request, **credentials) -> str:
        """Failed logins count per account, whichever register's host they were tried on."""
        return normalise_email(credentials.get("email", credentials.get("username", "")))

    def pre_authenticate(self, request, **credentials) -> None:
        try:
            super().pre_authenticate(request, **credentials)
        except ValidationError:
            logger.warning(
                "Login refused, too many failed attempts: account=%s client=%s",
                normalise_email(credentials.get("email", credentials.get("username", ""))),
                client_ip(request),
            )
            raise


def unconfirmed_account_password_clear(*, email: str) -> None:
    """Someone signs up an address that has an account whose address nobody confirmed: that
    account's password, chosen by whoever signed up first, stops working. Its owner sets one
    through the mailed link. Accounts with a confirmed address are left alone, and so are those
    with no address row at all (made with `createsuperuser`, not by a sign-up)."""
    address = (
        EmailAddress.objects.filter(email__iexact=normalise_email(email))
        .select_related("user")
        .first()
    )
    if address is None or EmailAddress.objects.filter(user=address.user, verified=True).exists():
        return
    user = address.user
    if user.has_usable_password():
        user.set_unusable_password()
        user.save(update_fields=["password"])
