import unicodedata

from django.db import migrations, models


def _key(username):
    # identity.username_key as of this migration (migrations must not import app code that may
    # change later).
    value = unicodedata.normalize("NFKC", username or "").strip()
    return unicodedata.normalize("NFKC", value.casefold())[:255]


def fill_username_keys(apps, schema_editor):
    """The oldest account of each spelling keeps its username; later accounts that collide with
    it are left without a key (they log in by email) and ``manage.py check`` names them."""
    User = apps.get_model("accounts", "User")
    taken = set()
    for user in User.objects.order_by("pk").only("pk", "username"):
        key = _key(user.username)
        if key in taken:
            continue
        taken.add(key)
        User.objects.filter(pk=user.pk).update(username_key=key)


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="username_key",
            field=models.CharField(
                editable=False,
                error_messages={"unique": "This username is taken."},
                max_length=255,
                null=True,
                unique=True,
            ),
        ),
        migrations.RunPython(fill_username_keys, migrations.RunPython.noop),
    ]
