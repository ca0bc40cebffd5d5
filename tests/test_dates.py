from __future__ import annotations

from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracker.dates import PartialDate, parse_date, parse_user_date
from tracker.errors import DateError

TODAY = date(2026, 11, 27)


@pytest.mark.parametrize(
    ("text", "precision", "start", "stop"),
    [
        ("2002", "year", datetime(2002, 1, 1), datetime(2003, 1, 1)),
        ("2024-02", "month", datetime(2024, 2, 1), datetime(2024, 3, 1)),
        ("2024-12", "month", datetime(2024, 12, 1), datetime(2025, 1, 1)),
        ("2024-02-29", "day", datetime(2024, 2, 29), datetime(2024, 3, 1)),
        ("2024-04-02T06:53", "minute", datetime(2024, 4, 2, 6, 53), datetime(2024, 4, 2, 6, 54)),
        ("2024-04-02T06:53:10+09:00", "second", datetime(2024, 4, 2, 6, 53, 10), datetime(2024, 4, 2, 6, 53, 11)),
    ],
)
def test_a_date_is_the_interval_of_its_own_precision(text, precision, start, stop):
    parsed = parse_date(text)
    assert parsed.precision == precision
    assert (parsed.start, parsed.stop) == (start, stop)
    assert str(parsed) == text


@pytest.mark.parametrize(("text", "qualifier"), [("2024-03~", "~"), ("2024-03-25?", "?"), ("1970%", "%")])
def test_edtf_qualifiers_are_kept(text, qualifier):
    parsed = parse_date(text)
    assert parsed.qualifier == qualifier
    assert str(parsed) == text


def test_offset_is_normalised_and_kept():
    assert str(parse_date("2024-04-02T06:53+0900")) == "2024-04-02T06:53+09:00"
    assert str(parse_date("2024-04-02T06:53Z")) == "2024-04-02T06:53Z"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2024-02-30", "February 2024 has 29 days"),
        ("2023-02-29", "February 2023 has 28 days"),
        ("2024-13", "month 13 does not exist"),
        ("0000", "no year 0000"),
        ("24-02-01", "invalid date"),
        ("2024/02/01", "invalid date"),
        ("2024-04-02T25:00", "invalid time"),
        ("March 2024", "invalid date"),
    ],
)
def test_impossible_or_malformed_dates_are_refused(text, message):
    with pytest.raises(DateError, match=message):
        parse_date(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2 April 2024", "2024-04-02"),
        ("April 2, 2024", "2024-04-02"),
        ("Apr 2 2024", "2024-04-02"),
        ("April 2024", "2024-04"),
        ("2024", "2024"),
        ("2024-04", "2024-04"),
        ("today", "2026-11-27"),
        ("yesterday", "2026-11-26"),
        ("3 days ago", "2026-11-24"),
        ("a week ago", "2026-11-20"),
        ("2 months ago", "2026-09-27"),
        ("13/04/2024", "2024-04-13"),
        ("04/13/2024", "2024-04-13"),
        ("05/05/2024", "2024-05-05"),
        ("2024/4/2", "2024-04-02"),
        ("2 April 2024 14:30", "2024-04-02T14:30"),
        ("2 April 2024~", "2024-04-02~"),
        ("last month", "2026-10"),
        ("this month", "2026-11"),
        ("last year", "2025"),
        ("this year", "2026"),
        ("2 April", "2026-04-02"),
        ("28 December", "2025-12-28"),
        ("March", "2026-03"),
        ("December", "2025-12"),
        ("November", "2026-11"),
    ],
)
def test_natural_input_is_stored_as_iso_at_the_given_precision(text, expected):
    assert str(parse_user_date(text, TODAY)) == expected


@pytest.mark.parametrize("text", ["03/04/2024", "3.4.2024", "03-04-2024", "03/04/24"])
def test_numeric_dates_that_read_two_ways_are_refused(text):
    with pytest.raises(DateError, match="ISO"):
        parse_user_date(text, TODAY)


@pytest.mark.parametrize("text", ["garbage", "5", "", "next week"])
def test_unreadable_natural_input_is_refused(text):
    with pytest.raises(DateError):
        parse_user_date(text, TODAY)


def test_impossible_natural_dates_say_why():
    with pytest.raises(DateError, match="impossible date '30 February 2024': day is out of range for month"):
        parse_user_date("30 February 2024", TODAY)


partial_dates = st.builds(
    lambda day, precision, qualifier: PartialDate(
        day.year,
        day.month if precision >= 1 else None,
        day.day if precision >= 2 else None,
        qualifier=qualifier,
    ),
    st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)),
    st.integers(0, 2),
    st.sampled_from(["", "~", "?", "%"]),
)


@given(partial_dates)
def test_format_and_parse_round_trip(value):
    assert parse_date(str(value)) == value


@given(partial_dates)
def test_interval_is_non_empty_and_contains_its_start(value):
    assert value.start < value.stop
    assert value.overlaps(value)


@given(partial_dates, partial_dates)
def test_overlap_is_symmetric_and_matches_interval_arithmetic(first, second):
    expected = max(first.start, second.start) < min(first.stop, second.stop)
    assert first.overlaps(second) == second.overlaps(first) == expected


@given(st.dates(min_value=date(1, 1, 1), max_value=date(9998, 12, 31)))
def test_a_day_lies_inside_its_month_and_year(day):
    as_day = PartialDate(day.year, day.month, day.day)
    as_month = PartialDate(day.year, day.month)
    as_year = PartialDate(day.year)
    assert as_year.start <= as_month.start <= as_day.start < as_day.stop <= as_month.stop <= as_year.stop
    assert as_day.overlaps(as_month) and as_month.overlaps(as_year)
