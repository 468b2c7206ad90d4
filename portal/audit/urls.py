from django.urls import path

from portal import views as placeholder

app_name = "audit"

# Placeholder until the audit pages land (issue: audit trail).
urlpatterns = [
    path("", placeholder.coming_soon, {"title": "Audit log"}, name="log"),
]
