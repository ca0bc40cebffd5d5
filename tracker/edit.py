"""Changes to a log as plans for the one write path: append, edit fields, replace or remove events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tracker.splice import (
    insert_events,
)
from tracker.store import LogFile, Plan, document_view
from tracker.yamltext import plain


def plan_append(current: LogFile, new_events: Sequence[dict[str, Any]]) -> Plan:
    """Append `new_events` after the last event; `details` is the inserted text."""
    splice = insert_events(current.text, current.newline, current.log.data, list(new_events), current.path)
    expected = document_view(current.log.data)
    expected["events"] = expected["events"] + [plain(fields) for fields in new_events]
    return Plan([splice], expected, details=splice.text)
