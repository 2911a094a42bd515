from django.urls import path

from campaigns.verify import views

# Mounted at the site's root by campaigns.urls: the address printed on every certificate.
urlpatterns = [
    path("verify/", views.verify, name="verify"),
]
