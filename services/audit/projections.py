"""Event → facts for the audit views: pure functions, no I/O; the store makes applying them idempotent.

A fact never depends on another event having arrived first: what needs several streams (who was in
the branch on a meeting's day, which dues were owed) is worked out when a view is read.
"""

from __future__ import annotations

from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from collections.abc import Callable

from contracts import activities as activity_contracts
from contracts import members as member_contracts
from contracts import notify as notify_contracts
from contracts.rulebook.calendar import local_date
from shared.contracts import UnknownEventType
from shared.envelope import Envelope, format_timestamp
from services.audit.labels import PLEDGE_EVENTS
from services.audit.store import Fact

REGISTRIES = {"members": member_contracts.registry, "activities": activity_contracts.registry,
              "notify": notify_contracts.registry}


def shown_data(event_type: str, schema_version: int, data: dict) -> dict:
    """An event's data as views show it: upcast to its current contract, so what a later schema version stopped
    carrying (a webhook URL's credentials and query) is not shown from old events either. The journal keeps the
    recorded bytes; only what is displayed changes."""
    registry = REGISTRIES.get(event_type.split(".", 1)[0])
    try:
        contract = registry.contract(event_type) if registry else None
    except UnknownEventType:
        contract = None
    if contract is None or schema_version >= contract.version:
        return dict(data)
    return registry.upcast(event_type, schema_version, data)


def decode(envelope: Envelope) -> Any | None:
    """The typed event (upcast to the current contract), or None for a type the views do not read.

    A tolerant reader: fields added by a newer producer than this process knows are left out, so that
    an additive contract change never stops the views (they are read once the audit service is upgraded).
    """
    registry = REGISTRIES.get(envelope.event_type.split(".", 1)[0])
    if registry is None:
        return None
    try:
        registry.contract(envelope.event_type)  # a type this process knows, or none the views read
    except UnknownEventType:
        return None
    # The registry reads a contract's own fields only (whatever else a newer producer added), as it is: not copied.
    return registry.deserialise(envelope.event_type, envelope.schema_version, envelope.data)


def facts_of(envelope: Envelope, stamps: tuple[str, str] | None = None) -> list[Fact]:
    """Every fact the views keep about one event, each stamped with its tenant and event id. ``stamps``: the
    envelope's occurred and recorded times as its canonical text, for the timeline's rows to carry instead of
    datetimes (a rebuild copies them; PostgreSQL reads either as the same instant)."""
    event = decode(envelope)
    if event is None or envelope.tenant_id is None:
        return []
    handler = HANDLERS.get(envelope.event_type)
    base = {"tenant_id": envelope.tenant_id, "event_id": envelope.event_id}
    facts = [Fact(table, {**base, **row}) for table, row in (handler(event, envelope) if handler else [])]
    occurred_at, recorded_at = stamps or (envelope.occurred_at, envelope.recorded_at)
    timeline = {**base, "event_type": envelope.event_type, "branch_id": envelope.branch_id,
                "occurred_at": occurred_at, "recorded_at": recorded_at}
    facts.extend(Fact("member_events", {**timeline, **row}) for row in _timeline_rows(event, envelope))
    return facts


def _versioned(envelope: Envelope, row: dict) -> dict:
    return {**row, "stream_version": envelope.stream_version}


# --- members -------------------------------------------------------------------------------------

def _bureau(e, env):
    return [("bureaus", {"bureau_id": e.bureau_id, "name": e.name, "code": e.code})]


def _rules(e, env):
    return [("rules", {"rules_version": e.rules_version, "effective_from": e.effective_from, "rules": e.rules})]


def _branch(e, env):
    return [("branches", {"branch_id": e.branch_id, "name": e.name, "established_on": e.established_on})]


def _branch_closed(e, env):
    return [("branch_closures", {"branch_id": e.branch_id, "closed_on": e.closed_on, "reason": e.reason,
                                 "merged_into": e.merged_into})]


def _group(e, env):
    return [("party_groups", {"branch_id": e.branch_id, "group_id": e.group_id, "name": e.name})]


