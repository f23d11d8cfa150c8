"""Transfers of membership: the letter, its receipt, the return slip, cancellation and expiry."""

from __future__ import annotations

from datetime import timedelta

from flask.views import MethodView
from marshmallow import Schema, fields

from shared.web import ApiBlueprint, current_principal, execute_command, read_transaction
from services.members import commands as c, queries
from services.members.api import one, writer_of_branch, writer_of_member
from services.members.api.schemas import TransferSchema
from services.members.handlers import transfers
from shared.errors import NotFound
from contracts.rulebook.rules import RuleBook

blueprint = ApiBlueprint("transfers", __name__, description="Transfers of membership (组织关系转接)")


class IssuedSchema(Schema):
    id = fields.String()
    valid_until = fields.String(metadata={"description": "ISO date"})
    version = fields.Integer()


class OutcomeSchema(Schema):
    id = fields.String()
    status = fields.String()
    member_id = fields.String()


class TransferQuerySchema(Schema):
    status = fields.String()
    direction = fields.String()


@blueprint.route("/transfers")
class TransferCollection(MethodView):
    @blueprint.arguments(c.IssueTransferSchema)
    @blueprint.response(201, IssuedSchema)
    def post(self, command):
        """Issue an introduction letter; add ``to_bureau_id`` for a branch in another bureau."""
        tenant = writer_of_member(command.member_id)
        return execute_command(tenant, lambda uow: transfers.issue_letter(uow, command))

    @blueprint.arguments(TransferQuerySchema, location="query")
    @blueprint.response(200, TransferSchema(many=True))
    def get(self, query):
        """Your bureau's transfers, outgoing and incoming."""
        with read_transaction(current_principal().tenant) as conn:
            rows = queries.transfers(conn, query.get("status"), query.get("direction"))
            book = queries.rule_book(conn)
        return [_with_slip_due(row, book) for row in rows]


@blueprint.route("/transfers/<uuid:transfer_id>")
class TransferItem(MethodView):
    @blueprint.response(200, TransferSchema)
    def get(self, transfer_id):
        with read_transaction(current_principal().tenant) as conn:
            row = queries.transfer(conn, str(transfer_id))
            book = queries.rule_book(conn)
        if row is None:
            raise NotFound()
        return _with_slip_due(row, book)


def _with_slip_due(row: dict, book: RuleBook) -> dict:
    """The return slip is due within the rules' days (``return_slip_days``, in force on the receipt)."""
    received = row["received_on"]
    due = received + timedelta(days=int(book.on(received)["return_slip_days"])) if received else None
    return {**row, "slip_due_by": due}


def _receiving_writer(transfer_id) -> str:
    row = one(queries.receiving_branch, str(transfer_id))
    return writer_of_branch(row["to_branch_id"])


def _sending_writer(transfer_id) -> str:
    row = one(queries.sending_member, str(transfer_id))
    return writer_of_member(row["member_id"])


def _transfer_action(path: str, authorise, handler, doc: str, takes_body: bool = True) -> None:
    @blueprint.route(f"/transfers/<uuid:transfer_id>/actions/{path}", endpoint=f"transfer_{path}")
    class Action(MethodView):
        @blueprint.arguments(c.DatedActionSchema)
        @blueprint.response(200, OutcomeSchema)
        def post(self, command, transfer_id):
            tenant = authorise(transfer_id)
            if takes_body:
                return execute_command(tenant, lambda uow: handler(uow, str(transfer_id), command))
            return execute_command(tenant, lambda uow: handler(uow, str(transfer_id)))
    Action.post.__doc__ = doc


_transfer_action("receive", _receiving_writer, transfers.receive,
                 "The receiving branch takes the member in (``on``: the day, default today).")
_transfer_action("return-slip", _receiving_writer, transfers.return_slip,
                 "The receiving branch sends the return slip back; this closes the transfer.")
_transfer_action("cancel", _sending_writer, transfers.cancel, "The sending branch withdraws its letter.")
_transfer_action("expire", _sending_writer, transfers.expire, "Mark an overdue letter expired.", takes_body=False)
