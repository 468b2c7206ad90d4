from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.forms import AuthenticationForm

from portal.accounts import identity
from portal.accounts.validators import PortalUsernameValidator

User = get_user_model()


def clean_login_email(email: str, *, exclude_pk=None) -> str:
    """A login email as stored (NFKC, no outer spaces), refused when another account uses it
    in any case."""
    email = identity.normalize(email)
    taken = identity.email_taken_query(email)
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    if email and taken.exists():
        raise forms.ValidationError("Another account already uses this email.")
    return email


def clean_new_username(username: str, *, exclude_pk=None) -> str:
    """A username as stored (NFKC), refused when it breaks the rules or another account has it
    in any spelling (``identity.username_key``)."""
    username = identity.normalize(username)
    PortalUsernameValidator()(username)
    taken = User.objects.filter(username_key=identity.username_key(username)) | User.objects.filter(
        username=username
    )
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        raise forms.ValidationError("This username is taken.")
    return username


class LoginForm(AuthenticationForm):
    username = forms.CharField(
        label="Username or email",
        max_length=254,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )
    error_messages = {
        "invalid_login": "That username/email and password do not match. Check both and try again.",
        "inactive": "This account is disabled. Ask an administrator.",
    }


class ProfileForm(forms.Form):
    display_name = forms.CharField(max_length=150, required=False)
    email = forms.EmailField(label="Email (for logging in)", required=False)
    api_store_email = forms.EmailField(
        label="API Store email",
        required=False,
        help_text="The email you use at the API Store. Gateway usernames such as "
        "john@johns.org@johnsorg are built from it.",
    )

    def __init__(self, *args, user, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_display_name(self):
        name = " ".join(self.cleaned_data["display_name"].split())
        if not all(c.isprintable() for c in name):
            raise forms.ValidationError("Use printable characters only.")
        return name

    def clean_email(self):
        return clean_login_email(self.cleaned_data["email"], exclude_pk=self.user.pk)


class SignupForm(forms.Form):
    username = forms.CharField(
        max_length=150,
        help_text="Letters, digits and . + - _ only.",
        validators=[PortalUsernameValidator()],
        widget=forms.TextInput(attrs={"autocomplete": "username"}),
    )
    # No email here: refusing one another account uses would tell anyone who is registered.
    # People add their login email in their profile.
    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label="Password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean_username(self):
        return clean_new_username(self.cleaned_data["username"])

    def clean(self):
        cleaned = super().clean()
        p1, p2 = cleaned.get("password1"), cleaned.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", "The two passwords differ.")
        elif p1:
            try:
                password_validation.validate_password(
                    p1, User(username=cleaned.get("username", ""))
                )
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return cleaned
