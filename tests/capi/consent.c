/*
 * Patient-controlled access through the C API: a consent granted, used,
 * refused for the wrong purpose, revoked (the next read is refused with
 * MEDLEDGER_ERR_CONSENT_REVOKED) and both events found in the access log
 * JSON; consents not yet valid and expired; a record-level consent; a
 * guardian appointed, given the keys and removed; a suspended reader;
 * break-glass with an attached custodian (and without one, and for a
 * patient who opted out of escrow); erasure with receipts checked and
 * tampered with; the consent list and the break-glass review list; a
 * batch append, record facts and versions, served ciphertexts checked,
 * inclusion proofs (every byte flipped) and a witness cosignature.
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep */

#include <stdint.h>
#include <time.h>

#include "common.h"

static const char *LAB = "{\"resourceType\":\"Observation\",\"code\":{\"text\":\"HbA1c\"}}";
static const char *LAB2 = "{\"resourceType\":\"Observation\",\"code\":{\"text\":\"LDL\"}}";

/* A JSON array from the library as a NUL-terminated copy. */
static char *take_json(medledger_buffer *buf) {
    char *s = take_text(buf);
    size_t n = strlen(s);
    CHECK(n >= 2 && s[0] == '[' && s[n - 1] == ']');
    return s;
}

static char *access_log(const consortium *c, const uint8_t *requester) {
    medledger_buffer *buf = NULL;
    OK(medledger_ledger_access_log_json(c->ledger, requester, c->patient_id, &buf));
    return take_json(buf);
}

