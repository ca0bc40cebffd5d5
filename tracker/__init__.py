"""tracker: a timeline of events kept in a plain YAML file."""

__version__ = "0.1.0"
