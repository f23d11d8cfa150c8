""""Today" is the bureau's local day: with the service's clock at 16:30 UTC or 23:30 UTC (00:30 and 07:30 the
next morning in Beijing), a record dated today in Beijing is not in the future, and lateness counts local days."""

from __future__ import annotations

from datetime import date, datetime, UTC

import pytest

from tests.integration.test_activities_api import post, study
from tests.support import clock_at
from tests.integration.activities_support import app, bureau  # noqa: F401 — fixtures

# Both moments are 1 December 2024 in Beijing, and still 30 November 2024 in UTC.
EVENINGS_IN_UTC = (datetime(2024, 11, 30, 16, 30, tzinfo=UTC), datetime(2024, 11, 30, 23, 30, tzinfo=UTC))
BEIJING_TODAY = date(2024, 12, 1)


@pytest.mark.parametrize("moment", EVENINGS_IN_UTC)
def test_activities_takes_a_record_dated_today_in_beijing_and_counts_lateness_in_local_days(app, client, bureau,
                                                                                            moment):
    with clock_at(app, moment):
        today = post(client, "/activities", study(bureau, occurred_on=BEIJING_TODAY.isoformat()), bureau.headers())
        assert today.status_code == 201, today.json
        tomorrow = post(client, "/activities", study(bureau, occurred_on="2024-12-02"), bureau.headers())
        assert tomorrow.status_code == 422 and tomorrow.json["error"]["code"] == "date_in_future"
        # 30 local days after 1 November is on time, 31 after 31 October is late (in UTC days: 29 and 30)
        on_time = post(client, "/activities", study(bureau, occurred_on="2024-11-01"), bureau.headers())
        late = post(client, "/activities", study(bureau, occurred_on="2024-10-31"), bureau.headers())
        assert on_time.json["late"] is False and late.json["late_reasons"] == ["entered_after_days"]
        coverage = client.get(f"/api/v1/branches/{bureau.branch_a}/coverage", headers=bureau.headers())
        assert coverage.json["period"] == "2024-12" and coverage.json["as_of"] == BEIJING_TODAY.isoformat()
