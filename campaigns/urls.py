from django.urls import path

from campaigns import views

app_name = "campaigns"

urlpatterns = [
    path("", views.campaign_list, name="list"),
    path("new/", views.campaign_new, name="new"),
    path("<int:campaign_id>/", views.campaign_detail, name="detail"),
    path("<int:campaign_id>/respond/", views.invitation_respond, name="respond"),
    path("numbers/", views.number_search, name="number_search"),
    path("opt-outs/", views.opt_outs, name="opt_outs"),
    path("opt-outs/remove/", views.opt_out_remove_view, name="opt_out_remove"),
    path("opt-outs/upload/", views.opt_outs_upload_view, name="opt_outs_upload"),
    path("opt-outs/export/", views.opt_outs_export, name="opt_outs_export"),
]
