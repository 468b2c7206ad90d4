from django import forms

from portal.teams.models import Role, Team


class TeamCreateForm(forms.Form):
    name = forms.CharField(
        max_length=80,
        help_text="Unique across the portal, e.g. the product or squad name.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def clean_name(self):
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError("Enter a team name.")
        if not all(c.isprintable() for c in name):
            raise forms.ValidationError("Use printable characters only.")
        if Team.objects.filter(name__iexact=name, personal_owner__isnull=True).exists():
            raise forms.ValidationError("A team with this name already exists.")
        return name


class MemberAddForm(forms.Form):
    identifier = forms.CharField(
        label="Username or email",
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    role = forms.ChoiceField(choices=Role.choices, initial=Role.ISSUER)
    # Set by the confirmation page: the account the owner was shown, and their go-ahead.
    account = forms.IntegerField(required=False, widget=forms.HiddenInput)
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class TeamSwitchForm(forms.Form):
    team = forms.UUIDField()
