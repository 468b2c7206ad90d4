"""The tokens app's forms: generate, confirm a renewal or revocation, filter the history.
They validate input only; the services do the work."""

from __future__ import annotations

import uuid

from django import forms
from django.utils import timezone

from portal.tokens import naming, selectors
from portal.tokens.models import Grant, Status
from portal.vault.forms import SCOPE_RE, parse_scopes


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
        help_text="Sent to the gateway for this one request, never stored.",
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}, render_value=False),
    )
    name = forms.CharField(
        label="Name",
        required=False,
        max_length=naming.NAME_MAX,
        help_text="How the history will call this token. Leave blank for the credential's name "
        "and the time.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    note = forms.CharField(
        label="Note",
        required=False,
        max_length=naming.NOTE_MAX,
        help_text="What is it for? Where will it be used? Your team sees it in the history.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
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

    # Never sent back to the browser: after an error the summary asks for it again.
    retype_fields = ("password",)
    # Only the password grant logs in at the gateway as a person.
    PASSWORD_GRANT_FIELDS = ("upstream_username", "password")

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
            self.fields["name"].widget.attrs["placeholder"] = naming.default_name(
                credential_name=chosen.name, at=timezone.now()
            )

    def clean_name(self) -> str:
        return naming.tidy(self.cleaned_data.get("name", ""), limit=naming.NAME_MAX)

    def clean_note(self) -> str:
        return naming.tidy(self.cleaned_data.get("note", ""), limit=naming.NOTE_MAX)

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
        elif grant == Grant.CLIENT_CREDENTIALS:
            # An application token logs nobody in: whatever the page still held is ignored.
            cleaned["upstream_username"] = ""
            cleaned["password"] = ""
        scopes = list(cleaned.get("scopes") or [])
        for scope in cleaned.get("extra_scopes") or []:
            if scope not in scopes:
                scopes.append(scope)
        cleaned["all_scopes"] = scopes
        cleaned["upstream_username"] = cleaned.get("upstream_username", "").strip()
        return cleaned

    def for_another_try(self) -> GenerateForm:
        """The form to show after a refused or failed attempt: the person's values again, with a
        new idempotency key and no password, and this attempt's errors - not the "enter your
        password" the emptied password would add."""
        values = self.data.copy()
        values["idempotency_key"] = str(uuid.uuid4())
        values["password"] = ""
        again = GenerateForm(
            values, credentials=self.credential_choices, credential=self.chosen_credential
        )
        again.is_valid()
        again._errors = self.errors
        if self.data.get("password") and self.data.get("grant_type") != Grant.CLIENT_CREDENTIALS:
            again.cleared_fields = {"password"}
        return again


class ConfirmForm(forms.Form):
    """The confirmation step of renew and revoke; carries an idempotency key for renewals."""

    idempotency_key = forms.UUIDField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["idempotency_key"].initial = uuid.uuid4()


STATUS_CHOICES = [
    ("", "Any status"),
    (Status.ACTIVE.value, "Active"),
    ("expiring_soon", "Expiring soon"),
    ("expired", "Expired"),
    (Status.RENEWED.value, "Renewed"),
    (Status.REVOKED.value, "Revoked"),
    (Status.FAILED.value, "Failed"),
    (Status.PENDING.value, "Pending"),
]


class HistoryFilterForm(forms.Form):
    """Filters and keyset position read from the query string. Choices are the team's own
    credentials (archived ones too) and members, so a foreign id is simply invalid."""

    search = forms.CharField(
        required=False,
        max_length=100,
        label="Search",
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "autocomplete": "off",
                "spellcheck": "false",
                "placeholder": "Name, note or last characters",
            }
        ),
    )
    credential = forms.ChoiceField(required=False, label="Credential")
    member = forms.ChoiceField(required=False, label="Requested by")
    status = forms.ChoiceField(required=False, label="Status", choices=STATUS_CHOICES)
    scope = forms.CharField(
        required=False,
        max_length=200,
        label="Scope",
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "spellcheck": "false",
                "placeholder": "Requested or granted",
            }
        ),
    )
    date_from = forms.DateField(
        required=False, label="Requested from", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        required=False, label="Requested to", widget=forms.DateInput(attrs={"type": "date"})
    )
    before = forms.CharField(required=False, max_length=80, widget=forms.HiddenInput)
    after = forms.CharField(required=False, max_length=80, widget=forms.HiddenInput)

    def __init__(self, data=None, *, team, **kwargs):
        super().__init__(data, **kwargs)
        self.fields["credential"].choices = [
            ("", "Any credential"),
            *selectors.credential_choices_for_team(team),
        ]
        self.fields["member"].choices = [("", "Anyone"), *selectors.member_choices_for_team(team)]

    def clean_search(self) -> str:
        text = " ".join((self.cleaned_data.get("search") or "").split())
        if not text.isprintable():
            raise forms.ValidationError("Use printable characters only.")
        return text

    def clean_scope(self) -> str:
        scope = (self.cleaned_data.get("scope") or "").strip()
        if scope and not SCOPE_RE.match(scope):
            raise forms.ValidationError(
                "A scope is one word of printable characters, without quotes or backslashes."
            )
        return scope

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
        # The page position is a hidden field: its error is shown for the whole form.
        for name in ("before", "after"):
            text = cleaned.get(name) or ""
            try:
                cleaned[name] = selectors.Cursor.decode(text) if text else None
            except ValueError:
                cleaned[name] = None
                self.add_error(
                    None, "This page link is broken. Start again from the newest tokens."
                )
        return cleaned

    def filters(self) -> selectors.HistoryFilters:
        """The validated filters; none for an unbound form (a page without a query string)."""
        if not self.is_bound:
            return selectors.HistoryFilters()
        data = self.cleaned_data
        return selectors.HistoryFilters(
            search=data.get("search") or "",
            credential_id=data.get("credential") or None,
            member_id=int(data["member"]) if data.get("member") else None,
            status=data.get("status") or "",
            scope=data.get("scope") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )
