"""Branchwork's common library: what every service needs and no service owns.

It knows events, streams, tenants and HTTP, never members or meetings.
"""
