from django.urls import path

from register import views

app_name = "register"

urlpatterns = [
    path("", views.block, name="home"),
    path("block/", views.block, name="block"),
    path("confirm/<str:token>/", views.confirm, name="confirm"),
    path("check/", views.check, name="check"),
    path("manage/", views.manage, name="manage"),
    path("manage/sent/", views.manage_sent, name="manage_sent"),
    path("manage/<str:token>/", views.manage_edit, name="manage_edit"),
    path("manage/<str:token>/unblock/<int:number>/", views.manage_unblock, name="manage_unblock"),
    path("statistics/", views.statistics, name="statistics"),
    path("statistics/csv/", views.statistics_csv, name="statistics_csv"),
    path("privacy/", views.privacy, name="privacy"),
    path("accessibility/", views.accessibility, name="accessibility"),
]
