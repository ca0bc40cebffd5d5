"""Exporters: formats that outgrow one function (markdown, html, latex, ics, timelinejs).

Each module has `render(report) -> str` and is registered in tracker.formats.FORMATS.
"""