def _member(e, env):
    row = {name: getattr(e, name) for name in ("member_id", "branch_id", "name", "gender", "birth_date", "party_member",
                                               "party_join_date", "retirement_kind", "pension_base", "health",
                                               "mobility", "joined_on")}
    return [("members", row)]


def _change(env: Envelope, member_id: str, kind: str, effective_on: date, branch_id: str | None = None,
            **data) -> tuple[str, dict]:
    return ("member_changes", _versioned(env, {"member_id": member_id, "kind": kind, "effective_on": effective_on,
                                               "branch_id": branch_id, "data": _plain(data)}))


def _profile(e, env):
    return [_change(env, e.member_id, "profile", local_date(env.occurred_at), **e.changes)]


def _health(e, env):
    return [_change(env, e.member_id, "health", e.changed_on, health=e.health, mobility=e.mobility)]


def _assigned(e, env):
    return [_change(env, e.member_id, "group", e.assigned_on or local_date(env.occurred_at), e.branch_id,
                    group_id=e.group_id)]


def _moved(e, env):
    return [_change(env, e.member_id, "branch", e.moved_on, e.to_branch_id, reason=e.reason,
                    from_branch_id=e.from_branch_id)]


def _rejoined(e, env):
    return [_change(env, e.member_id, "branch", e.rejoined_on, e.branch_id, reason="rejoined")]


def _transferred_out(e, env):
    return [_change(env, e.member_id, "branch", e.left_on, None, reason="transferred_out",
                    from_branch_id=e.branch_id, to_tenant_id=e.to_tenant_id),
            ("transfers", {"transfer_id": e.transfer_id, "kind": "left", "branch_id": e.branch_id,
                           "member_id": e.member_id, "on_date": e.left_on, "data": {}})]


def _died(e, env):
    return [_change(env, e.member_id, "branch", e.died_on, None, reason="died", from_branch_id=e.branch_id)]


def _left_party(e, env):
    return [_change(env, e.member_id, "party", e.left_on, None, party_member=False, decision=e.decision)]


def _election(e, env):
    return [("elections", {name: getattr(e, name) for name in (
        "branch_id", "election_id", "held_on", "eligible_voters", "attendees", "seats", "candidates", "elected",
        "excused", "vacant_seats")})]


def _term(e, env):
    return [("terms", {name: getattr(e, name) for name in (
        "branch_id", "term_id", "election_id", "starts_on", "ends_on", "committee")})]


def _post_filled(e, env):
    return [("posts", _versioned(env, {"branch_id": e.branch_id, "term_id": e.term_id, "post": e.post,
                                       "member_id": e.member_id, "action": "filled", "on_date": e.filled_on,
                                       "person_name": e.person_name, "unit": e.unit}))]


def _post_vacated(e, env):
    return [("posts", _versioned(env, {"branch_id": e.branch_id, "term_id": e.term_id, "post": e.post,
                                       "member_id": e.member_id, "action": "vacated", "on_date": e.vacated_on,
                                       "reason": e.reason}))]


def _allowance(e, env):
    return [("allowances", {name: getattr(e, name) for name in (
        "branch_id", "term_id", "member_id", "post", "month", "amount")})]


def _transfer(kind: str, branch_field: str | None, date_field: str) -> Callable:
    def facts(e, env):
        data = _plain({k: v for k, v in asdict(e).items() if k not in ("transfer_id", date_field)})
        return [("transfers", {"transfer_id": e.transfer_id, "kind": kind,
                               "branch_id": getattr(e, branch_field) if branch_field else env.branch_id,
                               "member_id": getattr(e, "member_id", None), "on_date": getattr(e, date_field),
                               "data": data})]
    return facts


def _dues_assessed(e, env):
    return [("dues_assessments", _versioned(env, {name: getattr(e, name) for name in (
        "member_id", "branch_id", "year", "base", "rate", "monthly_amount")}))]


def _dues_reduced(e, env):
    return [("dues_reductions", _versioned(env, {name: getattr(e, name) for name in (
        "member_id", "branch_id", "year", "from_month", "monthly_amount", "resolution")}))]


def _dues_paid(e, env):
    return [("dues_paid", {"member_id": e.member_id, "branch_id": e.branch_id,
                           "payments": {str(env.event_id): [str(e.amount), *e.months]}})]


