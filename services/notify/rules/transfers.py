"""Transfers (组织关系转接): a letter about to expire, a return slip overdue — an alert to both sides."""

from __future__ import annotations

from datetime import date, timedelta

from services.notify.rules.model import BureauSnapshot, Reminder, Transfer, secretary_of, within


def sides(transfer: Transfer, tenant_id: str) -> tuple[str, ...]:
    """The secretaries of this bureau's branches on either side of the transfer."""
    audiences = []
    if transfer.side == "out" and transfer.from_branch_id:
        audiences.append(secretary_of(transfer.from_branch_id))
    if transfer.to_branch_id and (transfer.side == "in" or transfer.to_tenant_id == tenant_id):
        audiences.append(secretary_of(transfer.to_branch_id))
    return tuple(dict.fromkeys(audiences))


def letter_expiring_alerts(snapshot: BureauSnapshot, today: date, rules: dict) -> list[Reminder]:
    """An introduction letter not yet used, ``transfer_expiry_warning_days`` before it expires."""
    warning = int(rules["transfer_expiry_warning_days"])
    reminders = []
    for transfer in snapshot.transfers:
        if transfer.received_on or transfer.closed_on:
            continue
        if not within(today, transfer.valid_until - timedelta(days=warning), transfer.valid_until):
            continue
        left = (transfer.valid_until - today).days
        reminders.append(Reminder(
            rule="transfer.letter_expiring", subject=f"transfer-{transfer.transfer_id}",
            period=transfer.valid_until.isoformat(), branch_id=transfer.from_branch_id or transfer.to_branch_id,
            audiences=sides(transfer, snapshot.tenant_id), due_on=transfer.valid_until - timedelta(days=warning),
            title=f"转接提醒：{transfer.member_name}同志的介绍信 {left} 天后到期",
            body=(f"{transfer.member_name}同志的组织关系介绍信（{transfer.issued_on.isoformat()} 开具）"
                  f"有效期至 {transfer.valid_until.isoformat()}，接收方尚未办理接收。请双方及时联系办理，"
                  "转出支部在接收前仍负责管理。"),
            records=(("transfer", transfer.transfer_id),),
            details={"transfer_id": transfer.transfer_id, "valid_until": transfer.valid_until.isoformat(),
                     "side": transfer.side, "days_left": left}))
    return reminders


def return_slip_overdue_alerts(snapshot: BureauSnapshot, today: date, rules: dict) -> list[Reminder]:
    """The member was received but the return slip is not back after ``return_slip_days``."""
    days = int(rules["return_slip_days"])
    reminders = []
    for transfer in snapshot.transfers:
        if transfer.received_on is None or transfer.slip_returned_on or transfer.closed_on:
            continue
        due = transfer.received_on + timedelta(days=days)
        if today <= due:
            continue
        reminders.append(Reminder(
            rule="transfer.return_slip_overdue", subject=f"transfer-{transfer.transfer_id}",
            period=transfer.received_on.isoformat(), branch_id=transfer.from_branch_id or transfer.to_branch_id,
            audiences=sides(transfer, snapshot.tenant_id), due_on=due + timedelta(days=1),
            title=f"转接提醒：{transfer.member_name}同志的回执逾期未回",
            body=(f"{transfer.member_name}同志已于 {transfer.received_on.isoformat()} 被接收，回执应在 {days} 天内"
                  f"（{due.isoformat()} 前）寄回转出支部，至今未回。请双方核对办理。"),
            records=(("transfer", transfer.transfer_id),),
            details={"transfer_id": transfer.transfer_id, "received_on": transfer.received_on.isoformat(),
                     "slip_due_on": due.isoformat(), "side": transfer.side}))
    return reminders
