"""The secretaries' web pages: forms and this month's list over the four services' public APIs."""
