#!/usr/bin/env python3
"""Validates the FHIR R5 JSON written by examples/fhir_export.rs.

Usage: validate.py DIR [--audit-events N] [--denied N] [--break-glass N]
                       [--consents N] [--inactive-consents N]

Every *.json file in DIR is parsed with the model of its resourceType from
fhir.resources (pydantic models generated from the FHIR R5 5.0.0
StructureDefinitions): element names, cardinalities, required elements,
datatypes and primitive formats (id, instant, date, code, uri, ...), and
every resource inside a Bundle. fhir.resources does not check the
required value-set bindings, nor the 64-character limit of ids, so this
script checks those of the elements the exporter writes, from the R5
specification. Then it asserts facts about the scenario the example plays
(counts of events, one denial, the break-glass read, the consents), with
the expected numbers given on the command line.

Before trusting a pass it checks that the validation can fail: a few
broken copies of a real AuditEvent must each be rejected.

Exits non-zero, printing every problem, on any failure.
"""

import argparse
import copy
import json
import re
import sys
from pathlib import Path

try:
    from importlib.metadata import version

    from fhir.resources import get_fhir_model_class
    from pydantic import ValidationError
except ImportError as e:  # pragma: no cover - environment problem
    sys.exit(f"fhir.resources is not installed ({e}); run scripts/test-fhir.sh")

FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
OUTCOME = "http://terminology.hl7.org/CodeSystem/audit-event-outcome"

# Required bindings of FHIR R5 (5.0.0) for the elements the exporter writes.
REQUIRED = {
    "AuditEvent.action": {"C", "R", "U", "D", "E"},
    "AuditEvent.severity": {
        "emergency", "alert", "critical", "error",
        "warning", "notice", "informational", "debug",
    },
    "Consent.status": {
        "draft", "active", "inactive", "not-done", "entered-in-error", "unknown",
    },
    "Consent.decision": {"deny", "permit"},
    "Consent.provision.data.meaning": {
        "instance", "related", "dependents", "authoredby",
    },
    "Bundle.type": {
        "document", "message", "transaction", "transaction-response", "batch",
        "batch-response", "history", "searchset", "collection",
        "subscription-notification",
    },
    "Bundle.entry.search.mode": {"match", "include", "outcome"},
}


class Problems(list):
    def add(self, where, what):
        self.append(f"{where}: {what}")


def model_check(doc):
    """Parses doc with its fhir.resources model; returns error strings."""
    kind = doc.get("resourceType") if isinstance(doc, dict) else None
    if not isinstance(kind, str):
        return ["no resourceType"]
    try:
        model = get_fhir_model_class(kind)
    except (KeyError, ValueError, ImportError, AttributeError) as e:
        return [f"unknown resourceType {kind!r}: {e}"]
    try:
        model.model_validate(doc)
    except ValidationError as e:
        return [
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
            for err in e.errors()
        ]
    return []


def binding(problems, where, path, value):
    allowed = REQUIRED[path]
    if value not in allowed:
        problems.add(where, f"{path} = {value!r} is not in the required value set")


def resource_checks(problems, where, doc):
    """Checks the library does not: id length, required bindings."""
    rid = doc.get("id")
    if rid is not None and not FHIR_ID.match(rid):
        problems.add(where, f"id {rid!r} does not match [A-Za-z0-9\\-\\.]{{1,64}}")
    kind = doc.get("resourceType")
    if kind == "AuditEvent":
        binding(problems, where, "AuditEvent.action", doc.get("action"))
        if "severity" in doc:
            binding(problems, where, "AuditEvent.severity", doc["severity"])
    elif kind == "Consent":
        binding(problems, where, "Consent.status", doc.get("status"))
        binding(problems, where, "Consent.decision", doc.get("decision"))

        def provisions(ps):
            for p in ps or []:
                yield p
                yield from provisions(p.get("provision"))

        for p in provisions(doc.get("provision")):
            for d in p.get("data", []):
                binding(problems, where, "Consent.provision.data.meaning", d.get("meaning"))
    elif kind == "Bundle":
        binding(problems, where, "Bundle.type", doc.get("type"))
        urls = [e.get("fullUrl") for e in doc.get("entry", [])]
        if doc.get("type") in {"collection", "searchset"} and None in urls:
            problems.add(where, "bdl-15: an entry has no fullUrl")
        if len(set(urls)) != len(urls):
            problems.add(where, "bdl-7: fullUrl values are not unique")
        for i, e in enumerate(doc.get("entry", [])):
            if "search" in e:
                binding(problems, where, "Bundle.entry.search.mode", e["search"].get("mode"))
            if "resource" in e:
                resource_checks(problems, f"{where} entry[{i}]", e["resource"])


def validate(problems, where, doc):
    for err in model_check(doc):
        problems.add(where, err)
    resource_checks(problems, where, doc)


def codes(concepts, system):
    return {
        c.get("code")
        for cc in concepts or []
        for c in cc.get("coding", [])
        if c.get("system") == system
    }


