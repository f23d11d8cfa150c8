"""The rulebook: every domain rule the services share, in one published place.

A service asks the rulebook instead of deciding for itself, so the same history gives the same
answer everywhere — in members' commands, activities' reports, notify's reminders and the audit's
scorecards. Pure functions only: no I/O, no clock (the time zone is the one setting it keeps).

- ``calendar``: the bureau's local date, months and periods (month, quarter, year), late flags;
- ``holidays``: the holiday calendar of care visits (lunar festivals, the summer heat, fixed days);
- ``rules``: the default rule set, the rule set in force on a day, and the national floors;
- ``people``: who counts — for study coverage and hours, exemptions, care, dues, committees, votes;
- ``coverage``: who was reached by study in a period, and study hours against the yardstick;
- ``dues``: rates, which branch answers for which month, the ledger, back-payment, "paid up to".

``docs/rules.md`` states each rule once, with the behaviour of every service that follows from it.
"""
