"""HTTP API of the audit service: the journal and its proofs (``events``), the views (``views``) and the
dashboard's pages (``dashboard``). Each parses, authorises, calls a query or a handler and shapes the answer."""

from services.audit.api.events import events, proofs
from services.audit.api.views import views

BLUEPRINTS = [events, proofs, views]
