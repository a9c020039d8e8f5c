"""The county's calendar: what day it is, and which day a stored time fell on, where the survey is.

Times are stored as naive UTC (models/clock.py); business dates (a problem found, a deadline
passed, a visit, a file's date) are the county's. The server's own zone says nothing about them:
in a container it is UTC, so from 00:00 to 08:00 Beijing time `date.today()` is yesterday there.
Every business date is derived here, from the configured offset (China Standard Time, UTC+8,
unless `RUHU_COUNTY_UTC_OFFSET_HOURS` says otherwise).
"""

from datetime import date, datetime, time, timedelta

from flask import current_app

from .models.clock import utcnow

DEFAULT_UTC_OFFSET_HOURS = 8


def utc_offset() -> timedelta:
    """Return the county's offset from UTC (the old CONSOLE_UTC_OFFSET_HOURS key still counts)."""
    hours = current_app.config.get("COUNTY_UTC_OFFSET_HOURS")
    if hours is None:
        hours = current_app.config.get("CONSOLE_UTC_OFFSET_HOURS", DEFAULT_UTC_OFFSET_HOURS)
    return timedelta(hours=hours)


def local_time(moment: datetime) -> datetime:
    """Return a stored naive-UTC time as the county's (naive) wall-clock time."""
    return moment + utc_offset()


def day_of(moment: datetime) -> date:
    """Return the county's calendar day on which a stored naive-UTC time fell."""
    return local_time(moment).date()


def today() -> date:
    """Return the county's calendar day now."""
    return day_of(utcnow())


def day_start(day: date) -> datetime:
    """Return the naive-UTC instant at which a county calendar day begins."""
    return datetime.combine(day, time.min) - utc_offset()
