from django.urls import path

from portal.audit import views

app_name = "audit"

urlpatterns = [
    path("", views.audit_log, name="log"),
    path("account/", views.account_activity, name="account"),
    path("all/", views.audit_all, name="all"),
    path("export.<str:fmt>", views.audit_export, name="export"),
]
