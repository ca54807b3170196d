/*
 * hospital.c: a small EHR integration of medledger through its C API.
 *
 * Two hospitals and a patient share one ledger. The patient consents to
 * treatment at St. Mary's, which writes a lab result; the patient reads it;
 * City General is refused until the patient grants it access, reads, and is
 * refused again once the patient revokes; the patient reviews who saw the
 * record; the whole chain is verified. All data is fictitious.
 *
 * Build and run (from this directory):
 *     cargo build --release     # at the repository root
 *     make run
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "medledger.h"

/* Print the reason and stop; a real EHR would map the status group to its
 * own error handling (1xx: fix the call, 2xx: keys, 3xx: rules/access). */
static void check(medledger_status status, const char *what) {
    if (status != MEDLEDGER_OK) {
        fprintf(stderr, "%s failed: %s: %s\n", what, medledger_status_name(status),
                medledger_last_error());
        exit(1);
    }
}

static medledger_keypair *keypair(void) {
    medledger_keypair *kp = NULL;
    check(medledger_keypair_generate(&kp), "generate keypair");
    return kp;
}

static void print_id(const char *label, const uint8_t id[MEDLEDGER_ID_LEN]) {
    printf("%-18s", label);
    for (int i = 0; i < 8; i++) printf("%02x", id[i]);
    printf("...\n");
}

static void enrol(medledger_ledger *ledger, const medledger_keypair *admin,
                  const medledger_keypair *who, uint32_t roles, const char *label) {
    uint8_t sign[MEDLEDGER_PUBLIC_KEY_LEN], enc[MEDLEDGER_PUBLIC_KEY_LEN];
    check(medledger_keypair_public_keys(who, sign, enc), "public keys");
    check(medledger_ledger_register(ledger, admin, sign, enc, roles, label, 0), "register");
    printf("registered        %s\n", label);
}

