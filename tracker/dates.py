"""Partial dates: ISO 8601 at any precision with EDTF qualifiers, read as intervals.

`2024-02` is all of February 2024, never the 1st. Every date is a half-open
interval [start, stop) of naive wall-clock datetimes; a UTC offset is kept and
shown but does not move the date (news is dated where it happened).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from tracker.errors import DateError

PRECISIONS = ("year", "month", "day", "minute", "second")

_ISO_DATE = re.compile(
    r"(?P<year>\d{4})"
    r"(?:-(?P<month>\d{2})"
    r"(?:-(?P<day>\d{2})"
    r"(?:[T ](?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?"
    r"(?P<tz>Z|[+-]\d{2}(?::?\d{2})?)?"
    r")?)?)?"
    r"(?P<qualifier>[~?%])?"
)
_RELATIVE = re.compile(r"(?P<count>\d+|an?|one)\s+(?P<unit>day|week|month|year)s?\s+ago")
_NUMERIC = re.compile(r"(?P<a>\d{1,4})(?P<sep>[/.-])(?P<b>\d{1,2})(?P=sep)(?P<c>\d{1,4})")


@dataclass(frozen=True, order=False)
class PartialDate:
    """A date known to the precision it was written with, plus an EDTF qualifier."""

    year: int
    month: int | None = None
    day: int | None = None
    hour: int | None = None
    minute: int | None = None
    second: int | None = None
    tz: str = ""
    qualifier: str = ""

    @property
    def precision(self) -> str:
        """One of PRECISIONS: the finest part that was given."""
        if self.second is not None:
            return "second"
        if self.minute is not None:
            return "minute"
        if self.day is not None:
            return "day"
        if self.month is not None:
            return "month"
        return "year"

    @property
    def precision_rank(self) -> int:
        return PRECISIONS.index(self.precision)

    @property
    def start(self) -> datetime:
        """The first instant of the period."""
        return datetime(
            self.year,
            self.month or 1,
            self.day or 1,
            self.hour or 0,
            self.minute or 0,
            self.second or 0,
        )

    @property
    def stop(self) -> datetime:
        """The instant just after the period ends (exclusive end)."""
        try:
            if self.precision == "year":
                return datetime(self.year + 1, 1, 1)
            if self.precision == "month":
                if self.month == 12:
                    return datetime(self.year + 1, 1, 1)
                return datetime(self.year, self.month + 1, 1)  # type: ignore[operator]
            step = {"day": timedelta(days=1), "minute": timedelta(minutes=1)}.get(self.precision, timedelta(seconds=1))
            return self.start + step
        except (ValueError, OverflowError):
            return datetime.max

    @property
    def date_part(self) -> str:
        """The calendar part as written, without time or qualifier (`2024-04`)."""
        text = f"{self.year:04d}"
        if self.month is not None:
            text += f"-{self.month:02d}"
        if self.day is not None:
            text += f"-{self.day:02d}"
        return text

    def __str__(self) -> str:
        text = self.date_part
        if self.minute is not None:
            text += f"T{self.hour:02d}:{self.minute:02d}"
            if self.second is not None:
                text += f":{self.second:02d}"
            text += self.tz
        return text + self.qualifier

    def overlaps(self, other: PartialDate) -> bool:
        """True when the two periods share at least one instant."""
        return self.start < other.stop and other.start < self.stop


def date_label(date: PartialDate, end: PartialDate | None = None) -> str:
    """A date for people: its own precision, `c.` when approximate, `?` when uncertain, `–` for ranges."""
    label = _single_label(date)
    if end is not None:
        label += " – " + _single_label(end)
    return label


def _single_label(date: PartialDate) -> str:
    text = str(PartialDate(date.year, date.month, date.day, date.hour, date.minute, date.second, date.tz))
    if date.qualifier in ("~", "%"):
        text = "c. " + text
    if date.qualifier in ("?", "%"):
        text += "?"
    return text


def parse_date(text: str) -> PartialDate:
    """Read an ISO date at any precision (`2002`, `2024-02`, `2024-04-02T06:53+09:00`, `2024-03~`).

    Raises DateError with a message naming what is wrong (an impossible day, a bad month).
    """
    if not isinstance(text, str):
        raise DateError(f"expected a date like 2024-04-02, got {text!r}")
    match = _ISO_DATE.fullmatch(text.strip())
    if match is None:
        raise DateError(
            f"invalid date {text!r}: use YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDTHH:MM, "
            "optionally followed by ~ (approximate) or ? (uncertain)"
        )
    parts = match.groupdict()
    year = int(parts["year"])
    month = _optional_int(parts["month"])
    day = _optional_int(parts["day"])
    hour = _optional_int(parts["hour"])
    minute = _optional_int(parts["minute"])
    second = _optional_int(parts["second"])
    if year == 0:
        raise DateError(f"invalid date {text!r}: there is no year 0000")
    if month is not None and not 1 <= month <= 12:
        raise DateError(f"invalid date {text!r}: month {month} does not exist")
    if day is not None:
        last_day = calendar.monthrange(year, month)[1]  # type: ignore[arg-type]
        if not 1 <= day <= last_day:
            month_name = calendar.month_name[month]  # type: ignore[index]
            raise DateError(f"impossible date {text!r}: {month_name} {year} has {last_day} days")
    if hour is not None and (hour > 23 or minute > 59 or (second or 0) > 59):  # type: ignore[operator]
        raise DateError(f"invalid time in {text!r}")
    tz = parts["tz"] or ""
    if tz and tz != "Z":
        tz = _normalise_offset(tz, text)
    return PartialDate(year, month, day, hour, minute, second, tz, parts["qualifier"] or "")


def parse_user_date(text: str, today: date) -> PartialDate:
    """Read a date as a person types it: ISO at any precision, or natural input.

    Natural input: "today", "yesterday", "3 days ago", "last month", "this year",
    "2 April 2024", "April 2, 2024", "April 2024"; without a year ("2 April",
    "March") the most recent such date. A numeric date that reads two ways
    (03/04/2024) is refused. What comes back keeps the precision the user gave.
    """
    raw = text.strip()
    if not raw:
        raise DateError("empty date")
    qualifier = raw[-1] if raw[-1] in "~?%" else ""
    body = raw[:-1].strip() if qualifier else raw
    if _ISO_DATE.fullmatch(raw):
        return parse_date(raw)
    lowered = body.lower()
    relative_days = {"today": 0, "now": 0, "yesterday": 1, "tomorrow": -1}
    if lowered in relative_days:
        return _with_qualifier(_from_date(today - timedelta(days=relative_days[lowered])), qualifier)
    named_period = _named_period(lowered, today)
    if named_period is not None:
        return _with_qualifier(named_period, qualifier)
    relative = _RELATIVE.fullmatch(lowered)
    if relative:
        return _with_qualifier(_from_date(_subtract(today, relative)), qualifier)
    numeric = _NUMERIC.fullmatch(body)
    if numeric:
        return _with_qualifier(_parse_numeric(numeric, raw), qualifier)
    return _with_qualifier(_parse_natural(body, raw, today), qualifier)


def _named_period(lowered: str, today: date) -> PartialDate | None:
    """`this month`, `last month`, `this year`, `last year`: the whole period."""
    words = lowered.split()
    if len(words) != 2 or words[0] not in ("this", "last") or words[1] not in ("month", "year"):
        return None
    back = 1 if words[0] == "last" else 0
    if words[1] == "year":
        return PartialDate(today.year - back)
    month_index = today.year * 12 + today.month - 1 - back
    return PartialDate(month_index // 12, month_index % 12 + 1)


def _optional_int(text: str | None) -> int | None:
    return None if text is None else int(text)


def _normalise_offset(tz: str, text: str) -> str:
    digits = tz[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 23 or minutes > 59:
        raise DateError(f"invalid UTC offset in {text!r}")
    return f"{tz[0]}{hours:02d}:{minutes:02d}"


def _from_date(value: date) -> PartialDate:
    return PartialDate(value.year, value.month, value.day)


def _with_qualifier(value: PartialDate, qualifier: str) -> PartialDate:
    if not qualifier:
        return value
    return PartialDate(
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
        value.tz,
        qualifier,
    )


def _subtract(today: date, match: re.Match[str]) -> date:
    from dateutil.relativedelta import relativedelta

    count_text = match["count"]
    count = 1 if count_text in ("a", "an", "one") else int(count_text)
    unit = match["unit"] + "s"
    return today - relativedelta(**{unit: count})


def _parse_numeric(match: re.Match[str], raw: str) -> PartialDate:
    a, b, c = match["a"], match["b"], match["c"]
    if len(a) == 4:
        year, month, day = int(a), int(b), int(c)
    elif len(c) == 4:
        first, second = int(a), int(b)
        if first <= 12 and second <= 12 and first != second:
            raise DateError(f"ambiguous date {raw!r}: it reads as day/month or month/day; write it as ISO YYYY-MM-DD")
        year = int(c)
        day, month = (first, second) if first > 12 or second <= 12 else (second, first)
    else:
        raise DateError(f"ambiguous date {raw!r}: write it as ISO YYYY-MM-DD")
    return parse_date(f"{year:04d}-{month:02d}-{day:02d}")


def _parse_natural(body: str, raw: str, today: date) -> PartialDate:
    """Use dateutil for complete natural input; parsing twice with different
    defaults shows which parts the text gave, so partial input stays partial."""
    from dateutil import parser

    first_default = datetime(2000, 1, 1, 0, 0, 0)
    second_default = datetime(2004, 2, 2, 1, 1, 1)
    try:
        first = parser.parse(body, default=first_default)
        second = parser.parse(body, default=second_default)
    except (ValueError, OverflowError) as error:
        if "out of range" in str(error) or "must be in" in str(error):
            raise DateError(f"impossible date {raw!r}: {error}") from None
        raise DateError(
            f"cannot read date {raw!r}: use ISO (2024-04-02, 2024-04, 2024) "
            "or e.g. '2 April 2024', 'yesterday', '3 days ago', 'last month'"
        ) from None
    has_year = first.year == second.year
    has_month = first.month == second.month
    has_day = first.day == second.day
    has_time = first.hour == second.hour and first.minute == second.minute
    has_seconds = has_time and first.second == second.second
    if not has_month:
        raise DateError(f"cannot read date {raw!r}: give at least a month, or use ISO (2024-04-02, 2024-04, 2024)")
    day = first.day if has_day else None
    hour = minute = second_part = None
    tz = ""
    if has_time and has_day:
        hour, minute = first.hour, first.minute
        second_part = first.second if has_seconds and first.second else None
        offset = first.utcoffset()
        if offset is not None:
            total = int(offset.total_seconds() // 60)
            sign = "-" if total < 0 else "+"
            tz = "Z" if total == 0 else f"{sign}{abs(total) // 60:02d}:{abs(total) % 60:02d}"
    if has_year:
        year = first.year
    else:
        # "2 April" or "December" without a year: the most recent one, never a future date.
        year = today.year
        if (first.month, day or 1) > (today.month, today.day):
            year -= 1
    candidate = PartialDate(year, first.month, day, hour, minute, second_part, tz)
    return parse_date(str(candidate))
