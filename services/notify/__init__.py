"""The notify service: reminders and alerts derived from events, and their delivery."""
