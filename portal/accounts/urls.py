from django.urls import path

from portal.accounts import two_factor_views, views

app_name = "accounts"

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("login/code/", two_factor_views.login_code, name="login_code"),
    path("logout/", views.logout_view, name="logout"),
    path("2fa/", two_factor_views.two_factor_status, name="two_factor"),
    path("2fa/setup/", two_factor_views.two_factor_setup, name="two_factor_setup"),
    path("2fa/disable/", two_factor_views.two_factor_disable, name="two_factor_disable"),
    path("signup/", views.signup, name="signup"),
    path("profile/", views.profile, name="profile"),
    path("password/", views.password_change, name="password_change"),
    path("sessions/", views.sessions, name="sessions"),
    path("sessions/end-others/", views.sessions_end_others, name="sessions_end_others"),
]
