from django.urls import path

from billing.webhooks import mollie_webhook

app_name = "billing_webhooks"

urlpatterns = [
    path("webhooks/mollie/<str:token>/", mollie_webhook, name="mollie"),
]