def _dues_carried(e, env):
    return [("dues_carried", {"member_id": e.member_id, "branch_id": e.branch_id, "transfer_id": e.transfer_id,
                              "months": list(e.months), "paid_until": e.paid_until})]


def _dues_review(e, env):
    return [("dues_reviews", {"member_id": e.member_id, "branch_id": e.branch_id,
                              "months_unpaid": list(e.months_unpaid), "raised_on": e.raised_on})]


# --- activities ----------------------------------------------------------------------------------

ACTIVITY_FIELDS = ("title", "place", "topics", "attendees", "guests", "absentees", "hours", "voting_members",
                   "voting_present", "quorate", "late", "late_reasons", "group_id")


def _activity_planned(e, env):
    return [("activities", _versioned(env, {"activity_id": e.activity_id, "branch_id": e.branch_id, "kind": e.kind,
                                            "status": "planned", "on_date": e.planned_on, "title": e.title,
                                            "place": e.place, "topics": list(e.topics), "group_id": e.group_id,
                                            "attendees": [], "guests": [], "absentees": [], "late": False,
                                            "late_reasons": []}))]


def _activity_held(e, env):
    row = {name: _plain(getattr(e, name)) if name in ("guests", "absentees") else getattr(e, name)
           for name in ACTIVITY_FIELDS}
    row.update(activity_id=e.activity_id, branch_id=e.branch_id, kind=e.kind, status="held", on_date=e.occurred_on,
               topics=list(e.topics), attendees=list(e.attendees), late_reasons=list(e.late_reasons),
               note=getattr(e, "reason", None))
    return [("activities", _versioned(env, row))]


def _activity_cancelled(e, env):
    return [("activities", _versioned(env, {"activity_id": e.activity_id, "branch_id": e.branch_id, "kind": e.kind,
                                            "status": "cancelled", "note": e.reason}))]


def _talk(e, env):
    return [("talks", _versioned(env, {"activity_id": e.activity_id, "branch_id": e.branch_id,
                                       "speakers": list(e.speakers), "audience": e.audience, "topic": e.topic,
                                       "on_date": e.occurred_on, "audience_size": e.audience_size,
                                       "late": e.late}))]


def _outreach(e, env):
    return [("outreach", _versioned(env, {"outreach_id": e.outreach_id, "branch_id": e.branch_id,
                                          "member_id": e.member_id, "channel": e.channel, "on_date": e.occurred_on,
                                          "topic": e.topic, "hours": getattr(e, "hours", None), "late": e.late,
                                          "late_reasons": list(e.late_reasons), "withdrawn": False}))]


def _withdrawn(table: str, key: str) -> Callable:
    """A later version marks the record withdrawn; arriving first, it keeps the record from ever counting."""
    def facts(e, env):
        return [(table, _versioned(env, {key: getattr(e, key), "branch_id": e.branch_id, "member_id": e.member_id,
                                         "withdrawn": True}))]
    return facts


def _care(e, env):
    return [("care", _versioned(env, {"care_id": e.care_id, "branch_id": e.branch_id, "member_id": e.member_id,
                                      "kind": e.kind, "on_date": e.occurred_on, "holiday": e.holiday,
                                      "holiday_date": e.holiday_date, "year": e.year, "late": e.late,
                                      "late_reasons": list(e.late_reasons), "withdrawn": False}))]


def _team(e, env):
    return [("teams", {name: getattr(e, name) for name in (
        "team_id", "branch_id", "name", "kind", "formed_on", "leader_id")})]


def _team_member(action: str, date_field: str) -> Callable:
    def facts(e, env):
        return [("team_members", _versioned(env, {"team_id": e.team_id, "branch_id": e.branch_id,
                                                  "member_id": e.member_id, "action": action,
                                                  "on_date": getattr(e, date_field)}))]
    return facts


def _performance(e, env):
    return [("performances", {"performance_id": e.performance_id, "team_id": e.team_id, "branch_id": e.branch_id,
                              "on_date": e.occurred_on, "title": e.title, "place": e.place,
                              "performers": list(e.performers), "audience": e.audience, "late": e.late})]


def _pledge(e, env):
    return [("pledges", {"pledge_id": e.pledge_id, "branch_id": e.branch_id, "member_id": e.member_id,
                         "kind": e.kind, "signed_on": e.signed_on})]


