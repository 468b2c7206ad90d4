"""Users in the admin: every write is audited like the portal's own (creation, changes with old
-> new values for the flags that grant power, passwords set by an administrator); users are
deactivated, not deleted."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db import transaction

from portal.accounts import services
from portal.accounts.forms import clean_login_email, clean_new_username
from portal.accounts.models import User
from portal.teams.services import personal_team_ensure


class PortalUserCreationForm(AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("username",)

    def clean_username(self):
        return clean_new_username(self.cleaned_data["username"])


class PortalUserChangeForm(UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User

    def clean_username(self):
        username = self.cleaned_data["username"]
        if "username" not in self.changed_data:
            return username  # an older account keeps its name until it is renamed
        return clean_new_username(username, exclude_pk=self.instance.pk)

    def clean_email(self):
        return clean_login_email(self.cleaned_data.get("email", ""), exclude_pk=self.instance.pk)


@admin.register(User)
class PortalUserAdmin(UserAdmin):
    add_form = PortalUserCreationForm
    form = PortalUserChangeForm
    fieldsets = UserAdmin.fieldsets + (("Portal", {"fields": ("display_name", "api_store_email")}),)

    def save_model(self, request, obj, form, change):
        before = services.user_audited_values(User.objects.get(pk=obj.pk)) if change else None
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            if change:
                services.user_record_changed(user=obj, before=before, actor=request.user)
            else:
                services.user_record_created(user=obj, actor=request.user)
                personal_team_ensure(user=obj, actor=request.user)

    def save_related(self, request, form, formsets, change):
        # Groups and permissions are saved after the user: audit what they became.
        before = services.user_audited_values(form.instance) if change else None
        super().save_related(request, form, formsets, change)
        if change:
            services.user_record_changed(user=form.instance, before=before, actor=request.user)

    def user_change_password(self, request, id, form_url=""):
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:
            services.password_set_by_admin(user=User.objects.get(pk=id), actor=request.user)
        return response

    def has_delete_permission(self, request, obj=None):
        # Deleting would take the personal team and token records along: deactivate instead.
        return False
