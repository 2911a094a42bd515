from django.urls import path

from billing.api import OrderDetailView, OrderInvoicePdfView, OrderInvoiceXmlView, OrderListView

urlpatterns = [
    path("orders", OrderListView.as_view(), name="api-orders"),
    path("orders/<int:order_id>", OrderDetailView.as_view(), name="api-order"),
    path(
        "orders/<int:order_id>/invoice.pdf",
        OrderInvoicePdfView.as_view(),
        name="api-order-invoice-pdf",
    ),
    path(
        "orders/<int:order_id>/invoice.xml",
        OrderInvoiceXmlView.as_view(),
        name="api-order-invoice-xml",
    ),
]