int main(void) {
    printf("medledger %s C example (fictitious data)\n\n", medledger_version());

    /* 1. The consortium: a registration desk and three validators, any two
     *    of which seal a block. */
    medledger_keypair *admin = keypair();
    medledger_keypair *val_mary = keypair(), *val_city = keypair(), *val_hie = keypair();
    medledger_founder founders[] = {
        {admin, MEDLEDGER_ROLE_ADMIN, "Registration desk", 0},
        {val_mary, MEDLEDGER_ROLE_VALIDATOR, "St. Mary's validator", 0},
        {val_city, MEDLEDGER_ROLE_VALIDATOR, "City General validator", 0},
        {val_hie, MEDLEDGER_ROLE_VALIDATOR, "Regional HIE validator", 0},
    };
    const medledger_keypair *quorum[] = {val_city, val_hie};
    medledger_ledger *ledger = NULL;
    check(medledger_ledger_create_in_memory("Regional care consortium (demo)", 2,
                                            MEDLEDGER_DEFAULT_MAX_BREAK_GLASS_MS, founders,
                                            sizeof founders / sizeof founders[0], quorum, 2,
                                            &ledger),
          "create ledger");
    uint8_t ledger_id[MEDLEDGER_ID_LEN];
    check(medledger_ledger_id(ledger, ledger_id), "ledger id");
    print_id("ledger", ledger_id);

    /* This node holds two validator keys: a read must be recorded (and
     * committed) before its plaintext is released, and the ledger commits
     * that record itself with them. It keeps its own reference to the keys. */
    check(medledger_ledger_attach_validators(ledger, quorum, 2), "attach validators");

    /* 2. Two hospital EHR systems and a patient's app join; the patient
     *    consents to treatment at St. Mary's (read, append, amend; every
     *    category; for a year). */
    medledger_keypair *st_marys = keypair(), *city = keypair(), *patient = keypair();
    enrol(ledger, admin, st_marys, MEDLEDGER_ROLE_PROVIDER, "St. Mary's EHR");
    enrol(ledger, admin, city, MEDLEDGER_ROLE_PROVIDER, "City General EHR");
    enrol(ledger, admin, patient, MEDLEDGER_ROLE_PATIENT, "patient app");
    uint8_t patient_id[MEDLEDGER_ID_LEN], st_marys_id[MEDLEDGER_ID_LEN], city_id[MEDLEDGER_ID_LEN];
    check(medledger_keypair_id(patient, patient_id), "patient id");
    check(medledger_keypair_id(st_marys, st_marys_id), "St. Mary's id");
    check(medledger_keypair_id(city, city_id), "City General id");
    uint64_t now = 0;
    check(medledger_ledger_now(ledger, &now), "now");
    const uint64_t year = 365ull * 24 * 3600 * 1000;
    uint8_t consent[MEDLEDGER_ID_LEN];
    check(medledger_ledger_grant(ledger, patient, patient_id, st_marys_id,
                                 MEDLEDGER_ACTION_READ | MEDLEDGER_ACTION_APPEND |
                                     MEDLEDGER_ACTION_AMEND,
                                 "TREAT", "*", NULL, 0, now, now + year, consent),
          "grant");
    uint64_t height = 0;
    check(medledger_ledger_commit_block(ledger, quorum, 2, &height), "commit");
    printf("block %llu committed (registrations, consent)\n\n", (unsigned long long)height);

    /* 3. St. Mary's records a lab result for the patient. */
    uint8_t record_id[MEDLEDGER_ID_LEN];
    const char *lab = "{\"resourceType\":\"Observation\",\"code\":{\"text\":\"Serum potassium\"},"
                      "\"valueQuantity\":{\"value\":4.2,\"unit\":\"mmol/L\"}}";
    check(medledger_ledger_append_record(ledger, st_marys, patient_id, "lab",
                                         "application/fhir+json", (const uint8_t *)lab,
                                         strlen(lab), record_id),
          "append record");
    print_id("lab result", record_id);
    check(medledger_ledger_commit_block(ledger, quorum, 2, &height), "commit");
    printf("block %llu committed\n\n", (unsigned long long)height);

    /* 4. The patient reads it ("PATRQT": patient request); the plaintext
     *    buffer is the caller's. */
    medledger_buffer *plaintext = NULL;
    check(medledger_ledger_read_record(ledger, patient, record_id, "PATRQT", &plaintext), "read");
    printf("patient reads     %.*s\n", (int)medledger_buffer_len(plaintext),
           (const char *)medledger_buffer_data(plaintext));
    medledger_buffer_free(plaintext);

    /* 5. City General has no consent: a 3xx status saying why. */
    plaintext = NULL;
    medledger_status s =
        medledger_ledger_read_record(ledger, city, record_id, "TREAT", &plaintext);
    printf("City General      refused: %s\n", medledger_status_name(s));
    if (s != MEDLEDGER_ERR_NO_CONSENT || plaintext != NULL) return 1;

    /* The patient is referred there: a read-only consent to lab results. */
    uint8_t referral[MEDLEDGER_ID_LEN];
    check(medledger_ledger_grant(ledger, patient, patient_id, city_id, MEDLEDGER_ACTION_READ,
                                 "TREAT", "lab", NULL, 0, now, now + year, referral),
          "grant");
    check(medledger_ledger_commit_block(ledger, quorum, 2, &height), "commit");
    check(medledger_ledger_read_record(ledger, city, record_id, "TREAT", &plaintext), "read");
    printf("City General      reads %zu bytes under the referral consent\n",
           medledger_buffer_len(plaintext));
    medledger_buffer_free(plaintext);
    plaintext = NULL;

    /* ... and revokes it when the referral ends. */
    check(medledger_ledger_revoke(ledger, patient, referral), "revoke");
    check(medledger_ledger_commit_block(ledger, quorum, 2, &height), "commit");
    s = medledger_ledger_read_record(ledger, city, record_id, "TREAT", &plaintext);
    printf("City General      refused: %s\n\n", medledger_status_name(s));
    if (s != MEDLEDGER_ERR_CONSENT_REVOKED || plaintext != NULL) return 1;
    check(medledger_ledger_commit_block(ledger, quorum, 2, &height), "commit");

    /* The patient asks who saw the record: a JSON array of every attempt. */
    medledger_buffer *log = NULL;
    check(medledger_ledger_access_log_json(ledger, patient_id, patient_id, &log), "access log");
    printf("access log        %.*s\n\n", (int)medledger_buffer_len(log),
           (const char *)medledger_buffer_data(log));
    medledger_buffer_free(log);

    /* 6. Anyone can verify the whole chain from genesis. */
    medledger_report *report = NULL;
    check(medledger_ledger_verify(ledger, &report), "verify");
    printf("verify            %s\n", medledger_report_summary(report));
    if (!medledger_report_ok(report)) {
        printf("fault             %s at block %llu, field %s\n",
               medledger_fault_kind_name(medledger_report_fault_kind(report)),
               (unsigned long long)medledger_report_fault_height(report),
               medledger_report_fault_field(report));
    }
    int ok = medledger_report_ok(report);
    medledger_report_free(report);

    medledger_ledger_free(ledger);
    medledger_keypair *all[] = {admin, val_mary, val_city, val_hie, st_marys, city, patient};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) medledger_keypair_free(all[i]);
    return ok ? 0 : 1;
}
