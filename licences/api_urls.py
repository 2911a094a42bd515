from django.urls import path

from licences import api

urlpatterns = [
    path("me", api.MeView.as_view(), name="api-me"),
    path("licences", api.LicenceListView.as_view(), name="api-licences"),
    path("credits", api.CreditsView.as_view(), name="api-credits"),
]
