"""Resolve the register (tenant) from the host and scope everything in the request to it."""

from django.conf import settings
from django.http import Http404
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django_scopes import scope

from register.hotcache import cached
from register.models import Register, normalise_hostname

LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]")


def register_for_host(host: str) -> Register | None:
    hostname = normalise_hostname(host.rsplit(":", 1)[0] if not host.endswith("]") else host)
    return cached(("register-for-host", hostname), lambda: _register_for_hostname(hostname))


def _register_for_hostname(hostname: str) -> Register | None:
    if hostname in LOCAL_HOSTS:
        return Register.objects.filter(slug=settings.DEFAULT_REGISTER).first()
    # RegisterHost.hostname is unique and stored normalised: one index lookup, one register.
    return Register.objects.filter(hosts__hostname=hostname).first()


class RegisterMiddleware:
    """Sets request.register and the django-scopes scope; an unknown host is a 404 (SPEC §3)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.register = register_for_host(request.get_host())
        if request.register is None:
            # The language middleware never runs for this request: pick the 404 page's language
            # here, or it would be whatever the thread served last.
            translation.activate(
                RegisterLanguageMiddleware.choose(request, [code for code, _ in settings.LANGUAGES])
            )
            raise Http404("No register answers on this host.")
        with scope(register=request.register):
            return self.get_response(request)


class RegisterLanguageMiddleware:
    """Activates the visitor's language among the register's languages.

    A chosen language (cookie) wins, then the browser's Accept-Language, then the register's
    default language — never a language the register does not offer.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        register = getattr(request, "register", None)
        offered = register.languages if register else [settings.LANGUAGE_CODE]
        language = self.choose(request, offered)
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        patch_vary_headers(response, ("Accept-Language", "Cookie"))
        response.headers.setdefault("Content-Language", language)
        return response

    @staticmethod
    def choose(request, offered: list[str]) -> str:
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if chosen in offered:
            return chosen
        for accepted, _quality in translation.trans_real.parse_accept_lang_header(
            request.headers.get("Accept-Language", "")
        ):
            base = accepted.split("-")[0].lower()
            if base in offered:
                return base
        return offered[0]
