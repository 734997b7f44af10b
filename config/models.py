from __future__ import annotations

from django.db import models


class ThrottleCount(models.Model):
    """Requests counted in one fixed throttle window for one client (see ``config.throttles``).

    Kept in its own table, not in the database cache: counting is then one atomic
    ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` per request, where the cache's
    read-modify-write took eleven queries.
    """

    key = models.CharField(max_length=250, primary_key=True)
    count = models.PositiveBigIntegerField(default=0)
    expires = models.DateTimeField(db_index=True)

    class Meta:
        db_table = "config_throttlecount"  # named in config.throttles' one statement

    def __str__(self) -> str:
        return f"{self.key}: {self.count}"