def _centre_set_up(e, env):
    return [("centre", _versioned(env, {"branch_id": e.branch_id, "kind": "set_up", "on_date": e.set_up_on,
                                        "place": e.place, "checklist": list(e.checklist)}))]


def _centre_moved(e, env):
    return [("centre", _versioned(env, {"branch_id": e.branch_id, "kind": "moved", "on_date": e.moved_on,
                                        "place": e.to_place}))]


def _centre_item(e, env):
    return [("centre", _versioned(env, {"branch_id": e.branch_id, "kind": "evidenced", "on_date": e.evidenced_on,
                                        "item": e.item, "evidence": e.evidence, "photo_ref": e.photo_ref}))]


def _period_closed(e, env):
    return [("periods_closed", {"period": e.period, "starts_on": e.starts_on, "ends_on": e.ends_on,
                                "closed_on": e.closed_on})]


# --- notify: what the platform told whom ----------------------------------------------------------

def _notification(e, env):
    deliveries = [{"delivery_id": d.get("delivery_id"), "channel": d.get("channel"), "audience": d.get("audience"),
                   "recipient": d.get("recipient"), "on_behalf_of": list(d.get("on_behalf_of") or []),
                   # a webhook's URL may carry a credential: the views name the channel, never the URL
                   "target": None if d.get("channel") == "webhook" else d.get("target")} for d in e.deliveries]
    return [("notifications", {"notification_id": e.notification_id, "branch_id": e.branch_id or env.branch_id,
                               "rule": e.rule, "title": e.title, "subject": e.subject, "period": e.period,
                               "due_on": e.due_on, "scheduled_at": env.recorded_at,
                               "members": sorted(_notified_members(e)), "deliveries": deliveries})]


def _notified_members(e) -> dict[str, str]:
    """member id → "recipient" (told themselves) or "concerned" (the notice was about them)."""
    found = {}
    for record in (e.cause or {}).get("records") or []:
        if isinstance(record, dict) and record.get("type") == "member" and record.get("id"):
            found[record["id"]] = "concerned"
    for member in (e.details or {}).get("members") or []:
        if isinstance(member, dict) and member.get("member_id"):
            found[member["member_id"]] = "concerned"
    for delivery in e.deliveries:
        audience = delivery.get("audience") or ""
        if audience.startswith("member:"):
            found[audience.split(":", 1)[1]] = "recipient"
    return found


def _delivery(outcome: str, at_field: str | None) -> Callable:
    def facts(e, env):
        return [("notification_deliveries", {
            "notification_id": e.notification_id, "delivery_id": e.delivery_id, "outcome": outcome,
            "channel": e.channel, "attempt": getattr(e, "attempt", None) or getattr(e, "attempts", None),
            "error": getattr(e, "error", None), "at": getattr(e, at_field) if at_field else env.recorded_at,
            "stream_version": env.stream_version})]
    return facts


def _retried(e, env):
    return [("notification_deliveries", {"notification_id": e.notification_id, "delivery_id": delivery_id,
                                         "outcome": "retried", "at": env.recorded_at,
                                         "stream_version": env.stream_version}) for delivery_id in e.delivery_ids]


def _read(e, env):
    return [("notification_deliveries", {"notification_id": e.notification_id, "delivery_id": "*", "outcome": "read",
                                         "error": None, "at": e.read_at, "stream_version": env.stream_version})]


