"""Create the database cache table; drop the old plain-text API tokens.

The cache table holds throttle counts shared by every worker and instance
(``CACHES`` in settings); creating it here means ``migrate`` is the only step a
deployment needs. ``createcachetable`` skips tables that exist and does nothing
when the cache is Redis.

API tokens are now django-rest-knox's, stored hashed and expiring. The table of
``rest_framework.authtoken`` (no longer installed) kept tokens in plain text:
it is dropped, so its secrets do not stay at rest. Clients sign in again.
"""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("core", "0002_archived_idempotency")]

    operations = [
        migrations.RunPython(create_cache_table, migrations.RunPython.noop),
        migrations.RunSQL("DROP TABLE IF EXISTS authtoken_token", migrations.RunSQL.noop),
    ]