def self_test(problems, sample):
    """Broken copies of a valid AuditEvent must be rejected."""
    def broken(change):
        doc = copy.deepcopy(sample)
        change(doc)
        p = Problems()
        validate(p, "self-test", doc)
        return p

    cases = {
        "missing source (1..1)": lambda d: d.pop("source"),
        "unknown element": lambda d: d.update(bogus=1),
        "instant without a time zone": lambda d: d.update(recorded="2024-01-01T00:00:00.000"),
        "id with an underscore": lambda d: d.update(id="bad_id"),
        "id of 65 characters": lambda d: d.update(id="a" * 65),
        "action outside its value set": lambda d: d.update(action="X"),
        "outcome without code": lambda d: d["outcome"].pop("code"),
        "agent.who as a string": lambda d: d["agent"][0].update(who="someone"),
    }
    for name, change in cases.items():
        if not broken(change):
            problems.add("self-test", f"a broken AuditEvent ({name}) was accepted")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir", type=Path)
    ap.add_argument("--audit-events", type=int)
    ap.add_argument("--denied", type=int)
    ap.add_argument("--break-glass", type=int)
    ap.add_argument("--consents", type=int)
    ap.add_argument("--inactive-consents", type=int)
    args = ap.parse_args()

    files = sorted(args.dir.glob("*.json"))
    if not files:
        sys.exit(f"no JSON files in {args.dir}")
    problems = Problems()
    docs = {}
    for f in files:
        try:
            doc = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            problems.add(f.name, f"not JSON: {e}")
            continue
        docs[f.name] = doc
        validate(problems, f.name, doc)

    # The scenario of examples/fhir_export.rs.
    events = [d for d in docs.values() if d.get("resourceType") == "AuditEvent"]
    consents = [d for d in docs.values() if d.get("resourceType") == "Consent"]
    bundles = {n: d for n, d in docs.items() if d.get("resourceType") == "Bundle"}
    denied = [e for e in events if e.get("outcome", {}).get("code", {}).get("code") == "4"]
    emergency = [
        e for e in events
        if codes(e.get("authorization"), ACT_REASON) & {"ETREAT", "BTG"}
    ]
    flagged = [
        e for e in events
        if "BTG" in codes(e.get("agent", [{}])[0].get("authorization"), ACT_REASON)
    ]

    def expect(what, got, want):
        if want is not None and got != want:
            problems.add("scenario", f"{what}: {got}, expected {want}")

    expect("AuditEvents", len(events), args.audit_events)
    expect("denied AuditEvents (outcome 4)", len(denied), args.denied)
    expect("AuditEvents with an ETREAT/BTG authorization", len(emergency), args.break_glass)
    expect("AuditEvents flagged break-glass (agent.authorization BTG)", len(flagged), args.break_glass)
    expect("Consents", len(consents), args.consents)
    expect(
        "inactive Consents",
        sum(c.get("status") == "inactive" for c in consents),
        args.inactive_consents,
    )
    for e in events:
        where = f"AuditEvent/{e.get('id')}"
        outcome = e.get("outcome", {}).get("code", {})
        if outcome.get("system") != OUTCOME or outcome.get("code") not in {"0", "4"}:
            problems.add(where, f"outcome.code {outcome} is not audit-event-outcome 0 or 4")
        if not e.get("outcome", {}).get("detail"):
            problems.add(where, "outcome.detail is missing")
        if e.get("agent", [{}])[0].get("requestor") is not True:
            problems.add(where, "the reader is not the requestor")
    for e in denied:
        if e.get("severity") != "notice" or e in flagged:
            problems.add(f"AuditEvent/{e.get('id')}", "a denied read is flagged wrongly")
    for e in flagged:
        if e.get("severity") != "warning" or e in denied:
            problems.add(f"AuditEvent/{e.get('id')}", "a break-glass read is not a permitted warning")
    for c in consents:
        if c.get("decision") != "deny" or not c.get("provision"):
            problems.add(f"Consent/{c.get('id')}", "expected base deny with permit provisions")
        for p in c.get("provision", []):
            if not p.get("actor"):
                problems.add(f"Consent/{c.get('id')}", "a provision names no actor")
    loose = {(d["resourceType"], d.get("id")) for d in events + consents}
    collection = bundles.get("bundle.json")
    if collection is None:
        problems.add("bundle.json", "missing")
    else:
        inside = {
            (e["resource"]["resourceType"], e["resource"].get("id"))
            for e in collection.get("entry", [])
        }
        if collection.get("type") != "collection" or inside != loose:
            problems.add("bundle.json", "is not a collection of exactly the exported resources")
    review = bundles.get("break-glass-review.json")
    if review is None:
        problems.add("break-glass-review.json", "missing")
    else:
        entries = review.get("entry", [])
        if review.get("type") != "searchset" or review.get("total") != len(entries):
            problems.add("break-glass-review.json", "is not a searchset with a matching total")
        expect("break-glass review entries", len(entries), args.break_glass)
        ids = {e.get("id") for e in flagged}
        if any(e["resource"].get("id") not in ids for e in entries):
            problems.add("break-glass-review.json", "lists a read that is not flagged break-glass")

    if events:
        self_test(problems, events[0])
    else:
        problems.add("self-test", "no AuditEvent to break")

    lib = f"fhir.resources {version('fhir.resources')} (pydantic {version('pydantic')})"
    if problems:
        print(f"FHIR R5 validation FAILED ({lib}):", file=sys.stderr)
        for p in problems:
            print(f"  {p}", file=sys.stderr)
        sys.exit(1)
    print(
        f"validated {len(files)} files ({len(events)} AuditEvent, {len(consents)} Consent, "
        f"{len(bundles)} Bundle) as FHIR R5 with {lib}; the self-test's broken copies "
        "were all rejected"
    )


if __name__ == "__main__":
    main()
