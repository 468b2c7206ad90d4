"""Credential forms: validation only. The secret field is never rendered with a value."""

import re

from django import forms

from portal.vault import selectors
from portal.vault.models import Gateway

# Printable ASCII without spaces (WSO2 keys are alphanumeric; anything else is a paste mistake).
KEY_RE = re.compile(r"^[\x21-\x7E]{1,256}$")
ORG_KEY_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
SCOPE_RE = re.compile(r"^[\x21\x23-\x5B\x5D-\x7E]+$")
MAX_SCOPES = 50
MAX_SCOPE_LENGTH = 200

_KEY_ERROR = "Use 1-256 printable ASCII characters without spaces."
_NO_AUTOFILL = {"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"}


class UnechoedTextInput(forms.TextInput):
    """A visible text box that is never rendered with the submitted value (a failed submission
    does not put the consumer key back into the page; the user types it again)."""

    def get_context(self, name, value, attrs):
        return super().get_context(name, None, attrs)


def parse_scopes(text: str) -> list[str]:
    """Space-separated scopes -> a list without duplicates; ``ValidationError`` for bad tokens."""
    scopes: list[str] = []
    for scope in (text or "").split():
        if len(scope) > MAX_SCOPE_LENGTH or not SCOPE_RE.match(scope):
            raise forms.ValidationError(
                "“%(scope)s” is not a valid scope: scopes are separated by spaces and may not "
                "contain quotes or backslashes.",
                params={"scope": scope[:MAX_SCOPE_LENGTH]},
                code="scope",
            )
        if scope not in scopes:
            scopes.append(scope)
    if len(scopes) > MAX_SCOPES:
        raise forms.ValidationError(f"At most {MAX_SCOPES} default scopes.", code="too_many")
    return scopes


class CredentialForm(forms.Form):
    """Create (``credential=None``) or edit a credential of ``team``.

    On edit, blank consumer key, secret and org key mean "keep the stored value"."""

    name = forms.CharField(max_length=80, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    gateway = forms.ModelChoiceField(
        queryset=Gateway.objects.none(), empty_label=None, help_text="Set up by an administrator."
    )
    consumer_key = forms.CharField(
        max_length=256,
        widget=UnechoedTextInput(attrs=_NO_AUTOFILL),
        help_text="From the API Store: Applications → your application → keys.",
    )
    consumer_secret = forms.CharField(
        max_length=256,
        # "new-password", not "off": browsers ignore "off" on password boxes and would autofill
        # the user's portal login password here.
        widget=forms.PasswordInput(
            render_value=False, attrs={**_NO_AUTOFILL, "autocomplete": "new-password"}
        ),
        help_text="Stored encrypted; never shown again, not even to you.",
    )
    org_key = forms.CharField(
        label="Organization key",
        max_length=64,
        required=False,
        widget=forms.TextInput(attrs=_NO_AUTOFILL),
        help_text="Needed when the gateway's usernames contain it (API Cloud: email@orgkey).",
    )
    clear_org_key = forms.BooleanField(label="Remove the stored organization key", required=False)
    default_scopes = forms.CharField(
        required=False,
        max_length=4000,
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "read update"}),
        help_text="Separated by spaces; offered first when generating a token.",
    )
    allow_password = forms.BooleanField(
        label="Password grant (tokens for a user)", required=False, initial=True
    )
    allow_client_credentials = forms.BooleanField(
        label="Client credentials grant (application tokens)", required=False
    )

    # Never sent back to the browser: after an error the summary asks for them again.
    retype_fields = ("consumer_key", "consumer_secret")

    def __init__(self, *args, team, credential=None, has_org_key: bool = False, **kwargs):
        self.team = team
        self.credential = credential
        self.has_org_key = has_org_key
        if credential is not None:
            kwargs.setdefault(
                "initial",
                {
                    "name": credential.name,
                    "gateway": credential.gateway_id,
                    "default_scopes": credential.scopes_display,
                    "allow_password": credential.allow_password,
                    "allow_client_credentials": credential.allow_client_credentials,
                },
            )
        super().__init__(*args, **kwargs)
        self.fields["gateway"].queryset = selectors.gateway_list()
        if credential is None:
            del self.fields["clear_org_key"]
        else:
            for name in ("consumer_key", "consumer_secret"):
                self.fields[name].required = False
            self.fields["gateway"].help_text = (
                "Moving the credential to another gateway needs its consumer key and secret "
                "entered again."
            )
            self.fields[
                "consumer_key"
            ].help_text = f"Leave blank to keep the stored key ({credential.masked_key})."
            self.fields[
                "consumer_secret"
            ].help_text = "Leave blank to keep the stored secret. It is never shown again."
            self.fields["org_key"].help_text = (
                "Leave blank to keep the stored one."
                if has_org_key
                else "None stored. " + self.fields["org_key"].help_text
            )
            if not has_org_key:
                del self.fields["clear_org_key"]

    def clean_name(self):
        name = " ".join(self.cleaned_data["name"].split())
        if not name or not all(c.isprintable() for c in name):
            raise forms.ValidationError("Enter a name of printable characters.")
        exclude = self.credential.pk if self.credential is not None else None
        if selectors.credential_name_taken(team=self.team, name=name, exclude_pk=exclude):
            raise forms.ValidationError(
                "This team already has an active credential with this name."
            )
        return name

    def _clean_key(self, name: str) -> str:
        value = self.cleaned_data.get(name, "")
        if value and not KEY_RE.match(value):
            raise forms.ValidationError(_KEY_ERROR, code="key")
        return value

    def clean_consumer_key(self):
        return self._clean_key("consumer_key")

    def clean_consumer_secret(self):
        return self._clean_key("consumer_secret")

    def clean_org_key(self):
        value = self.cleaned_data.get("org_key", "")
        if value and not ORG_KEY_RE.match(value):
            raise forms.ValidationError(
                "Use 1-64 letters, digits, dots, dashes or underscores.", code="org_key"
            )
        return value

    def clean_default_scopes(self):
        return parse_scopes(self.cleaned_data.get("default_scopes", ""))

    def clean(self):
        data = super().clean()
        if not data.get("allow_password") and not data.get("allow_client_credentials"):
            self.add_error(
                "allow_password", "Allow at least one grant type (password or client credentials)."
            )
        gateway = data.get("gateway")
        if gateway is not None and selectors.gateway_uses_org_key(gateway) and "org_key" in data:
            keeps_stored = self.has_org_key and not data.get("clear_org_key")
            if not data.get("org_key") and not keeps_stored:
                self.add_error(
                    "org_key",
                    f"The gateway {gateway.name} builds usernames with the organization key: "
                    "enter it.",
                )
        return data
