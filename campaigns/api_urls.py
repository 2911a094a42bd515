from django.urls import path

from campaigns import api

urlpatterns = [
    path("campaigns", api.CampaignListView.as_view(), name="api-campaigns"),
    path("campaigns/<int:campaign_id>", api.CampaignDetailView.as_view(), name="api-campaign"),
    path("numbers/check", api.NumbersCheckView.as_view(), name="api-numbers-check"),
    path("numbers/<str:number>", api.NumberCheckView.as_view(), name="api-number"),
    path("opt-outs", api.OptOutListView.as_view(), name="api-opt-outs"),
    path("opt-outs/upload", api.OptOutUploadView.as_view(), name="api-opt-outs-upload"),
    path("opt-outs/<str:number>", api.OptOutDetailView.as_view(), name="api-opt-out"),
]
