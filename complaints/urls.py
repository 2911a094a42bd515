from django.urls import path

from complaints import views

app_name = "complaints"

urlpatterns = [
    path("", views.portal_list, name="list"),
    path("file/", views.portal_new, name="file"),
    path("<int:case_id>/", views.portal_detail, name="detail"),
    path("<int:case_id>/letters/<int:letter_id>/", views.portal_letter, name="letter"),
    path(
        "<int:case_id>/attachments/<int:attachment_id>/",
        views.portal_attachment,
        name="attachment",
    ),
    path("new/", views.public_new, name="new"),
    path("report/", views.report_new, name="report"),
    path("report/filed/", views.report_filed, name="report_filed"),
    path("follow/<str:token>/", views.public_follow, name="follow"),
    path("follow/<str:token>/letters/<int:letter_id>/", views.public_letter, name="follow_letter"),
    path(
        "follow/<str:token>/attachments/<int:attachment_id>/",
        views.public_attachment,
        name="follow_attachment",
    ),
]
