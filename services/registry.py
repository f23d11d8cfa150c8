"""The platform's services, in the order operators read them: ``branchwork`` finds each one through this table.

Each entry names the module whose ``bootstrap()`` builds the service (its app, workers and operators'
commands); it is imported only when that service is asked for.
"""

from shared.bootstrap import Registry

SERVICES = Registry({
    "members": "services.members.bootstrap",
    "activities": "services.activities.bootstrap",
    "notify": "services.notify.bootstrap",
    "audit": "services.audit.bootstrap",
})
