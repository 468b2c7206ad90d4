from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm

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
        super().save_model(request, obj, form, change)
        if not change:
            personal_team_ensure(user=obj, actor=request.user)
