"""The facts the notify service records, by explicit name and schema version."""

from shared.contracts import EventRegistry

registry = EventRegistry()