static size_t count(const char *haystack, const char *needle) {
    size_t n = 0;
    for (const char *p = strstr(haystack, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}

static void expect_denied(const consortium *c, const medledger_keypair *reader,
                          const uint8_t *record, const char *purpose, medledger_status want) {
    medledger_buffer *buf = (medledger_buffer *)(uintptr_t)0x5a5a5a5a;
    EXPECT(want, medledger_ledger_read_record(c->ledger, reader, record, purpose, &buf));
    CHECK(buf == (medledger_buffer *)(uintptr_t)0x5a5a5a5a);
    CHECK(want / 100 == 3);
}

static medledger_keypair *enrol(const consortium *c, uint32_t roles, const char *label,
                                uint32_t flags, uint8_t id[MEDLEDGER_ID_LEN]) {
    medledger_keypair *kp = new_keypair();
    uint8_t sign[32], enc[32];
    OK(medledger_keypair_public_keys(kp, sign, enc));
    OK(medledger_ledger_register(c->ledger, c->admin, sign, enc, roles, label, flags));
    OK(medledger_keypair_id(kp, id));
    return kp;
}

/* grant -> read -> wrong purpose -> revoke -> refused -> access log */
static void grant_read_revoke(const consortium *c, const uint8_t lab[32]) {
    uint8_t b_id[32], consent[32];
    char b_hex[65], consent_hex[65], lab_hex[65];
    OK(medledger_keypair_id(c->hospital_b, b_id));
    id_hex(b_id, b_hex);
    id_hex(lab, lab_hex);

    /* B treats the patient for imaging only: lab is refused. */
    expect_denied(c, c->hospital_b, lab, "TREAT", MEDLEDGER_ERR_NO_CONSENT);
    EXPECT_MESSAGE("TREAT");

    /* The patient lets B read lab results, for treatment, for a year. */
    uint64_t now = ledger_now(c->ledger);
    memset(consent, 0, sizeof consent);
    OK(medledger_ledger_grant(c->ledger, c->patient, c->patient_id, b_id, MEDLEDGER_ACTION_READ,
                              "TREAT", "lab", NULL, 0, now - 1000, now + YEAR_MS, consent));
    id_hex(consent, consent_hex);
    commit(c);
    expect_plaintext(c, c->hospital_b, lab, LAB);
    expect_denied(c, c->hospital_b, lab, "HRESCH", MEDLEDGER_ERR_WRONG_PURPOSE);
    /* Reading is not appending. */
    uint8_t unused[32];
    EXPECT(MEDLEDGER_ERR_REJECTED,
           medledger_ledger_append_record(c->ledger, c->hospital_b, c->patient_id, "lab",
                                          "text/plain", (const uint8_t *)"x", 1, unused));

    /* Revoked: the next read is refused, saying so. */
    OK(medledger_ledger_revoke(c->ledger, c->patient, consent));
    commit(c);
    expect_denied(c, c->hospital_b, lab, "TREAT", MEDLEDGER_ERR_CONSENT_REVOKED);
    EXPECT_MESSAGE("Revoked");
    CHECK(strcmp(medledger_status_name(MEDLEDGER_ERR_CONSENT_REVOKED),
                 "MEDLEDGER_ERR_CONSENT_REVOKED") == 0);
    /* Revoking twice is refused. */
    EXPECT(MEDLEDGER_ERR_REJECTED, medledger_ledger_revoke(c->ledger, c->patient, consent));
    commit(c); /* the denied attempt is committed with the next block */

    /* "Who saw my record": both of B's attempts under and after the
     * consent, permitted and denied, with the reason and its status. */
    char *log = access_log(c, c->patient_id);
    char permit[128], deny[256];
    snprintf(permit, sizeof permit, "\"consent\":\"%s\"", consent_hex);
    CHECK(count(log, permit) == 1);
    CHECK(strstr(log, "\"basis\":\"consent\"") != NULL);
    CHECK(strstr(log, "\"decision\":\"permit\"") != NULL);
    CHECK(strstr(log, "\"decision\":\"deny\"") != NULL);
    CHECK(strstr(log, "\"reason\":\"revoked\"") != NULL);
    CHECK(strstr(log, "\"status\":314") != NULL);
    CHECK(strstr(log, "\"reason\":\"wrong_purpose\"") != NULL);
    CHECK(strstr(log, "\"reason\":\"no_consent\"") != NULL);
    CHECK(strstr(log, "\"purpose\":\"HRESCH\"") != NULL);
    snprintf(deny, sizeof deny, "\"reader\":\"%s\"", b_hex);
    CHECK(count(log, deny) == 4); /* no consent, permit, wrong purpose, revoked */
    snprintf(deny, sizeof deny, "\"record\":\"%s\"", lab_hex);
    CHECK(count(log, deny) >= 4);
    free(log);

    /* Only the patient, a guardian or an auditor may see it. */
    medledger_buffer *buf = NULL;
    EXPECT(MEDLEDGER_ERR_ACCESS_DENIED,
           medledger_ledger_access_log_json(c->ledger, b_id, c->patient_id, &buf));
    uint8_t auditor_id[32];
    medledger_keypair *auditor = enrol(c, MEDLEDGER_ROLE_AUDITOR, "auditor", 0, auditor_id);
    commit(c);
    log = access_log(c, auditor_id);
    CHECK(strstr(log, "\"reason\":\"revoked\"") != NULL);
    free(log);
    medledger_keypair_free(auditor);

    /* The consent list shows it revoked. */
    OK(medledger_ledger_consents_json(c->ledger, c->patient_id, c->patient_id, &buf));
    char *consents = take_json(buf);
    char want[128];
    snprintf(want, sizeof want, "\"id\":\"%s\"", consent_hex);
    CHECK(strstr(consents, want) != NULL);
    CHECK(strstr(consents, "\"revoked_at\":null") != NULL); /* A's and B's standing ones */
    CHECK(count(consents, "\"revoked_at\":") == 3);
    CHECK(strstr(consents, "\"purposes\":[\"TREAT\"]") != NULL);
    free(consents);
}

/* The access log and consents as FHIR R5 searchset Bundles: one
 * AuditEvent per logged attempt (denials and permits), one Consent per
 * consent, the revoked one inactive; an empty log is an empty bundle. */
static void fhir_export(const consortium *c) {
    char *log = access_log(c, c->patient_id);
    const size_t attempts = count(log, "\"decision\":");
    const size_t denials = count(log, "\"decision\":\"deny\"");
    CHECK(attempts == 4 && denials == 3); /* no consent, permit, wrong purpose, revoked */
    free(log);
    medledger_buffer *buf = NULL;
    OK(medledger_ledger_access_log_fhir(c->ledger, c->patient_id, c->patient_id, &buf));
    char *bundle = take_text(buf);
    char want[64];
    CHECK(strncmp(bundle, "{", 1) == 0);
    CHECK(count(bundle, "\"resourceType\":\"Bundle\"") == 1);
    CHECK(strstr(bundle, "\"type\":\"searchset\"") != NULL);
    snprintf(want, sizeof want, "\"total\":%zu", attempts);
    CHECK(strstr(bundle, want) != NULL);
    CHECK(count(bundle, "\"resourceType\":\"AuditEvent\"") == attempts);
    CHECK(count(bundle, "\"fullUrl\":\"urn:uuid:") == attempts);
    CHECK(count(bundle, "\"mode\":\"match\"") == attempts);
    /* Denials are minor failures (outcome code 4), permits successes (0). */
    CHECK(count(bundle, "\"code\":\"4\",\"display\":\"Minor failure\"") == denials);
    CHECK(count(bundle, "\"code\":\"0\",\"display\":\"Success\"") == attempts - denials);
    CHECK(strstr(bundle, "\"code\":\"HRESCH\"") != NULL);
    char patient_hex[2 * MEDLEDGER_ID_LEN + 1];
    id_hex(c->patient_id, patient_hex);
    CHECK(strstr(bundle, patient_hex) != NULL);
    free(bundle);

    char *consents_json = NULL;
    OK(medledger_ledger_consents_json(c->ledger, c->patient_id, c->patient_id, &buf));
    consents_json = take_json(buf);
    const size_t consents = count(consents_json, "\"revoked_at\":");
    const size_t revoked = consents - count(consents_json, "\"revoked_at\":null");
    CHECK(consents == 3 && revoked == 1);
    free(consents_json);
    OK(medledger_ledger_consents_fhir(c->ledger, c->patient_id, c->patient_id, &buf));
    bundle = take_text(buf);
    CHECK(count(bundle, "\"resourceType\":\"Consent\"") == consents);
    snprintf(want, sizeof want, "\"total\":%zu", consents);
    CHECK(strstr(bundle, want) != NULL);
    CHECK(count(bundle, "\"status\":\"inactive\"") == revoked);
    CHECK(count(bundle, "\"status\":\"active\"") == consents - revoked);
    free(bundle);

    /* Same requesters as the JSON: hospital B may not; an auditor may.
     * An empty log is a bundle with no entry. */
    uint8_t b_id[32];
    OK(medledger_keypair_id(c->hospital_b, b_id));
    buf = (medledger_buffer *)(uintptr_t)0x5a5a5a5a;
    EXPECT(MEDLEDGER_ERR_ACCESS_DENIED,
           medledger_ledger_access_log_fhir(c->ledger, b_id, c->patient_id, &buf));
    EXPECT(MEDLEDGER_ERR_ACCESS_DENIED,
           medledger_ledger_consents_fhir(c->ledger, b_id, c->patient_id, &buf));
    CHECK(buf == (medledger_buffer *)(uintptr_t)0x5a5a5a5a);
    OK(medledger_ledger_access_log_fhir(c->ledger, c->other_patient_id, c->other_patient_id,
                                        &buf));
    bundle = take_text(buf);
    CHECK(strstr(bundle, "\"total\":0") != NULL && strstr(bundle, "\"entry\"") == NULL);
    free(bundle);
}

/* Periods: a consent not valid yet, an expired one; record-level consent. */
static void periods_and_records(const consortium *c, const uint8_t lab2[32]) {
    uint8_t b_id[32], id[32];
    OK(medledger_keypair_id(c->hospital_b, b_id));
    uint64_t now = ledger_now(c->ledger);
    OK(medledger_ledger_grant(c->ledger, c->patient, c->patient_id, b_id, MEDLEDGER_ACTION_READ,
                              "TREAT", "lab", NULL, 0, now + YEAR_MS, now + 2 * YEAR_MS, id));
    commit(c);
    expect_denied(c, c->hospital_b, lab2, "TREAT", MEDLEDGER_ERR_CONSENT_NOT_YET_VALID);
    /* A consent must not be expired when granted: give it two seconds,
     * and wait them out. */
    now = ledger_now(c->ledger);
    const uint64_t until = now + 2000;
    OK(medledger_ledger_grant(c->ledger, c->patient, c->patient_id, b_id, MEDLEDGER_ACTION_READ,
                              "TREAT, PUBHLTH", "lab", NULL, 0, now - 1000, until, id));
    commit(c);
    while (ledger_now(c->ledger) <= until) {
        struct timespec tenth = {0, 100 * 1000 * 1000};
        nanosleep(&tenth, NULL);
    }
    expect_denied(c, c->hospital_b, lab2, "TREAT", MEDLEDGER_ERR_CONSENT_EXPIRED);
    expect_denied(c, c->hospital_b, lab2, "PUBHLTH", MEDLEDGER_ERR_CONSENT_EXPIRED);

    /* One record version, read-only: that record and no other. */
    OK(medledger_ledger_grant(c->ledger, c->patient, c->patient_id, b_id, MEDLEDGER_ACTION_READ,
                              "TREAT", "", lab2, 1, now - 1000, now + YEAR_MS, id));
    commit(c);
    expect_plaintext(c, c->hospital_b, lab2, LAB2);
}

/* A guardian acts for the patient once appointed and given the keys. */
static void guardians(const consortium *c, const uint8_t lab[32]) {
    uint8_t g_id[32];
    medledger_keypair *g = enrol(c, MEDLEDGER_ROLE_GUARDIAN, "parent app", 0, g_id);
    commit(c);
    expect_denied(c, g, lab, "TREAT", MEDLEDGER_ERR_NO_CONSENT);
    OK(medledger_ledger_add_guardian(c->ledger, c->patient, c->patient_id, g_id));
    commit(c);
    /* Permitted now, but it holds no key yet: refused with 301, not a rule
     * denial (and not recorded). */
    medledger_buffer *buf = NULL;
    EXPECT(MEDLEDGER_ERR_ACCESS_DENIED,
           medledger_ledger_read_record(c->ledger, g, lab, "TREAT", &buf));
    EXPECT_MESSAGE("share_keys");
    /* The patient shares the current keys of every category with it. */
    size_t shares = 0;
    OK(medledger_ledger_share_keys(c->ledger, c->patient, c->patient_id, &shares));
    CHECK(shares >= 2); /* lab and imaging, at least */
    commit(c);
    OK(medledger_ledger_share_keys(c->ledger, c->patient, c->patient_id, &shares));
    CHECK(shares == 0); /* nothing left to do: no transaction */
    uint8_t lab3[32];
    append(c, c->hospital_a, c->patient_id, "lab", LAB, lab3);
    commit(c);
    expect_plaintext(c, g, lab3, LAB);
    /* The guardian sees the access log. */
    OK(medledger_ledger_access_log_json(c->ledger, g_id, c->patient_id, &buf));
    medledger_buffer_free(buf);
    OK(medledger_ledger_remove_guardian(c->ledger, c->patient, c->patient_id, g_id));
    commit(c);
    expect_denied(c, g, lab3, "TREAT", MEDLEDGER_ERR_NO_CONSENT);
    EXPECT(MEDLEDGER_ERR_REJECTED, /* not a guardian any more */
           medledger_ledger_remove_guardian(c->ledger, c->patient, c->patient_id, g_id));
    medledger_keypair_free(g);
}

/* A suspended reader is refused (and recorded), then reinstated. */
static void suspension(const consortium *c, const uint8_t imaging[32]) {
    uint8_t a_id[32];
    OK(medledger_keypair_id(c->hospital_a, a_id));
    OK(medledger_ledger_suspend(c->ledger, c->admin, a_id));
    commit(c);
    expect_denied(c, c->hospital_a, imaging, "TREAT", MEDLEDGER_ERR_SUSPENDED);
    uint8_t unused[32];
    EXPECT(MEDLEDGER_ERR_REJECTED,
           medledger_ledger_append_record(c->ledger, c->hospital_a, c->patient_id, "lab",
                                          "text/plain", (const uint8_t *)"x", 1, unused));
    EXPECT_MESSAGE("suspended");
    EXPECT(MEDLEDGER_ERR_REJECTED, medledger_ledger_suspend(c->ledger, c->admin, a_id));
    OK(medledger_ledger_reinstate(c->ledger, c->admin, a_id));
    commit(c);
    expect_plaintext(c, c->hospital_a, imaging, "{\"resourceType\":\"ImagingStudy\"}");
}

/* Break-glass: a provider with no consent declares an emergency; the node's
 * custodian releases the escrowed keys; the reads are flagged for review. */
static void break_glass(const consortium *c) {
    uint8_t er_id[32], custodian_id[32], admin_id[32];
    OK(medledger_keypair_id(c->admin, admin_id));
    medledger_keypair *er = enrol(c, MEDLEDGER_ROLE_PROVIDER, "county ER", 0, er_id);
    medledger_keypair *custodian =
        enrol(c, MEDLEDGER_ROLE_CUSTODIAN, "key escrow", 0, custodian_id);
    commit(c);
    /* The custodian was registered after the patient's categories were
     * opened: the patient brings the key holders up to date, and records
     * written from now on are escrowed. */
    size_t shares = 0;
    OK(medledger_ledger_share_keys(c->ledger, c->patient, c->patient_id, &shares));
    CHECK(shares >= 1);
    commit(c);
    uint8_t lab[32];
    append(c, c->hospital_a, c->patient_id, "lab", LAB2, lab);
    commit(c);

    expect_denied(c, er, lab, "ETREAT", MEDLEDGER_ERR_NO_CONSENT);
    uint8_t bg[32], bg2[32];
    OK(medledger_ledger_break_glass(c->ledger, er, c->patient_id, "ETREAT",
                                    "unconscious on arrival", 3600 * 1000, bg));
    commit(c);
    /* No custodian key on this node yet: refused (301), not a rule denial. */
    medledger_buffer *buf = NULL;
    EXPECT(MEDLEDGER_ERR_ACCESS_DENIED,
           medledger_ledger_read_record(c->ledger, er, lab, "ETREAT", &buf));
    EXPECT_MESSAGE("custodian");
    OK(medledger_ledger_attach_custodian(c->ledger, custodian));
    /* The ledger keeps its own reference: the handle may go at once. */
    medledger_keypair_free(custodian);
    expect_plaintext_for(c, er, lab, "ETREAT", LAB2);
    /* Only for the declared reason, and only the declaring provider. */
    expect_denied(c, er, lab, "BTG", MEDLEDGER_ERR_NO_CONSENT);
    expect_denied(c, er, lab, "TREAT", MEDLEDGER_ERR_NO_CONSENT);
    expect_denied(c, c->other_patient, lab, "ETREAT", MEDLEDGER_ERR_NO_CONSENT);
    OK(medledger_ledger_break_glass(c->ledger, er, c->patient_id, "BTG", "mass casualty",
                                    60 * 1000, bg2));
    CHECK(memcmp(bg, bg2, 32) != 0);
    commit(c);
    expect_plaintext_for(c, er, lab, "BTG", LAB2);

    /* Reviews: auditors and admins only; both reads are there. */
    EXPECT(MEDLEDGER_ERR_ACCESS_DENIED,
           medledger_ledger_break_glass_reviews_json(c->ledger, er_id, &buf));
    OK(medledger_ledger_break_glass_reviews_json(c->ledger, admin_id, &buf));
    char *reviews = take_json(buf);
    char bg_hex[65], want[128];
    id_hex(bg, bg_hex);
    snprintf(want, sizeof want, "\"break_glass\":\"%s\"", bg_hex);
    CHECK(count(reviews, want) == 1);
    CHECK(count(reviews, "\"basis\":\"break_glass\"") == 2);
    CHECK(strstr(reviews, "\"purpose\":\"BTG\"") != NULL);
    free(reviews);

    /* A patient who opted out of escrow is out of reach. */
    uint8_t private_id[32];
    medledger_keypair *private_patient = enrol(c, MEDLEDGER_ROLE_PATIENT, "opted out",
                                               MEDLEDGER_REGISTER_ESCROW_OPT_OUT, private_id);
    commit(c);
    EXPECT(MEDLEDGER_ERR_REJECTED,
           medledger_ledger_break_glass(c->ledger, er, private_id, "ETREAT", "er", 60000, bg));
    EXPECT_MESSAGE("opted out");
    /* Only providers declare; a window beyond the consortium maximum (24 h
     * by default) is refused. */
    EXPECT(MEDLEDGER_ERR_REJECTED,
           medledger_ledger_break_glass(c->ledger, c->other_patient, c->patient_id, "ETREAT",
                                        "er", 60000, bg));
    EXPECT(MEDLEDGER_ERR_REJECTED,
           medledger_ledger_break_glass(c->ledger, er, c->patient_id, "ETREAT", "er",
                                        48ull * 3600 * 1000, bg));
    medledger_keypair_free(private_patient);
    medledger_keypair_free(er);
}

/* Erasure: receipts, checked and tampered with; the record is gone. */
static void erasure(const consortium *c, const uint8_t lab[32], const uint8_t lab2[32]) {
    uint8_t ids[64];
    memcpy(ids, lab, 32);
    memcpy(ids + 32, lab2, 32);
    medledger_buffer *receipts = NULL;
    OK(medledger_ledger_erase(c->ledger, c->patient, ids, 2, &receipts));
    CHECK(medledger_buffer_len(receipts) == 2 * MEDLEDGER_ERASURE_RECEIPT_LEN);
    const uint8_t *r = medledger_buffer_data(receipts);
    uint8_t ledger_id[32], v0[32];
    OK(medledger_ledger_id(c->ledger, ledger_id));
    OK(medledger_keypair_id(c->validators[0], v0));
    for (int i = 0; i < 2; i++) {
        const uint8_t *one = r + i * MEDLEDGER_ERASURE_RECEIPT_LEN;
        CHECK(memcmp(one, ledger_id, 32) == 0);
        CHECK(memcmp(one + 32, ids + 32 * i, 32) == 0);
        CHECK(memcmp(one + 120, v0, 32) == 0); /* the first attached validator */
        OK(medledger_ledger_verify_erasure_receipt(c->ledger, one, MEDLEDGER_ERASURE_RECEIPT_LEN));
    }
    /* A modified receipt does not verify. */
    uint8_t bad[MEDLEDGER_ERASURE_RECEIPT_LEN];
    memcpy(bad, r, sizeof bad);
    bad[100] ^= 1; /* the leaf index */
    EXPECT(MEDLEDGER_ERR_BAD_SIGNATURE,
           medledger_ledger_verify_erasure_receipt(c->ledger, bad, sizeof bad));
    memcpy(bad, r, sizeof bad);
    bad[200] ^= 1; /* the signature */
    EXPECT(MEDLEDGER_ERR_BAD_SIGNATURE,
           medledger_ledger_verify_erasure_receipt(c->ledger, bad, sizeof bad));
    medledger_buffer_free(receipts);

    /* Erased: refused with its own code, even to the patient; erasing
     * again is refused; the chain still verifies. */
    expect_denied(c, c->patient, lab, "PATRQT", MEDLEDGER_ERR_ERASED);
    expect_denied(c, c->hospital_a, lab2, "TREAT", MEDLEDGER_ERR_ERASED);
    EXPECT(MEDLEDGER_ERR_REJECTED, medledger_ledger_erase(c->ledger, c->patient, ids, 1, &receipts));
    commit(c);
    medledger_report *report = NULL;
    OK(medledger_ledger_verify(c->ledger, &report));
    if (!medledger_report_ok(report)) FAIL("verify: %s", medledger_report_summary(report));
    CHECK(medledger_report_erased(report) >= 1);
    CHECK(medledger_report_erased_still_stored(report) == 0);
    medledger_report_free(report);

    /* Without a validator key, a node cannot sign receipts. */
    const medledger_keypair *none[1] = {NULL};
    OK(medledger_ledger_attach_validators(c->ledger, none, 0));
    uint8_t note[32];
    append(c, c->hospital_a, c->patient_id, "note", "{}", note);
    commit(c);
    EXPECT(MEDLEDGER_ERR_INVALID_ARGUMENT,
           medledger_ledger_erase(c->ledger, c->patient, note, 1, &receipts));
    EXPECT_MESSAGE("attach_validators");
    attach_validators(c->ledger, c);
}

/* Key rotation: the participant keeps its id, the old key stops signing,
 * and the patient re-shares the keys to the new one. */
static void rotation(const consortium *c, const uint8_t imaging[32]) {
    uint8_t b_id[32], new_id[32];
    OK(medledger_keypair_id(c->hospital_b, b_id));
    medledger_keypair *new_b = NULL;
    OK(medledger_keypair_rotated(c->hospital_b, &new_b));
    OK(medledger_keypair_id(new_b, new_id));
    CHECK(memcmp(b_id, new_id, 32) == 0);
    OK(medledger_ledger_rotate_keys(c->ledger, c->hospital_b, new_b));
    commit(c);
    uint8_t unused[32];
    EXPECT(MEDLEDGER_ERR_REJECTED,
           medledger_ledger_append_record(c->ledger, c->hospital_b, c->patient_id, "imaging",
                                          "text/plain", (const uint8_t *)"x", 1, unused));
    EXPECT_MESSAGE("signing key");
    medledger_buffer *buf = NULL;
    EXPECT(MEDLEDGER_ERR_ACCESS_DENIED,
           medledger_ledger_read_record(c->ledger, new_b, imaging, "TREAT", &buf));
    size_t shares = 0;
    OK(medledger_ledger_share_keys(c->ledger, c->patient, c->patient_id, &shares));
    CHECK(shares >= 1);
    commit(c);
    expect_plaintext(c, new_b, imaging, "{\"resourceType\":\"ImagingStudy\"}");
    EXPECT(MEDLEDGER_ERR_REJECTED, medledger_ledger_rotate_keys(c->ledger, new_b, new_b));
    medledger_keypair_free(new_b);
}

/* True when `needle` occurs in the `len` bytes at `hay`. */
static int contains(const uint8_t *hay, size_t len, const char *needle, size_t nlen) {
    for (size_t i = 0; i + nlen <= len; i++)
        if (memcmp(hay + i, needle, nlen) == 0) return 1;
    return 0;
}

/* Evidence a court checks with nothing but a file, and a signed checkpoint. */
static void evidence(const consortium *c, const uint8_t imaging[32]) {
    medledger_buffer *bundle = NULL, *report = NULL, *note = NULL;
    OK(medledger_ledger_evidence(c->ledger, imaging, true, &bundle));
    size_t len = medledger_buffer_len(bundle);
    CHECK(len > 200);
    uint8_t ledger_id[32];
    OK(medledger_ledger_id(c->ledger, ledger_id));
    OK(medledger_evidence_verify(medledger_buffer_data(bundle), len, ledger_id, &report));
    char hex_id[65];
    id_hex(imaging, hex_id);
    CHECK(contains(medledger_buffer_data(report), medledger_buffer_len(report), hex_id, 64));
    medledger_buffer_free(report);
    /* Every byte matters: a flipped bit anywhere is refused. */
    uint8_t *copy = malloc(len);
    memcpy(copy, medledger_buffer_data(bundle), len);
    for (size_t i = 0; i < len; i += 37) {
        copy[i] ^= 0x01;
        report = NULL;
        /* Refused as malformed (1xx) or as a proof that fails (2xx). */
        medledger_status st = medledger_evidence_verify(copy, len, NULL, &report);
        CHECK(st != MEDLEDGER_OK && st / 100 <= 2);
        CHECK(report == NULL);
        copy[i] ^= 0x01;
    }
    /* Another ledger's id is refused. */
    uint8_t other[32] = {0};
    EXPECT(MEDLEDGER_ERR_BAD_PROOF, medledger_evidence_verify(copy, len, other, &report));
    free(copy);
    medledger_buffer_free(bundle);
    OK(medledger_ledger_checkpoint(c->ledger, c->validators[0], "medledger.example/test", &note));
    CHECK(medledger_buffer_len(note) > 0);
    /* A signature line ("— name base64") after the blank line. */
    CHECK(contains(medledger_buffer_data(note), medledger_buffer_len(note),
                   "\n\n\xe2\x80\x94 ", 6));
    medledger_buffer_free(note);
    EXPECT(MEDLEDGER_ERR_ACCESS_DENIED,
           medledger_ledger_checkpoint(c->ledger, c->hospital_a, "medledger.example/test", &note));
}

static char *record_info(const consortium *c, const uint8_t id[32]) {
    medledger_buffer *buf = NULL;
    OK(medledger_ledger_record_info_json(c->ledger, id, &buf));
    char *s = take_text(buf);
    CHECK(s[0] == '{' && s[strlen(s) - 1] == '}');
    return s;
}

/* A batch of records under one signature: one transaction, readable, with
 * its public facts; an amendment and the version chain; served
 * ciphertexts checked against the chain; inclusion proofs checked
 * offline. */
static void batch_and_records(const consortium *c) {
    static const char *IMG = "{\"resourceType\":\"ImagingStudy\",\"id\":\"batch\"}";
    const char *payloads[3] = {LAB, LAB2, IMG};
    const medledger_new_record recs[3] = {
        {c->patient_id, "lab", "application/fhir+json", (const uint8_t *)LAB, strlen(LAB)},
        {c->patient_id, "lab", "application/fhir+json", (const uint8_t *)LAB2, strlen(LAB2)},
        {c->patient_id, "imaging", "application/fhir+json", (const uint8_t *)IMG, strlen(IMG)},
    };
    uint8_t ids[3 * 32];
    OK(medledger_ledger_append_batch(c->ledger, c->hospital_a, recs, 3, ids));
    CHECK(memcmp(ids, ids + 32, 32) != 0 && memcmp(ids + 32, ids + 64, 32) != 0);
    /* Pending records have no committed facts yet. */
    medledger_buffer *buf = NULL;
    EXPECT(MEDLEDGER_ERR_NOT_FOUND, medledger_ledger_record_info_json(c->ledger, ids, &buf));
    const uint64_t height = commit(c);
    uint64_t size0 = 0;
    OK(medledger_ledger_log_size(c->ledger, &size0));
    uint8_t author[32];
    OK(medledger_keypair_id(c->hospital_a, author));
    uint64_t leaf = 0;
    for (int i = 0; i < 3; i++) {
        expect_plaintext(c, c->hospital_a, ids + 32 * i, payloads[i]);
        char *info = record_info(c, ids + 32 * i);
        expect_hex_field(info, "id", ids + 32 * i);
        expect_hex_field(info, "patient", c->patient_id);
        expect_hex_field(info, "author", author);
        CHECK(strstr(info, i == 2 ? "\"category\":\"imaging\"" : "\"category\":\"lab\"") != NULL);
        CHECK(strstr(info, "\"content_type\":\"application/fhir+json\"") != NULL);
        CHECK(strstr(info, "\"amends\":null") != NULL && strstr(info, "\"erased\":false") != NULL);
        CHECK(json_u64(info, "version") == 1 && json_u64(info, "height") == height);
        /* One transaction holds the three. */
        if (i == 0) leaf = json_u64(info, "leaf");
        CHECK(json_u64(info, "leaf") == leaf && leaf < size0);
        /* The ciphertext is the payload, a nonce and a tag. */
        CHECK(json_u64(info, "ciphertext_len") > strlen(payloads[i]));
        free(info);
    }

    /* An amendment: two versions, the same chain from either id. */
    uint8_t v2[32];
    static const char *LAB3 = "{\"resourceType\":\"Observation\",\"status\":\"amended\"}";
    OK(medledger_ledger_amend_record(c->ledger, c->hospital_a, ids, "application/fhir+json",
                                     (const uint8_t *)LAB3, strlen(LAB3), v2));
    const uint64_t amend_height = commit(c);
    for (int i = 0; i < 2; i++) {
        OK(medledger_ledger_versions(c->ledger, i == 0 ? ids : v2, &buf));
        CHECK(medledger_buffer_len(buf) == 64);
        CHECK(memcmp(medledger_buffer_data(buf), ids, 32) == 0);
        CHECK(memcmp(medledger_buffer_data(buf) + 32, v2, 32) == 0);
        medledger_buffer_free(buf);
    }
    OK(medledger_ledger_versions(c->ledger, ids + 32, &buf));
    CHECK(medledger_buffer_len(buf) == 32 && memcmp(medledger_buffer_data(buf), ids + 32, 32) == 0);
    medledger_buffer_free(buf);
    char *info = record_info(c, ids);
    expect_hex_field(info, "superseded_by", v2);
    free(info);
    info = record_info(c, v2);
    expect_hex_field(info, "amends", ids);
    CHECK(json_u64(info, "version") == 2 && json_u64(info, "height") == amend_height);
    const uint64_t ct_len = json_u64(info, "ciphertext_len");
    const uint64_t v2_leaf = json_u64(info, "leaf");
    free(info);

    /* The amendment's block ships one ciphertext, its last bytes: a peer
     * serving exactly those passes, anything else is tampered. */
    medledger_buffer *shipped = NULL;
    OK(medledger_ledger_export_block(c->ledger, amend_height, &shipped));
    CHECK(medledger_buffer_len(shipped) > ct_len);
    uint8_t *ct = malloc(ct_len);
    CHECK(ct != NULL);
    memcpy(ct, medledger_buffer_data(shipped) + medledger_buffer_len(shipped) - ct_len, ct_len);
    medledger_buffer_free(shipped);
    OK(medledger_ledger_check_served(c->ledger, v2, ct, ct_len));
    EXPECT(MEDLEDGER_ERR_TAMPERED, medledger_ledger_check_served(c->ledger, v2, ct, ct_len - 1));
    EXPECT(MEDLEDGER_ERR_TAMPERED, medledger_ledger_check_served(c->ledger, ids, ct, ct_len));
    for (uint64_t i = 0; i < ct_len; i += 13) {
        ct[i] ^= 0x04;
        EXPECT(MEDLEDGER_ERR_TAMPERED, medledger_ledger_check_served(c->ledger, v2, ct, ct_len));
        ct[i] ^= 0x04;
    }
    free(ct);

    /* The record's inclusion proof against the head, checked offline with
     * the transaction's bytes and the head's root. */
    uint64_t pleaf = 0, psize = 0, head_size = 0;
    medledger_buffer *proof = NULL, *tx = NULL, *again = NULL;
    OK(medledger_ledger_record_inclusion(c->ledger, v2, &pleaf, &psize, &proof));
    OK(medledger_ledger_log_size(c->ledger, &head_size));
    CHECK(pleaf == v2_leaf && psize == head_size);
    uint8_t root[32], root0[32];
    OK(medledger_ledger_log_root(c->ledger, psize, root));
    OK(medledger_ledger_transaction(c->ledger, pleaf, &tx));
    const uint8_t *p = medledger_buffer_data(proof), *t = medledger_buffer_data(tx);
    const size_t plen = medledger_buffer_len(proof), tlen = medledger_buffer_len(tx);
    CHECK(plen > 0 && plen % 32 == 0 && plen <= 64 * 32 && tlen > 0);
    OK(medledger_verify_inclusion(pleaf, psize, root, t, tlen, p, plen));
    /* The same proof, asked for by leaf and size. */
    OK(medledger_ledger_inclusion_proof(c->ledger, pleaf, psize, &again));
    CHECK(medledger_buffer_len(again) == plen && memcmp(medledger_buffer_data(again), p, plen) == 0);
    medledger_buffer_free(again);
    /* Every byte of the proof and of the transaction, the position, the
     * size and the root matter. */
    uint8_t *copy = malloc(plen > tlen ? plen : tlen);
    CHECK(copy != NULL);
    memcpy(copy, p, plen);
    for (size_t i = 0; i < plen; i++) {
        copy[i] ^= 0x10;
        EXPECT(MEDLEDGER_ERR_BAD_PROOF,
               medledger_verify_inclusion(pleaf, psize, root, t, tlen, copy, plen));
        copy[i] ^= 0x10;
    }
    memcpy(copy, t, tlen);
    for (size_t i = 0; i < tlen; i += 7) {
        copy[i] ^= 0x10;
        EXPECT(MEDLEDGER_ERR_BAD_PROOF,
               medledger_verify_inclusion(pleaf, psize, root, copy, tlen, p, plen));
        copy[i] ^= 0x10;
    }
    free(copy);
    EXPECT(MEDLEDGER_ERR_BAD_PROOF,
           medledger_verify_inclusion(pleaf - 1, psize, root, t, tlen, p, plen));
    EXPECT(MEDLEDGER_ERR_BAD_PROOF,
           medledger_verify_inclusion(pleaf, psize + 1, root, t, tlen, p, plen));
    OK(medledger_ledger_log_root(c->ledger, size0, root0));
    EXPECT(MEDLEDGER_ERR_BAD_PROOF,
           medledger_verify_inclusion(pleaf, psize, root0, t, tlen, p, plen));
    medledger_buffer_free(proof);
    medledger_buffer_free(tx);
    /* The batch's transaction in the older log of its own block. */
    OK(medledger_ledger_inclusion_proof(c->ledger, leaf, size0, &proof));
    OK(medledger_ledger_transaction(c->ledger, leaf, &tx));
    OK(medledger_verify_inclusion(leaf, size0, root0, medledger_buffer_data(tx),
                                  medledger_buffer_len(tx), medledger_buffer_data(proof),
                                  medledger_buffer_len(proof)));
    EXPECT(MEDLEDGER_ERR_BAD_PROOF,
           medledger_verify_inclusion(leaf, size0, root, medledger_buffer_data(tx),
                                      medledger_buffer_len(tx), medledger_buffer_data(proof),
                                      medledger_buffer_len(proof)));
    medledger_buffer_free(proof);
    medledger_buffer_free(tx);
}

/* A witness cosigns the log's checkpoint after checking the log's
 * signature; a client verifying against known keys sees who signed. */
static void witness_cosignature(const consortium *c) {
    static const char *LOG = "medledger.example/test";
    static const char *WITNESS = "witness.example/w1";
    const uint64_t when = 1767225600; /* seconds */
    medledger_buffer *note = NULL, *buf = NULL;
    OK(medledger_ledger_checkpoint(c->ledger, c->validators[0], LOG, &note));
    uint8_t sign[32], enc[32], wsign[32];
    OK(medledger_keypair_public_keys(c->validators[0], sign, enc));
    medledger_keypair *witness = new_keypair();
    OK(medledger_keypair_public_keys(witness, wsign, enc));
    const medledger_note_key keys[2] = {{LOG, sign, false}, {WITNESS, wsign, true}};

    const uint8_t *n = medledger_buffer_data(note);
    const size_t nlen = medledger_buffer_len(note);
    medledger_buffer *cosigned = NULL;
    OK(medledger_checkpoint_cosign(n, nlen, &keys[0], witness, WITNESS, when, &cosigned));
    const uint8_t *cn = medledger_buffer_data(cosigned);
    const size_t cnlen = medledger_buffer_len(cosigned);
    /* The note, then one more signature line. */
    CHECK(cnlen > nlen && memcmp(cn, n, nlen) == 0 && cn[cnlen - 1] == '\n');
    CHECK(contains(cn + nlen, cnlen - nlen, "\xe2\x80\x94 witness.example/w1 ", 23));

    OK(medledger_checkpoint_open(cn, cnlen, keys, 2, &buf));
    char *json = take_text(buf);
    uint64_t size = 0;
    uint8_t root[32];
    char root_hex[65];
    OK(medledger_ledger_log_size(c->ledger, &size));
    OK(medledger_ledger_log_root(c->ledger, size, root));
    id_hex(root, root_hex);
    CHECK(json_u64(json, "size") == size && strstr(json, root_hex) != NULL);
    CHECK(strstr(json, "\"origin\":\"medledger.example/") != NULL);
    CHECK(count(json, "\"name\"") == 2 && count(json, "\"cosigner\":true") == 1);
    /* The log's signature has no time, the witness's its own. */
    CHECK(count(json, "\"timestamp\":null") == 1 && strstr(json, "\"timestamp\":1767225600}"));
    free(json);
    /* The witness's key alone finds its cosignature. */
    OK(medledger_checkpoint_open(cn, cnlen, &keys[1], 1, &buf));
    json = take_text(buf);
    CHECK(count(json, "\"name\"") == 1 && strstr(json, WITNESS) != NULL);
    free(json);
    /* Not yet cosigned: no signature by a known key. */
    buf = (medledger_buffer *)(uintptr_t)0x5a5a5a5a;
    EXPECT(MEDLEDGER_ERR_BAD_SIGNATURE, medledger_checkpoint_open(n, nlen, &keys[1], 1, &buf));
    EXPECT_MESSAGE("no signature by a known");
    /* The witness key as a note signer does not check a cosignature. */
    const medledger_note_key wrong_type = {WITNESS, wsign, false};
    EXPECT(MEDLEDGER_ERR_BAD_SIGNATURE,
           medledger_checkpoint_open(cn, cnlen, &wrong_type, 1, &buf));
    /* A changed cosignature fails (its base64 stays well-formed). */
    uint8_t *bad = malloc(cnlen);
    CHECK(bad != NULL);
    memcpy(bad, cn, cnlen);
    bad[cnlen - 10] = bad[cnlen - 10] == 'A' ? 'B' : 'A';
    EXPECT(MEDLEDGER_ERR_BAD_SIGNATURE, medledger_checkpoint_open(bad, cnlen, &keys[1], 1, &buf));
    /* So does a changed checkpoint, for the log's key and the witness's. */
    memcpy(bad, cn, cnlen);
    bad[nlen / 3] ^= 0x01;
    EXPECT(MEDLEDGER_ERR_BAD_SIGNATURE, medledger_checkpoint_open(bad, cnlen, keys, 1, &buf));
    EXPECT(MEDLEDGER_ERR_BAD_SIGNATURE, medledger_checkpoint_open(bad, cnlen, &keys[1], 1, &buf));
    free(bad);
    CHECK(buf == (medledger_buffer *)(uintptr_t)0x5a5a5a5a);
    /* A witness refuses a note the log did not sign. */
    medledger_buffer *out = (medledger_buffer *)(uintptr_t)0x5a5a5a5a;
    EXPECT(MEDLEDGER_ERR_BAD_SIGNATURE,
           medledger_checkpoint_cosign(n, nlen, &wrong_type, witness, WITNESS, when, &out));
    EXPECT(MEDLEDGER_ERR_INVALID_ARGUMENT,
           medledger_checkpoint_cosign(n, nlen, &keys[1], witness, WITNESS, when, &out));
    EXPECT_MESSAGE("cosigner");
    CHECK(out == (medledger_buffer *)(uintptr_t)0x5a5a5a5a);
    medledger_buffer_free(cosigned);
    medledger_buffer_free(note);
    medledger_keypair_free(witness);
}

/* One call reads several records: one access-event transaction, one
 * commit; each record decided on its own (permitted, denied with its
 * reason, unknown and not recorded). */
static void batch_read(const consortium *c, const uint8_t lab[32], const uint8_t imaging[32]) {
    uint8_t unknown[32], ids[3 * 32];
    memset(unknown, 0x42, sizeof unknown);
    memcpy(ids, imaging, 32);
    memcpy(ids + 32, lab, 32);
    memcpy(ids + 64, unknown, 32);
    char *log = access_log(c, c->patient_id);
    const size_t attempts = count(log, "\"decision\"");
    free(log);
    uint64_t before = 0, after = 0;
    OK(medledger_ledger_head_height(c->ledger, &before));

    medledger_buffer *buf = NULL;
    OK(medledger_ledger_read_records(c->ledger, c->hospital_b, ids, 3, "TREAT", &buf));
    OK(medledger_ledger_head_height(c->ledger, &after));
    CHECK(after == before + 1); /* one commit for the lot */
    const uint8_t *bytes = medledger_buffer_data(buf);
    const size_t len = medledger_buffer_len(buf);
    size_t off = 0;
    uint32_t status;
    const uint8_t *data;
    uint64_t n;
    /* B treats for imaging: permitted. */
    next_read_entry(bytes, len, &off, &status, &data, &n);
    CHECK(status == MEDLEDGER_OK);
    const char *want = "{\"resourceType\":\"ImagingStudy\"}";
    CHECK(n == strlen(want) && memcmp(data, want, n) == 0);
    /* Its lab consent was revoked: denied with that reason and the
     * message single reads give. */
    next_read_entry(bytes, len, &off, &status, &data, &n);
    CHECK(status == MEDLEDGER_ERR_CONSENT_REVOKED);
    CHECK(contains(data, n, "access denied (Revoked)", 23));
    /* No such record: not found, and not recorded. */
    next_read_entry(bytes, len, &off, &status, &data, &n);
    CHECK(status == MEDLEDGER_ERR_NOT_FOUND);
    CHECK(contains(data, n, "not found", 9));
    CHECK(off == len);
    medledger_buffer_free(buf);

    /* Both attempts are in the access log, from one transaction. */
    log = access_log(c, c->patient_id);
    CHECK(count(log, "\"decision\"") == attempts + 2);
    char leaf[32];
    const char *last = strrchr(log, '{');
    const char *at = strstr(last, "\"leaf\":");
    CHECK(at != NULL);
    /* The key and value with the character after it: "leaf":17 is not
     * "leaf":170. */
    snprintf(leaf, sizeof leaf, "%.*s", (int)strcspn(at, ",}") + 1, at);
    CHECK(count(log, leaf) == 2);
    free(log);

    /* A reader with no consent at all: every entry denied, the call OK. */
    OK(medledger_ledger_read_records(c->ledger, c->other_patient, ids, 2, "TREAT", &buf));
    bytes = medledger_buffer_data(buf);
    off = 0;
    for (int i = 0; i < 2; i++) {
        next_read_entry(bytes, medledger_buffer_len(buf), &off, &status, &data, &n);
        CHECK(status == MEDLEDGER_ERR_NO_CONSENT);
    }
    medledger_buffer_free(buf);
}

/* Consistency proofs between two committed log sizes, checked offline. */
static void consistency(const consortium *c) {
    uint64_t size1 = 0, size2 = 0;
    OK(medledger_ledger_log_size(c->ledger, &size1));
    uint8_t id[32];
    append(c, c->hospital_a, c->patient_id, "lab", LAB, id);
    append(c, c->hospital_a, c->patient_id, "lab", LAB2, id);
    commit(c);
    OK(medledger_ledger_log_size(c->ledger, &size2));
    CHECK(size2 == size1 + 2);
    uint8_t root1[32], root2[32];
    OK(medledger_ledger_log_root(c->ledger, size1, root1));
    OK(medledger_ledger_log_root(c->ledger, size2, root2));
    CHECK(memcmp(root1, root2, 32) != 0);

    medledger_buffer *proof = NULL;
    OK(medledger_ledger_consistency_proof(c->ledger, size1, size2, &proof));
    const uint8_t *p = medledger_buffer_data(proof);
    const size_t len = medledger_buffer_len(proof);
    CHECK(len > 0 && len % 32 == 0 && len <= MEDLEDGER_MAX_PROOF_LEN);
    OK(medledger_verify_consistency(size1, size2, root1, root2, p, len));
    /* Every byte, the roots and the sizes matter. */
    uint8_t *copy = malloc(len);
    CHECK(copy != NULL);
    memcpy(copy, p, len);
    for (size_t i = 0; i < len; i++) {
        copy[i] ^= 0x80;
        EXPECT(MEDLEDGER_ERR_BAD_PROOF,
               medledger_verify_consistency(size1, size2, root1, root2, copy, len));
        copy[i] ^= 0x80;
    }
    free(copy);
    EXPECT(MEDLEDGER_ERR_BAD_PROOF, medledger_verify_consistency(size1, size2, root2, root1, p, len));
    EXPECT(MEDLEDGER_ERR_BAD_PROOF,
           medledger_verify_consistency(size1 - 1, size2, root1, root2, p, len));
    EXPECT(MEDLEDGER_ERR_BAD_PROOF,
           medledger_verify_consistency(size1, size2 + 1, root1, root2, p, len));
    EXPECT(MEDLEDGER_ERR_BAD_PROOF,
           medledger_verify_consistency(size1, size2, root1, root2, p, len - 32));
    EXPECT(MEDLEDGER_ERR_MALFORMED,
           medledger_verify_consistency(size1, size2, root1, root2, p, len - 1));
    EXPECT(MEDLEDGER_ERR_BAD_PROOF, medledger_verify_consistency(0, size2, root1, root2, p, len));
    medledger_buffer_free(proof);

    /* Equal sizes: an empty proof, equal roots. */
    OK(medledger_ledger_consistency_proof(c->ledger, size2, size2, &proof));
    CHECK(medledger_buffer_len(proof) == 0);
    medledger_buffer_free(proof);
    OK(medledger_verify_consistency(size2, size2, root2, root2, root2, 0));
    EXPECT(MEDLEDGER_ERR_BAD_PROOF, medledger_verify_consistency(size2, size2, root1, root2, root2, 0));
    /* Only sizes of committed blocks: the root of each is sealed. */
    proof = NULL;
    EXPECT(MEDLEDGER_ERR_INVALID_ARGUMENT,
           medledger_ledger_consistency_proof(c->ledger, size2 - 1, size2, &proof));
    EXPECT_MESSAGE("not the log size of a committed block");
    EXPECT(MEDLEDGER_ERR_INVALID_ARGUMENT,
           medledger_ledger_consistency_proof(c->ledger, size1, size2 + 1, &proof));
    EXPECT(MEDLEDGER_ERR_INVALID_ARGUMENT,
           medledger_ledger_consistency_proof(c->ledger, 0, size2, &proof));
    EXPECT(MEDLEDGER_ERR_INVALID_ARGUMENT,
           medledger_ledger_consistency_proof(c->ledger, size2, size1, &proof));
    CHECK(proof == NULL);
    EXPECT(MEDLEDGER_ERR_INVALID_ARGUMENT, medledger_ledger_log_root(c->ledger, size2 + 1, root1));
}

/* A manual clock: a consent expires without waiting; the wall clock is
 * back on request. On a ledger of its own (time only moves forward). */
static void manual_clock(void) {
    consortium m;
    consortium_init(&m);
    uint8_t imaging[32];
    append(&m, m.hospital_a, m.patient_id, "imaging", "{}", imaging);
    commit(&m);
    expect_plaintext(&m, m.hospital_b, imaging, "{}");
    const uint64_t wall = ledger_now(m.ledger);
    const uint64_t later = wall + YEAR_MS + 24ull * 3600 * 1000; /* B's consent has ended */
    OK(medledger_ledger_set_manual_time(m.ledger, later));
    uint64_t now = 0;
    OK(medledger_ledger_now(m.ledger, &now));
    CHECK(now == later);
    expect_denied(&m, m.hospital_b, imaging, "TREAT", MEDLEDGER_ERR_CONSENT_EXPIRED);
    commit(&m);
    /* The denial is stamped with the manual time. */
    medledger_buffer *buf = NULL;
    OK(medledger_ledger_access_log_json(m.ledger, m.patient_id, m.patient_id, &buf));
    char *log = take_json(buf);
    char stamp[64];
    snprintf(stamp, sizeof stamp, "\"time\":%llu", (unsigned long long)later);
    CHECK(strstr(log, stamp) != NULL);
    free(log);
    OK(medledger_ledger_set_manual_time(m.ledger, MEDLEDGER_WALL_CLOCK));
    now = ledger_now(m.ledger);
    CHECK(now >= wall && now < later);
    /* Going back behind a committed block is refused, as documented. */
    medledger_keypair *late = new_keypair();
    uint8_t sign[32], enc[32];
    OK(medledger_keypair_public_keys(late, sign, enc));
    EXPECT(MEDLEDGER_ERR_REJECTED, medledger_ledger_register(m.ledger, m.admin, sign, enc,
                                                             MEDLEDGER_ROLE_PROVIDER, "late", 0));
    EXPECT_MESSAGE("tx.timestamp");
    medledger_keypair_free(late);
    medledger_report *report = NULL;
    OK(medledger_ledger_verify(m.ledger, &report));
    CHECK(medledger_report_ok(report));
    medledger_report_free(report);
    consortium_free(&m);
}

/* The genesis sets the break-glass maximum and founders' escrow opt-out. */
static void genesis_options(void) {
    consortium g;
    consortium_keys(&g);
    medledger_keypair *custodian = new_keypair();
    medledger_founder founders[6];
    consortium_founders(&g, founders);
    founders[4] = (medledger_founder){g.patient, MEDLEDGER_ROLE_PATIENT, "founding patient",
                                      MEDLEDGER_REGISTER_ESCROW_OPT_OUT};
    founders[5] = (medledger_founder){custodian, MEDLEDGER_ROLE_CUSTODIAN, "escrow", 0};
    const medledger_keypair *sealers[2] = {g.validators[0], g.validators[1]};
    const uint64_t max_ms = 10 * 60 * 1000;
    /* Escrow opt-out is for patients only. */
    founders[5].flags = MEDLEDGER_REGISTER_ESCROW_OPT_OUT;
    EXPECT(MEDLEDGER_ERR_INVALID_ARGUMENT,
           medledger_ledger_create_in_memory("g", 2, max_ms, founders, 6, sealers, 2, &g.ledger));
    EXPECT_MESSAGE("escrow");
    founders[5].flags = 0;
    OK(medledger_ledger_create_in_memory("g", 2, max_ms, founders, 6, sealers, 2, &g.ledger));
    register_participant(&g, g.hospital_a, MEDLEDGER_ROLE_PROVIDER, "ER");
    register_participant(&g, g.other_patient, MEDLEDGER_ROLE_PATIENT, "escrowed");
    attach_validators(g.ledger, &g);
    commit(&g);
    uint8_t bg[32];
    /* The founding patient opted out: out of reach of break-glass. */
    EXPECT(MEDLEDGER_ERR_REJECTED,
           medledger_ledger_break_glass(g.ledger, g.hospital_a, g.patient_id, "ETREAT", "er",
                                        60000, bg));
    EXPECT_MESSAGE("opted out");
    /* The maximum is this genesis's 10 minutes, not the default 24 h. */
    EXPECT(MEDLEDGER_ERR_REJECTED,
           medledger_ledger_break_glass(g.ledger, g.hospital_a, g.other_patient_id, "ETREAT",
                                        "er", max_ms + 1, bg));
    EXPECT_MESSAGE("maximum");
    OK(medledger_ledger_break_glass(g.ledger, g.hospital_a, g.other_patient_id, "ETREAT", "er",
                                    max_ms, bg));
    commit(&g);
    medledger_keypair_free(custodian);
    consortium_free(&g);
}

int main(void) {
    consortium c;
    consortium_init(&c);
    uint8_t lab[32], lab2[32], imaging[32];
    append(&c, c.hospital_a, c.patient_id, "lab", LAB, lab);
    append(&c, c.hospital_a, c.patient_id, "lab", LAB2, lab2);
    append(&c, c.hospital_b, c.patient_id, "imaging", "{\"resourceType\":\"ImagingStudy\"}",
           imaging);
    commit(&c);

    grant_read_revoke(&c, lab);
    fhir_export(&c);
    batch_read(&c, lab, imaging);
    periods_and_records(&c, lab2);
    guardians(&c, lab);
    suspension(&c, imaging);
    break_glass(&c);
    erasure(&c, lab, lab2);
    rotation(&c, imaging);
    evidence(&c, imaging);
    consistency(&c);
    batch_and_records(&c);
    witness_cosignature(&c);

    medledger_report *report = NULL;
    OK(medledger_ledger_verify(c.ledger, &report));
    if (!medledger_report_ok(report)) FAIL("verify: %s", medledger_report_summary(report));
    medledger_report_free(report);
    consortium_free(&c);
    manual_clock();
    genesis_options();
    printf("consent: %lu checks passed\n", checks_passed);
    return 0;
}
