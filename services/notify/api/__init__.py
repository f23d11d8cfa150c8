"""HTTP API of the notify service: notifications and their deliveries, the in-app inbox, recipients,
webhooks, and an on-demand run of the rules. One module per concern; ``BLUEPRINTS`` is for the app factory."""

from services.notify.api.configuration import recipients, webhooks
from services.notify.api.notifications import inbox, notifications
from services.notify.api.runs import scheduler

BLUEPRINTS = [notifications, inbox, recipients, webhooks, scheduler]
