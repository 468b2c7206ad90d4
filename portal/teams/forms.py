from django import forms

from portal.teams.models import Role, Team

ROLE_HELP = {
    Role.OWNER: "manages members and credentials, and sees and revokes every token",
    Role.ISSUER: "generates, renews and revokes their own tokens with the team's credentials, "
    "without seeing the secrets",
    Role.VIEWER: "reads the token history and the audit log; generates nothing",
}


class TeamCreateForm(forms.Form):
    name = forms.CharField(
        max_length=80,
        help_text="Unique across the portal, e.g. the product or squad name.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def __init__(self, *args, team=None, **kwargs):
        self.team = team
        super().__init__(*args, **kwargs)

    def clean_name(self):
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError("Enter a team name.")
        if not all(c.isprintable() for c in name):
            raise forms.ValidationError("Use printable characters only.")
        taken = Team.objects.filter(name__iexact=name, personal_owner__isnull=True)
        if self.team is not None:
            taken = taken.exclude(pk=self.team.pk)
        if taken.exists():
            raise forms.ValidationError("A team with this name already exists.")
        return name


class TeamRenameForm(TeamCreateForm):
    """The new name of a shared team (same rules as a new one)."""


class MemberAddForm(forms.Form):
    identifier = forms.CharField(
        label="Username or email",
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    role = forms.ChoiceField(
        choices=Role.choices,
        initial=Role.ISSUER,
        help_text="Owner: "
        + ROLE_HELP[Role.OWNER]
        + ". Issuer: "
        + ROLE_HELP[Role.ISSUER]
        + ". Viewer: "
        + ROLE_HELP[Role.VIEWER]
        + ".",
    )
    # Set by the confirmation page: the account the owner was shown, and their go-ahead.
    account = forms.IntegerField(required=False, widget=forms.HiddenInput)
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class TeamSwitchForm(forms.Form):
    team = forms.UUIDField()
