"""Audit bundles built from a real PostgreSQL journal and checked by the offline verifier: a branch's quarter,
a stream and the whole bureau verify; then the tamper matrix — every change to a bundle fails with its fault
named (which event, which head, which proof)."""

from __future__ import annotations

import base64
import json
import random
from datetime import date, datetime, UTC

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.audit import bundles, formats, heads, journal
from services.audit.settings import AuditSettings, KeySpec
from services.audit.signing import Keyring
from services.audit.verifier import Fault, verify_bundle
from shared import db, note
from shared.canonical import event_hash
from tests.support import chained_events, new_id

OLD_SEED, NEW_SEED, OTHER_SEED = (bytes([n]) * 32 for n in (1, 2, 3))
ROTATED_ON = datetime(2026, 2, 1, tzinfo=UTC)
KEYS = (KeySpec.from_seed(OLD_SEED, valid_to=ROTATED_ON), KeySpec.from_seed(NEW_SEED, valid_from=ROTATED_ON))
SETTINGS = AuditSettings(signing_keys=KEYS)
KEYRING = Keyring(KEYS)
WITNESS = Ed25519PrivateKey.from_private_bytes(bytes([9]) * 32)
WITNESS_KEY = note.verifier("witness.example/w1", note.public_key_of(WITNESS), note.COSIGNATURE_V1)
Q1 = bundles.Period(date(2026, 1, 1), date(2026, 3, 31))
NOW = datetime(2026, 4, 10, 3, tzinfo=UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def on(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


@pytest.fixture(scope="module")
def bureau(audit_settings):
    """A bureau's journal: last year's entries under a head signed before the quarter (by the old key); the
    quarter's entries of two branches under a checkpoint signed just after it (the new key); then a late entry
    about March and April's entries, under a head a witness cosigned."""
    tenant, a, b = new_id(), new_id(), new_id()
    dec, jan, feb, mar, apr = (on(d) for d in ("2025-12-10", "2026-01-12", "2026-02-09", "2026-03-16", "2026-04-03"))
    plan = [("m1", a, dec), ("m2", b, dec), ("bureau", None, dec), ("m1", a, dec), ("meet-1", a, dec)]
    plan += [("m1", a, jan), ("meet-2", a, jan), ("m2", b, jan), ("meet-1", a, jan), ("meet-3", b, feb),
             ("m1", a, feb), ("meet-2", a, feb), ("m3", a, feb), ("meet-3", b, mar), ("m3", a, mar),
             ("bureau", None, mar), ("meet-4", a, mar)]
    plan += [("meet-5", a, on("2026-03-20")), ("m2", b, apr), ("meet-4", a, apr)]
    made = chained_events(tenant, plan)
    with db.connect(audit_settings.owner_dsn) as conn:
        for chunk, moment in ((made[:5], "2025-12-31T20:00:00+08:00"), (made[5:17], "2026-04-01T00:30:00+08:00"),
                              (made[17:], "2026-04-05T09:00:00+08:00")):
            head = journal_and_sign(conn, tenant, chunk, at(moment))
        cosignature = note.cosign(note.parse(head["checkpoint"]).text, WITNESS_KEY.name, WITNESS, 1775379600)
        with db.tenant_snapshot(conn, tenant):
            heads.add_cosignature(conn, tenant, head["tree_size"], WITNESS_KEY.vkey, cosignature.line, NOW)
    return {"tenant": tenant, "a": a, "b": b, "events": made, "settings": audit_settings,
            "keys": KEYRING.listing(formats.origin(SETTINGS.log_origin, tenant))}


def journal_and_sign(conn, tenant: str, envelopes: list, moment: datetime, keyring=KEYRING) -> dict:
    with conn.transaction():
        for envelope in envelopes:
            journal.append(conn, envelope)
    with db.tenant_snapshot(conn, tenant):
        return heads.sign_and_keep(conn, tenant, keyring, SETTINGS.log_origin, moment)


def make(bureau, scope: bundles.Scope, period=Q1, keyring=KEYRING) -> dict:
    with db.connect(bureau["settings"].owner_dsn) as conn, db.tenant_snapshot(conn, bureau["tenant"]):
        return bundles.build(conn, bureau["tenant"], scope, period, SETTINGS, keyring, NOW)


def check(bundle, keys, witnesses=()) -> dict:
    raw = bundle if isinstance(bundle, bytes) else formats.render_bundle(bundle)
    return verify_bundle(raw, keys, list(witnesses))


def fault(bundle, keys, witnesses=()) -> Fault:
    with pytest.raises(Fault) as caught:
        check(bundle, keys, witnesses)
    return caught.value


@pytest.fixture(scope="module")
def branch_quarter(bureau):
    return make(bureau, bundles.Scope("branch", bureau["a"]))


def test_a_branchs_quarter_holds_its_events_in_full_and_the_rest_of_its_chain_by_header(bureau, branch_quarter):
    summary = check(branch_quarter, bureau["keys"], [WITNESS_KEY])
    branch_a = [(i + 1, e) for i, e in enumerate(bureau["events"]) if e.branch_id == bureau["a"] and i + 1 > 5]
    assert [e["seq"] for e in branch_quarter["entries"]] == [seq for seq, _ in branch_a]
    in_full = [e["seq"] for e in branch_quarter["entries"] if "envelope" in e]
    assert in_full == [seq for seq, e in branch_a if e.occurred_at.month in (1, 2, 3)]
    assert 18 in in_full  # the late entry about March, journalled in April
    assert (summary["events"], summary["headers"]) == (len(in_full), 1)
    assert (summary["heads"]["lower"]["size"], summary["heads"]["upper"]["size"]) == (5, 20)
    assert summary["heads"]["lower"]["key_id"] != summary["heads"]["upper"]["key_id"]  # signed before the rotation


def test_a_bundle_as_known_on_a_day_is_proved_against_that_days_head(bureau):
    known = make(bureau, bundles.Scope("branch", bureau["a"]), bundles.Period(Q1.first, Q1.last, date(2026, 4, 2)))
    summary = check(known, bureau["keys"], [WITNESS_KEY])
    assert [h["role"] for h in known["heads"]] == ["lower", "upper", "latest"]
    assert summary["heads"]["upper"]["size"] == 17 and 18 not in [e["seq"] for e in known["entries"]]
    with pytest.raises(bundles.NothingKnownYet):
        make(bureau, bundles.Scope("branch", bureau["a"]), bundles.Period(Q1.first, Q1.last, date(2025, 11, 1)))
    chosen = make(bureau, bundles.Scope("branch", bureau["a"]), bundles.Period(Q1.first, Q1.last, tree_size=17))
    assert check(chosen, bureau["keys"], [WITNESS_KEY])["heads"]["upper"]["size"] == 17


def test_a_streams_and_the_whole_bureaus_bundles_verify(bureau):
    stream = make(bureau, bundles.Scope("stream", "m1"))
    assert [e["header"]["stream_version"] for e in stream["entries"]] == [3, 4]
    assert check(stream, bureau["keys"])["events"] == 2
    whole = make(bureau, bundles.Scope("bureau"))
    assert [e["seq"] for e in whole["entries"]] == list(range(6, 21))
    assert check(whole, bureau["keys"])["events"] == 13


def test_a_period_before_any_head_starts_from_the_journals_beginning(bureau):
    early = make(bureau, bundles.Scope("branch", bureau["b"]), bundles.Period(date(2025, 12, 1), date(2025, 12, 31)))
    assert early["manifest"]["bounds"] == {"after_seq": 0, "through_seq": 20}
    summary = check(early, bureau["keys"])
    assert summary["complete_from"] == "the journal's beginning" and summary["events"] == 1


def test_the_bundle_is_one_byte_form_and_any_changed_byte_fails(bureau):
    small = make(bureau, bundles.Scope("stream", "meet-3"))
    raw = formats.render_bundle(small)
    check(raw, bureau["keys"])
    positions = sorted(random.Random(15).sample(range(len(raw)), 150)) + [0, len(raw) - 1]
    for position in positions:
        changed = bytearray(raw)
        changed[position] = (changed[position] + 1) % 256
        with pytest.raises(Fault):
            check(bytes(changed), bureau["keys"])
    spaced = raw.replace(b'\n "format"', b'\n  "format"', 1)
    assert fault(spaced, bureau["keys"]).check == "format"


# --- the tamper matrix -----------------------------------------------------------------------------------

def tampered(bundle: dict, change) -> dict:
    copy = json.loads(json.dumps(bundle))
    change(copy)
    return copy


def test_a_changed_event_is_named(bureau, branch_quarter):
    victim = branch_quarter["entries"][3]
    bad = tampered(branch_quarter, lambda b: b["entries"][3]["envelope"]["data"].update(text="改过"))
    found = fault(bad, bureau["keys"])
    assert found.check == "event" and victim["envelope"]["event_id"] in found.message
    assert f"seq {victim['seq']}" in found.message


def test_a_changed_event_with_its_hash_recomputed_no_longer_proves_in(bureau, branch_quarter):
    def rehash(b):
        entry = b["entries"][3]
        entry["envelope"]["data"]["text"] = "改过"
        entry["envelope"]["hash"] = entry["header"]["hash"] = event_hash(entry["envelope"])
    found = fault(tampered(branch_quarter, rehash), bureau["keys"])
    assert found.check == "inclusion" and f"seq {branch_quarter['entries'][3]['seq']}" in found.message


def test_an_event_of_the_period_shown_by_its_header_alone_is_named(bureau, branch_quarter):
    found = fault(tampered(branch_quarter, lambda b: b["entries"][2].pop("envelope")), bureau["keys"])
    assert found.check == "completeness" and "only its header" in found.message


def test_a_dropped_event_is_a_named_gap(bureau, branch_quarter):
    middle = branch_quarter["entries"][2]["seq"]
    found = fault(tampered(branch_quarter, lambda b: b["entries"].pop(2)), bureau["keys"])
    assert found.check == "completeness" and f"entry seq {middle}" in found.message and "gap" in found.message
    newest = branch_quarter["entries"][-1]["seq"]
    found = fault(tampered(branch_quarter, lambda b: b["entries"].pop()), bureau["keys"])
    assert f"entry seq {newest}, named by the signed index" in found.message


def test_an_inserted_event_is_named(bureau, branch_quarter):
    other = make(bureau, bundles.Scope("branch", bureau["b"]))["entries"][0]  # real, with a valid proof

    def insert(b):
        b["entries"].append(other)
        b["entries"].sort(key=lambda e: e["seq"])
    found = fault(tampered(branch_quarter, insert), bureau["keys"])
    assert found.check == "completeness" and other["envelope"]["event_id"] in found.message
    assert "inserted" in found.message
    forged = json.loads(json.dumps(branch_quarter["entries"][1]))
    forged["envelope"].update(event_id=new_id(), data={"text": "编造的"})
    forged["envelope"]["hash"] = event_hash(forged["envelope"])
    forged["header"].update(event_id=forged["envelope"]["event_id"], hash=forged["envelope"]["hash"])

    def fabricate(b):
        b["entries"][1] = forged
    found = fault(tampered(branch_quarter, fabricate), bureau["keys"])
    assert found.check == "inclusion" and forged["envelope"]["event_id"] in found.message


def test_reordered_events_are_named(bureau, branch_quarter):
    def swap(b):
        b["entries"][1], b["entries"][2] = b["entries"][2], b["entries"][1]
    found = fault(tampered(branch_quarter, swap), bureau["keys"])
    assert found.check == "order" and f"seq {branch_quarter['entries'][2]['seq']}" in found.message

    def swap_contents(b):
        first, second = b["entries"][1], b["entries"][2]
        first["envelope"], second["envelope"] = second["envelope"], first["envelope"]
    found = fault(tampered(branch_quarter, swap_contents), bureau["keys"])
    assert found.check == "event" and "not the one its journal entry names" in found.message


def test_a_forged_head_is_named(bureau, branch_quarter):
    def forge(b):
        upper = next(h for h in b["heads"] if h["role"] == "upper")
        lines = upper["note"].split("\n")
        lines[2] = base64.b64encode(bytes(32)).decode()  # another root, the old signature
        upper["note"] = "\n".join(lines)
    found = fault(tampered(branch_quarter, forge), bureau["keys"])
    assert found.check == "heads" and "upper head" in found.message and "forged" in found.message


def test_the_wrong_key_list_is_refused(bureau, branch_quarter):
    strangers = Keyring((KeySpec.from_seed(OTHER_SEED),)).listing(bureau["keys"]["origin"])
    found = fault(branch_quarter, strangers)
    assert found.check == "keys" and "signed by no key in the key list" in found.message
    other_bureau = {**bureau["keys"], "origin": "branchwork.local/audit/" + new_id()}
    assert fault(branch_quarter, other_bureau).check == "keys"


def test_a_rotated_key_still_verifies_its_old_heads_but_not_heads_signed_after_it_retired(bureau, branch_quarter):
    retired_kept_public = Keyring((KeySpec(KEYS[0].public_key, None, None, ROTATED_ON), KEYS[1]))
    keys = retired_kept_public.listing(bureau["keys"]["origin"])
    assert check(branch_quarter, keys)["heads"]["lower"]["key_id"] == formats.key_id(KEYS[0].public_key)
    without_old = Keyring(KEYS[1:]).listing(bureau["keys"]["origin"])
    assert "lower head" in fault(branch_quarter, without_old).message
    # the old key, kept signing after its validity ended (a leaked or forgotten key), is caught
    tenant, branch = new_id(), new_id()
    with db.connect(bureau["settings"].owner_dsn) as conn:
        journal_and_sign(conn, tenant, chained_events(tenant, [("x", branch, on("2026-04-08"))]), NOW,
                         Keyring((KeySpec.from_seed(OLD_SEED),)))
    late = make({**bureau, "tenant": tenant}, bundles.Scope("branch", branch), bundles.Period(date(2026, 4, 8),
                                                                                             date(2026, 4, 9)))
    found = fault(late, {**bureau["keys"], "origin": formats.origin(SETTINGS.log_origin, tenant)})
    assert found.check == "keys" and "outside that key's validity" in found.message


def test_a_missing_or_false_consistency_proof_is_named(bureau, branch_quarter):
    found = fault(tampered(branch_quarter, lambda b: b["consistency"].pop(0)), bureau["keys"])
    assert found.check == "consistency" and "no consistency proof from the lower head (size 5)" in found.message
    known = make(bureau, bundles.Scope("branch", bureau["a"]), bundles.Period(Q1.first, Q1.last, date(2026, 4, 2)))
    found = fault(tampered(known, lambda b: b["consistency"].pop()), bureau["keys"], [WITNESS_KEY])
    assert "from the upper head (size 17) to the latest head (size 20)" in found.message

    def bend(b):
        b["consistency"][0]["path"][0] = "00" * 32
    assert "does not verify" in fault(tampered(branch_quarter, bend), bureau["keys"]).message


def test_a_forged_or_missing_cosignature_is_refused(bureau, branch_quarter):
    def forge(b):
        upper = next(h for h in b["heads"] if h["role"] == "upper")
        name, value = upper["note"].rstrip("\n").split("\n")[-1].split(" ")[1:]
        raw = bytearray(base64.b64decode(value))
        raw[-1] ^= 1
        upper["note"] = upper["note"].replace(value, base64.b64encode(bytes(raw)).decode())
    found = fault(tampered(branch_quarter, forge), bureau["keys"], [WITNESS_KEY])
    assert found.check == "witness" and "does not verify" in found.message
    stranger = note.verifier("witness.example/w2", note.public_key_of(Ed25519PrivateKey.generate()),
                             note.COSIGNATURE_V1)
    found = fault(branch_quarter, bureau["keys"], [stranger])
    assert found.check == "witness" and "has not cosigned" in found.message


def test_a_changed_index_row_or_manifest_is_named(bureau, branch_quarter):
    def lower_last(b):
        b["index"]["rows"][1]["last_seq"] -= 1
    assert fault(tampered(branch_quarter, lower_last), bureau["keys"]).check == "index"

    def narrow(b):
        b["manifest"]["period"]["to"] = "2026-02-28"
    assert fault(tampered(branch_quarter, narrow), bureau["keys"]).check == "bundle"
