from django.urls import path

from campaigns.checks import api

urlpatterns = [
    path("numbers/check", api.NumbersCheckView.as_view(), name="api-numbers-check"),
    path("numbers/<str:number>", api.NumberCheckView.as_view(), name="api-number"),
]
