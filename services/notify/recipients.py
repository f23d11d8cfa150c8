"""Who hears of a reminder, and how: audiences resolved to deliveries (pure).

An audience is ``bureau``, ``secretary:<branch>``, ``member:<member>`` or ``webhook:<webhook>`` (one receiver,
while it is configured). Contacts come from the
bureau's configuration (``PUT /api/v1/recipients/…``) and from member data: the branch's secretary is
whoever holds the post in the current term. A member without a configured e-mail is reached through
their branch's secretary, with their phone number if there is one. A secretary's audience that has
neither a post holder nor a configured contact is copied to the bureau, so nothing falls on nobody.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date

from services.notify.rules.model import BUREAU, BureauSnapshot, Member, Reminder, secretary_of

DEFAULT_CHANNELS = ("inbox", "email")
DELIVERY_NAMESPACE = uuid.UUID("5f0c6c1e-2a8e-4b53-9a86-0d3b8f1a7c21")


@dataclass(frozen=True)
class Contact:
    name: str | None
    emails: tuple[str, ...]
    channels: tuple[str, ...] = DEFAULT_CHANNELS


@dataclass(frozen=True)
class Webhook:
    webhook_id: str
    url: str
    rules: tuple[str, ...] = ()

    def wants(self, rule: str) -> bool:
        return not self.rules or any(rule == name or rule.startswith(name + ".") for name in self.rules)


@dataclass(frozen=True)
class Directory:
    tenant_id: str
    secretaries: dict[str, tuple[str, str]]
    members: dict[str, Member]
    contacts: dict[str, Contact]
    webhooks: tuple[Webhook, ...] = ()

    @classmethod
    def build(cls, snapshot: BureauSnapshot, today: date, contacts: dict[str, Contact],
              webhooks: tuple[Webhook, ...] = ()) -> Directory:
        secretaries = {}
        for branch in snapshot.branches:
            term = snapshot.current_term(branch.branch_id, today)
            holder = next((p for p in snapshot.holders(term.term_id) if p.post == "secretary"), None) if term else None
            if holder is not None:
                secretaries[branch.branch_id] = (holder.member_id, holder.person_name)
        return cls(snapshot.tenant_id, secretaries, {m.member_id: m for m in snapshot.members}, contacts, webhooks)


@dataclass(frozen=True)
class PlannedDelivery:
    channel: str
    audience: str
    recipient: str
    target: str
    on_behalf_of: tuple[str, ...] = ()
    note: str | None = None

    def to_dict(self, notification_id: str) -> dict:
        delivery_id = uuid.uuid5(DELIVERY_NAMESPACE, f"{notification_id}|{self.channel}|{self.target}")
        return {"delivery_id": str(delivery_id), "channel": self.channel, "audience": self.audience,
                "recipient": self.recipient, "target": self.target, "on_behalf_of": list(self.on_behalf_of),
                "note": self.note}


def plan_deliveries(reminder: Reminder, directory: Directory) -> list[PlannedDelivery]:
    """Every delivery a reminder needs, one per channel and target."""
    planned: list[PlannedDelivery] = []
    unreachable: dict[str, list[str]] = {}
    for audience in reminder.audiences:
        if audience.startswith("webhook:"):
            planned.extend(PlannedDelivery("webhook", "webhook", hook.webhook_id, hook.url)
                           for hook in directory.webhooks if audience == f"webhook:{hook.webhook_id}")
        elif audience.startswith("member:"):
            direct = _member_deliveries(audience, directory)
            if direct:
                planned.extend(direct)
            else:
                member = directory.members.get(audience.split(":", 1)[1])
                branch_id = member.branch_id if member else reminder.branch_id
                unreachable.setdefault(branch_id, []).append(audience.split(":", 1)[1])
        else:
            planned.extend(_audience_deliveries(audience, directory))
    for branch_id, member_ids in unreachable.items():
        note = "请代为通知：" + "、".join(_how_to_reach(directory.members.get(m), m) for m in member_ids)
        planned.extend(replace(d, on_behalf_of=tuple(member_ids), note=note)
                       for d in _audience_deliveries(secretary_of(branch_id), directory))
    planned.extend(PlannedDelivery("webhook", "webhook", hook.webhook_id, hook.url)
                   for hook in directory.webhooks if hook.wants(reminder.rule))
    return _merged(planned)


def _member_deliveries(audience: str, directory: Directory) -> list[PlannedDelivery]:
    contact = directory.contacts.get(audience)
    if contact is None or "email" not in contact.channels:
        return []
    member = directory.members.get(audience.split(":", 1)[1])
    name = contact.name or (member.name if member else audience)
    return [PlannedDelivery("email", audience, name, email) for email in contact.emails]


def _audience_deliveries(audience: str, directory: Directory) -> list[PlannedDelivery]:
    if audience == BUREAU:
        contact = directory.contacts.get(BUREAU) or Contact(None, ())
        return _by_channels(audience, contact.name or "局党组织", contact)
    branch_id = audience.split(":", 1)[1]
    contact = directory.contacts.get(audience)
    holder = directory.secretaries.get(branch_id)
    emails = contact.emails if contact else ()
    if not emails and holder is not None:
        personal = directory.contacts.get(f"member:{holder[0]}")
        emails = personal.emails if personal else ()
    channels = contact.channels if contact else DEFAULT_CHANNELS
    name = (contact.name if contact else None) or (holder[1] if holder else "支部书记")
    deliveries = _by_channels(audience, name, Contact(name, emails, channels))
    if holder is None and contact is None:
        deliveries += [replace(d, on_behalf_of=(audience,), note="该支部书记暂缺，转局党组织")
                       for d in _audience_deliveries(BUREAU, directory)]
    return deliveries


def _by_channels(audience: str, name: str, contact: Contact) -> list[PlannedDelivery]:
    deliveries = [PlannedDelivery("inbox", audience, name, audience)] if "inbox" in contact.channels else []
    if "email" in contact.channels:
        deliveries += [PlannedDelivery("email", audience, name, email) for email in contact.emails]
    return deliveries


def _how_to_reach(member: Member | None, member_id: str) -> str:
    if member is None:
        return member_id
    return f"{member.name}（电话 {member.phone}）" if member.phone else f"{member.name}（无电话和邮箱，请上门告知）"


def _merged(planned: list[PlannedDelivery]) -> list[PlannedDelivery]:
    """One delivery per channel and target; what each was for is kept together."""
    merged: dict[tuple[str, str], PlannedDelivery] = {}
    for delivery in planned:
        key = (delivery.channel, delivery.target)
        if key not in merged:
            merged[key] = delivery
            continue
        kept = merged[key]
        notes = "；".join(n for n in (kept.note, delivery.note) if n) or None
        merged[key] = replace(kept, on_behalf_of=tuple(dict.fromkeys(kept.on_behalf_of + delivery.on_behalf_of)),
                              note=notes)
    return list(merged.values())
