import uuid

from django import forms

from portal.tokens.models import Grant
from portal.vault.forms import parse_scopes


class GenerateForm(forms.Form):
    """What a person fills in to get a token. Validates only; the service does the work."""

    # The id of the credential the view already fetched through access.py (the only rule that
    # decides who may use it); the picker above the form lists ``credential_choices``.
    credential = forms.UUIDField(widget=forms.HiddenInput)
    grant_type = forms.ChoiceField(
        label="Grant type",
        choices=[
            (Grant.PASSWORD, "Password — a user token for you"),
            (Grant.CLIENT_CREDENTIALS, "Client credentials — a team application token"),
        ],
        initial=Grant.PASSWORD,
        widget=forms.RadioSelect,
    )
    upstream_username = forms.CharField(
        label="Gateway username",
        max_length=255,
        required=False,
        help_text="Built from the gateway's template and your API Store email; edit it if needed.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    password = forms.CharField(
        label="API Store password",
        required=False,
        strip=False,
        max_length=1024,
        help_text="Used for this one request and never stored.",
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}, render_value=False),
    )
    scopes = forms.MultipleChoiceField(
        label="Scopes",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="The credential's default scopes.",
    )
    extra_scopes = forms.CharField(
        label="Other scopes",
        required=False,
        max_length=2000,
        help_text="Space-separated, e.g. “read update”. The gateway may grant fewer than you ask for.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args, credentials, credential=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.credential_choices = credentials
        self.fields["idempotency_key"].initial = uuid.uuid4()
        # The view fetched the chosen credential through access.py; the queryset keeps the
        # choices honest.
        chosen = credential
        self.chosen_credential = chosen
        defaults = list(chosen.default_scopes or []) if chosen else []
        self.fields["scopes"].choices = [(s, s) for s in defaults]
        self.fields["scopes"].initial = defaults
        if chosen is not None:
            self.fields["credential"].initial = chosen.pk
            grants = chosen.allowed_grants
            self.fields["grant_type"].choices = [
                c for c in self.fields["grant_type"].choices if c[0] in grants
            ]
            self.fields["grant_type"].initial = grants[0]

    def clean_extra_scopes(self) -> list[str]:
        return parse_scopes(self.cleaned_data.get("extra_scopes", ""))

    def clean_credential(self):
        wanted = self.cleaned_data["credential"]
        if self.chosen_credential is None or wanted != self.chosen_credential.pk:
            raise forms.ValidationError("Choose one of your credentials.")
        return self.chosen_credential

    def clean(self):
        cleaned = super().clean()
        credential = cleaned.get("credential")
        grant = cleaned.get("grant_type")
        if credential and grant and not credential.allows_grant(grant):
            self.add_error("grant_type", "This credential does not allow that grant type.")
        if grant == Grant.PASSWORD:
            if not cleaned.get("upstream_username", "").strip():
                self.add_error("upstream_username", "Enter the username the gateway knows you by.")
            if not cleaned.get("password"):
                self.add_error("password", "Enter your API Store password.")
        scopes = list(cleaned.get("scopes") or [])
        for scope in cleaned.get("extra_scopes") or []:
            if scope not in scopes:
                scopes.append(scope)
        cleaned["all_scopes"] = scopes
        cleaned["upstream_username"] = cleaned.get("upstream_username", "").strip()
        return cleaned


class ConfirmForm(forms.Form):
    """The confirmation step of renew and revoke; carries an idempotency key for renewals."""

    idempotency_key = forms.UUIDField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["idempotency_key"].initial = uuid.uuid4()
