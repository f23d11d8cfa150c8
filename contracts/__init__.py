"""Published event contracts: what each service tells the others, by explicit name and version.

A service imports only ``shared`` and these contracts — never another service's code. The producer
registers and writes them; consumers read them with the same schemas and upcasters.
"""
