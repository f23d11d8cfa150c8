"""Branchwork's common library: what every service needs and no service owns.

It knows events, streams, tenants and HTTP, never members or meetings.
"""

from shared import schema_messages

# Before any schema exists: marshmallow copies its messages into each field and schema when it is built.
schema_messages.install()
