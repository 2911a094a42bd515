from django.urls import path

from register import api

urlpatterns = [
    path("calling-window", api.CallingWindowView.as_view(), name="api-calling-window"),
    path("ivr/registrations", api.IvrRegistrationView.as_view(), name="api-ivr-registrations"),
]