HANDLERS: dict[str, Callable] = {
    "members.BureauRegistered": _bureau, "members.BureauRulesPublished": _rules,
    "members.BranchEstablished": _branch, "members.BranchClosed": _branch_closed, "members.PartyGroupFormed": _group,
    "members.MemberRegistered": _member, "members.MemberProfileUpdated": _profile,
    "members.MemberHealthChanged": _health, "members.MemberAssignedToGroup": _assigned,
    "members.MemberMoved": _moved, "members.MemberRejoined": _rejoined,
    "members.MemberTransferredOut": _transferred_out, "members.MemberDied": _died,
    "members.MemberLeftParty": _left_party, "members.ElectionHeld": _election,
    "members.CommitteeTermOpened": _term, "members.PostFilled": _post_filled, "members.PostVacated": _post_vacated,
    "members.AllowancePaid": _allowance,
    "members.TransferLetterIssued": _transfer("letter_issued", "from_branch_id", "issued_on"),
    "members.IncomingTransferAnnounced": _transfer("incoming", "to_branch_id", "issued_on"),
    "members.TransferReceived": _transfer("received", "to_branch_id", "received_on"),
    "members.TransferReturnSlipReturned": _transfer("slip_returned", None, "returned_on"),
    "members.TransferCancelled": _transfer("cancelled", None, "cancelled_on"),
    "members.TransferExpired": _transfer("expired", None, "expired_on"),
    "members.DuesAssessed": _dues_assessed, "members.DuesReduced": _dues_reduced, "members.DuesPaid": _dues_paid,
    "members.DuesArrearsReviewRaised": _dues_review, "members.DuesCarried": _dues_carried,
    "activities.ActivityPlanned": _activity_planned, "activities.ActivityRecorded": _activity_held,
    "activities.ActivityCorrected": _activity_held, "activities.ActivityCancelled": _activity_cancelled,
    "activities.TalkGiven": _talk, "activities.OutreachRecorded": _outreach, "activities.CareRecorded": _care,
    "activities.OutreachWithdrawn": _withdrawn("outreach", "outreach_id"),
    "activities.CareWithdrawn": _withdrawn("care", "care_id"),
    "activities.TeamFormed": _team, "activities.MemberJoinedTeam": _team_member("joined", "joined_on"),
    "activities.MemberLeftTeam": _team_member("left", "left_on"), "activities.TeamPerformed": _performance,
    "activities.PledgeSigned": _pledge, "activities.CentreSetUp": _centre_set_up,
    "activities.CentreMoved": _centre_moved, "activities.CentreChecklistItemEvidenced": _centre_item,
    "activities.PeriodClosed": _period_closed,
    "notify.NotificationScheduled": _notification, "notify.NotificationSent": _delivery("sent", "sent_at"),
    "notify.DeliveryAttemptFailed": _delivery("attempt_failed", None),
    "notify.DeliveryFailed": _delivery("failed", "failed_at"), "notify.DeliveryRetried": _retried,
    "notify.NotificationRead": _read,
}

# Where an event names the members it concerns, and in which role (for the member timeline).
MEMBER_ROLES = (("member_id", "subject"), ("attendees", "attendee"), ("absentees", "absentee"),
                ("speakers", "speaker"), ("performers", "performer"), ("leader_id", "leader"), ("elected", "elected"))


def _timeline_rows(event, envelope: Envelope) -> list[dict]:
    """One row per member the event names; pledges are kept out of the timeline (need-to-know data). The event's
    data is not copied into each row: the journal keeps it, and the timeline reads it from there (an activity
    names all its attendees, and a copy for each was most of what the views wrote)."""
    if envelope.event_type in PLEDGE_EVENTS:
        return []
    if envelope.event_type == "notify.NotificationScheduled":
        return _notice_rows(event, envelope)
    if envelope.event_type.startswith("notify."):
        return []  # deliveries are shown with their notification, not as events of their own
    roles: dict[str, str] = {}
    for field, role in MEMBER_ROLES:
        value = getattr(event, field, None)
        for item in value if isinstance(value, list) else [value]:
            member_id = item.get("member_id") if isinstance(item, dict) else item
            if isinstance(member_id, str) and member_id:
                roles.setdefault(member_id, role)
    return [{"member_id": member_id, "role": role} for member_id, role in roles.items()]


def _notice_rows(event, envelope: Envelope) -> list[dict]:
    """The notification on the timeline of each member it told or concerned (its title, not its whole body)."""
    data = {"notification_id": event.notification_id, "rule": event.rule, "title": event.title,
            "period": event.period, "due_on": event.due_on.isoformat()}
    return [{"member_id": member_id, "role": role, "data": data}
            for member_id, role in _notified_members(event).items()]


def _plain(value: Any) -> Any:
    """JSON-ready: dates as ISO text, decimals as strings, dataclasses as dicts."""
    if is_dataclass(value):
        value = asdict(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value
