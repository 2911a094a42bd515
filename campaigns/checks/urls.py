from django.urls import path

from campaigns.checks import views

# Included in campaigns.urls, in the `campaigns:` namespace.
urlpatterns = [
    path("numbers/", views.number_search, name="number_search"),
]
