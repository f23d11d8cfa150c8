"""The audit service: the read side. Every service's events, verbatim, and the views built on them."""
