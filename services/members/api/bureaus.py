"""Bureaus (the tenants) and their versioned local rule sets."""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from collections.abc import Iterator

import psycopg
from flask.views import MethodView
from marshmallow import Schema, fields

from contracts.rulebook.rules import RuleBook, RuleVersion
from shared.errors import NotFound
from shared.web import ApiBlueprint, current_principal, execute_command, read_transaction
from services.members import queries
from services.members.api import one
from services.members.api.schemas import BureauSchema, CreatedSchema, RuleSetSchema
from services.members.commands import PublishRulesSchema, RegisterBureauSchema
from services.members.handlers import register

blueprint = ApiBlueprint("bureaus", __name__, description="Bureaus: the tenants of the platform, and their rules")


class RulesQuerySchema(Schema):
    on = fields.Date(metadata={"description": "only the rule set in force on this day"})


@contextmanager
def directory() -> Iterator[psycopg.Connection]:
    """A read of the platform's bureau directory, for platform admins only (see migration 004)."""
    current_principal().require_role("platform_admin")
    with read_transaction(None) as conn:
        queries.open_directory(conn)
        yield conn


@blueprint.route("/bureaus")
class BureauCollection(MethodView):
    @blueprint.response(200, BureauSchema(many=True))
    def get(self):
        """Every bureau of the platform by code (platform admins only): where to find a bureau's id."""
        with directory() as conn:
            return queries.bureaus(conn)

    @blueprint.arguments(RegisterBureauSchema)
    @blueprint.response(201, CreatedSchema)
    def post(self, command):
        """Register a bureau (platform admins only); it starts with the default rule set."""
        current_principal().require_role("platform_admin")
        bureau_id = str(uuid.uuid4())
        return execute_command(bureau_id, lambda uow: register.register_bureau(uow, command, bureau_id))


@blueprint.route("/bureaus/<uuid:bureau_id>")
class BureauItem(MethodView):
    @blueprint.response(200, BureauSchema)
    def get(self, bureau_id):
        """Read your own bureau; a platform admin reads any."""
        if not current_principal().has_role("platform_admin"):
            return one(queries.bureau, str(bureau_id))
        with directory() as conn:
            row = queries.bureau(conn, str(bureau_id))
        if row is None:
            raise NotFound("没有这个局", fields={"bureau_id": ["不存在"]})
        return row


@blueprint.route("/bureaus/<uuid:bureau_id>/rules")
class BureauRules(MethodView):
    @blueprint.arguments(RulesQuerySchema, location="query")
    @blueprint.response(200, RuleSetSchema(many=True))
    def get(self, query, bureau_id):
        """Every version of the bureau's rules as published, or the rule set in force on ``on`` as every service
        applies it (the rulebook's: that version over the defaults, held to the national floors)."""
        principal = current_principal()
        principal.require_tenant(str(bureau_id))
        with read_transaction(principal.tenant) as conn:
            rows = queries.rule_versions(conn)
        if not rows:
            raise NotFound()
        if "on" not in query:
            return rows
        book = RuleBook(RuleVersion(r["version"], r["effective_from"], r["rules"]) for r in rows)
        version = book.version_on(query["on"])
        return [{"version": version.version if version else 0,
                 "effective_from": version.effective_from if version else None, "rules": book.on(query["on"])}]

    @blueprint.arguments(PublishRulesSchema)
    @blueprint.response(201, CreatedSchema)
    def put(self, command, bureau_id):
        """Publish a whole new rule set: rules not sent take the defaults; earlier versions stay for the history."""
        return _publish(bureau_id, command, amend=False)

    @blueprint.arguments(PublishRulesSchema)
    @blueprint.response(201, CreatedSchema)
    def patch(self, command, bureau_id):
        """Publish a new version that changes only the rules sent; the others keep their value in the latest one."""
        return _publish(bureau_id, command, amend=True)


def _publish(bureau_id, command, amend: bool) -> dict:
    principal = current_principal()
    principal.require_role("bureau_admin")
    principal.require_tenant(str(bureau_id))
    return execute_command(principal.tenant,
                           lambda uow: register.publish_rules(uow, str(bureau_id), command, amend))


