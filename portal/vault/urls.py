from django.urls import path

from portal import views as placeholder

app_name = "vault"

# Placeholder until the credential vault lands (issue: credential vault).
urlpatterns = [
    path("", placeholder.coming_soon, {"title": "Credentials"}, name="credential_list"),
]
