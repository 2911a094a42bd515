from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.utils.translation import gettext_lazy as _


class RegisterConfig(AppConfig):
    name = "register"
    verbose_name = _("Register")

    def ready(self):
        from register.hotcache import watch_connection

        connection_created.connect(watch_connection, dispatch_uid="hot-cache")
