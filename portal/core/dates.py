"""Calendar days as the people filtering lists mean them: local days, both ends included."""

from datetime import date, datetime, time, timedelta

from django.utils import timezone


def day_start(day: date) -> datetime:
    """The aware instant the local calendar day ``day`` begins (DST-safe)."""
    return timezone.make_aware(datetime.combine(day, time.min))


def day_range(first: date | None, last: date | None) -> tuple[datetime | None, datetime | None]:
    """``(start, end)`` instants covering the local days ``first`` to ``last`` inclusive, for
    ``start <= t < end``; None for an open side."""
    start = day_start(first) if first else None
    # The last representable day has no "next day": it means no upper bound.
    end = day_start(last + timedelta(days=1)) if last and last < date.max else None
    return start, end
