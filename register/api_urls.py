from django.urls import path

from register import api

urlpatterns = [
    path("calling-window", api.CallingWindowView.as_view(), name="api-calling-window"),
]
