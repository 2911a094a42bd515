from django.urls import path

from campaigns.history import views

app_name = "history"

urlpatterns = [
    path("", views.history, name="list"),
]
