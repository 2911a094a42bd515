from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.i18n import set_language

from config.api import api_urls

urlpatterns = [
    path("admin/", admin.site.urls),
    path(
        "api/v1/",
        include(
            api_urls(
                "billing.api_urls",
                "licences.api_urls",
                "campaigns.api_urls",
                "complaints.api_urls",
                "uploads.api_urls",
                "register.api_urls",
            )
        ),
    ),
    path("billing/", include("billing.webhook_urls")),
    path("billing/", include("billing.urls")),
    path("account/", include("licences.urls")),
    path("account/", include("allauth.urls")),
    path("", include("campaigns.urls")),
    path("cases/", include("complaints.urls")),
    path("registrations/", include("uploads.urls")),
    path("i18n/setlang/", set_language, name="set_language"),
    path("", include("register.urls")),
]

# Django's own 400/403/404/500 answers: JSON in the API's error shape under /api/, the HTML
# pages elsewhere (config/errors.py).
handler400 = "config.errors.bad_request"
handler403 = "config.errors.permission_denied"
handler404 = "config.errors.page_not_found"
handler500 = "config.errors.server_error"

if settings.DEBUG:
    from django.contrib.staticfiles.urls import staticfiles_urlpatterns

    urlpatterns += staticfiles_urlpatterns()
