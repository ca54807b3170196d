/*
 * The demo scenario through the C API: a consortium, a patient, records
 * from two hospitals, an amendment, reads by the patient and the author, a
 * read refused for want of consent by the other hospital, a key backup
 * round trip, and a clean verification report. tests/capi/consent.c covers
 * consents, break-glass, guardians, suspension and erasure.
 */
#include "common.h"

static const char *LAB_V1 =
    "{\"resourceType\":\"Observation\",\"valueQuantity\":{\"value\":6.8}}";
static const char *LAB_V2 =
    "{\"resourceType\":\"Observation\",\"status\":\"corrected\","
    "\"valueQuantity\":{\"value\":4.2}}";
static const char *IMAGING =
    "{\"resourceType\":\"DiagnosticReport\",\"conclusion\":\"normal\"}";

static int all_zero(const uint8_t *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (b[i]) return 0;
    return 1;
}

int main(void) {
    CHECK(strcmp(medledger_version(), "0.1.0") == 0);
    CHECK(strcmp(medledger_last_error(), "") == 0);
    CHECK(strcmp(medledger_status_name(MEDLEDGER_ERR_ACCESS_DENIED),
                 "MEDLEDGER_ERR_ACCESS_DENIED") == 0);
    CHECK(strcmp(medledger_fault_kind_name(MEDLEDGER_FAULT_PAYLOAD_TAMPERED),
                 "payload_tampered") == 0);

    consortium c;
    consortium_init(&c);

    uint8_t ledger_id[MEDLEDGER_ID_LEN] = {0};
    OK(medledger_ledger_id(c.ledger, ledger_id));
    CHECK(!all_zero(ledger_id, sizeof ledger_id));
    uint64_t height = 99;
    OK(medledger_ledger_head_height(c.ledger, &height));
    CHECK(height == 1);

    /* Two hospitals write; the record is readable once committed. */
    uint8_t lab[MEDLEDGER_ID_LEN], imaging[MEDLEDGER_ID_LEN];
    append(&c, c.hospital_a, c.patient_id, "lab", LAB_V1, lab);
    append(&c, c.hospital_b, c.patient_id, "imaging", IMAGING, imaging);
    CHECK(memcmp(lab, imaging, MEDLEDGER_ID_LEN) != 0);
    medledger_buffer *buf = NULL;
    EXPECT(MEDLEDGER_ERR_NOT_FOUND,
           medledger_ledger_read_record(c.ledger, c.patient, lab, "PATRQT", &buf));
    CHECK(buf == NULL);
    CHECK(commit(&c) == 2);

    /* Each read records an access event and, with validator keys attached,
     * commits it before the plaintext is released. */
    expect_plaintext(&c, c.patient, lab, LAB_V1);     /* the patient */
    OK(medledger_ledger_head_height(c.ledger, &height));
    CHECK(height == 3);
    expect_plaintext(&c, c.hospital_a, lab, LAB_V1);  /* the author */
    expect_plaintext(&c, c.patient, imaging, IMAGING);
    expect_plaintext(&c, c.hospital_b, imaging, IMAGING); /* B's own */
    /* The other hospital has no consent for lab: a 3xx status naming why. */
    EXPECT(MEDLEDGER_ERR_NO_CONSENT,
           medledger_ledger_read_record(c.ledger, c.hospital_b, lab, "TREAT", &buf));
    CHECK(buf == NULL);
    CHECK(MEDLEDGER_ERR_NO_CONSENT / 100 == 3);
    EXPECT_MESSAGE("access denied");
    CHECK(strcmp(medledger_status_name(MEDLEDGER_ERR_NO_CONSENT),
                 "MEDLEDGER_ERR_NO_CONSENT") == 0);
    /* An unknown purpose of use is refused before anything is recorded. */
    EXPECT(MEDLEDGER_ERR_INVALID_ARGUMENT,
           medledger_ledger_read_record(c.ledger, c.patient, lab, "treat", &buf));
    EXPECT_MESSAGE("PurposeOfUse");

    /* Amendment: a new id; both versions stay readable. */
    uint8_t lab_v2[MEDLEDGER_ID_LEN];
    OK(medledger_ledger_amend_record(c.ledger, c.hospital_a, lab,
                                     "application/fhir+json",
                                     (const uint8_t *)LAB_V2, strlen(LAB_V2),
                                     lab_v2));
    uint64_t before = 0;
    OK(medledger_ledger_head_height(c.ledger, &before));
    CHECK(commit(&c) == before + 1);
    expect_plaintext(&c, c.patient, lab_v2, LAB_V2);
    expect_plaintext(&c, c.patient, lab, LAB_V1);
    /* Only the latest version may be amended. */
    uint8_t unused[MEDLEDGER_ID_LEN];
    EXPECT(MEDLEDGER_ERR_REJECTED,
           medledger_ledger_amend_record(c.ledger, c.hospital_a, lab,
                                         "application/fhir+json",
                                         (const uint8_t *)LAB_V2,
                                         strlen(LAB_V2), unused));

    /* An empty payload is a valid record. */
    uint8_t empty[MEDLEDGER_ID_LEN];
    OK(medledger_ledger_append_record(c.ledger, c.hospital_a, c.patient_id,
                                      "lab", "text/plain",
                                      (const uint8_t *)"", 0, empty));
    commit(&c);
    OK(medledger_ledger_read_record(c.ledger, c.patient, empty, "PATRQT", &buf));
    CHECK(medledger_buffer_len(buf) == 0);
    CHECK(medledger_buffer_data(buf) != NULL);
    medledger_buffer_free(buf);
    buf = NULL;

    /* Key backup round trip; a wrong passphrase is a 2xx status. */
    const char *pass = "correct horse battery staple";
    OK(medledger_keypair_export_encrypted(c.patient, (const uint8_t *)pass,
                                          strlen(pass), &buf));
    CHECK(medledger_buffer_len(buf) == 162);
    medledger_keypair *restored = NULL;
    EXPECT(MEDLEDGER_ERR_WRONG_PASSPHRASE,
           medledger_keypair_import_encrypted(medledger_buffer_data(buf),
                                              medledger_buffer_len(buf),
                                              (const uint8_t *)"guess", 5,
                                              &restored));
    CHECK(restored == NULL);
    OK(medledger_keypair_import_encrypted(medledger_buffer_data(buf),
                                          medledger_buffer_len(buf),
                                          (const uint8_t *)pass, strlen(pass),
                                          &restored));
    medledger_buffer_free(buf);
    uint8_t restored_id[MEDLEDGER_ID_LEN];
    OK(medledger_keypair_id(restored, restored_id));
    CHECK(memcmp(restored_id, c.patient_id, MEDLEDGER_ID_LEN) == 0);
    uint8_t s1[32], e1[32], s2[32], e2[32];
    OK(medledger_keypair_public_keys(restored, s1, e1));
    OK(medledger_keypair_public_keys(c.patient, s2, e2));
    CHECK(memcmp(s1, s2, 32) == 0 && memcmp(e1, e2, 32) == 0);
    CHECK(memcmp(s1, e1, 32) != 0);
    expect_plaintext(&c, restored, lab_v2, LAB_V2); /* restored key reads */
    medledger_keypair_free(restored);

    /* Verification replays everything. */
    OK(medledger_ledger_head_height(c.ledger, &height));
    medledger_report *report = NULL;
    OK(medledger_ledger_verify(c.ledger, &report));
    CHECK(medledger_report_ok(report));
    CHECK(medledger_report_blocks(report) == height + 1);
    /* genesis + 4 registrations + 2 grants, 2 appends + 1 amend + 1 append,
     * 9 reads each recorded by one access-event transaction (the denied
     * one committed with the next block; the refused purpose not at all) */
    CHECK(medledger_report_transactions(report) == 7 + 4 + 9);
    CHECK(medledger_report_records(report) == 4);
    CHECK(medledger_report_payloads(report) == 4);
    CHECK(medledger_report_signatures(report) > 8);
    CHECK(medledger_report_fault_kind(report) == MEDLEDGER_FAULT_NONE);
    CHECK(medledger_report_fault_height(report) == 0);
    CHECK(medledger_report_fault_tx_index(report) == -1);
    CHECK(medledger_report_fault_record_index(report) == -1);
    CHECK(medledger_report_fault_offset(report) == -1);
    CHECK(strcmp(medledger_report_fault_field(report), "") == 0);
    CHECK(strcmp(medledger_report_fault_message(report), "") == 0);
    char summary[64];
    snprintf(summary, sizeof summary, "OK: %llu blocks", (unsigned long long)height + 1);
    CHECK(strncmp(medledger_report_summary(report), summary, strlen(summary)) == 0);
    medledger_report_free(report);

    consortium_free(&c);
    printf("happy_path: %lu checks passed\n", checks_passed);
    return 0;
}
