from django.urls import path

from complaints import api

urlpatterns = [
    path("cases", api.CaseListView.as_view(), name="api-cases"),
    path("cases/<int:case_id>", api.CaseDetailView.as_view(), name="api-case"),
]
