from django.urls import path

from billing import views

app_name = "billing"

urlpatterns = [
    path("shop/", views.shop, name="shop"),
    path("orders/<int:order_id>/", views.order_detail, name="order"),
    path("orders/<int:order_id>/pay/", views.order_pay, name="order_pay"),
    path("orders/<int:order_id>/status/", views.order_status, name="order_status"),
    path("invoices/", views.invoices, name="invoices"),
    path("invoices/<int:invoice_id>/pdf/", views.invoice_pdf, name="invoice_pdf"),
    path("invoices/<int:invoice_id>/xml/", views.invoice_xml, name="invoice_xml"),
]
