/*
 * Hostile calls: NULL for every pointer argument of every function, lengths
 * far beyond the buffer (never read: AddressSanitizer would report it),
 * unterminated and invalid UTF-8 strings, bad role bits, flags, action bits,
 * purpose codes and thresholds, wrong passphrases, damaged key files and
 * receipts, unknown record, consent and participant ids, and free(NULL).
 * Every failing call must leave its out-parameters untouched and set a
 * last-error message.
 *
 * Freeing a non-NULL handle twice is undefined behaviour (documented, as
 * with free()) and deliberately not exercised.
 */
#include <stdint.h>

#include "common.h"

#define NULLP MEDLEDGER_ERR_NULL_POINTER
#define INVALID MEDLEDGER_ERR_INVALID_ARGUMENT

/* A sentinel for out-parameters that must stay untouched. */
#define SENTINEL_PTR ((void *)(uintptr_t)0x5a5a5a5a)
static const uint8_t MARK = 0xa5;

static int all_marked(const uint8_t *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (b[i] != MARK) return 0;
    return 1;
}

static void keypair_calls(const consortium *c) {
    medledger_keypair *kp = SENTINEL_PTR;
    EXPECT(NULLP, medledger_keypair_generate(NULL));
    EXPECT_MESSAGE("out is NULL");

    uint8_t out32[32], out32b[32];
    memset(out32, MARK, 32);
    EXPECT(NULLP, medledger_keypair_id(NULL, out32));
    EXPECT_MESSAGE("keypair is NULL");
    EXPECT(NULLP, medledger_keypair_id(c->patient, NULL));
    EXPECT_MESSAGE("out_id");
    CHECK(all_marked(out32, 32));

    memset(out32b, MARK, 32);
    EXPECT(NULLP, medledger_keypair_public_keys(NULL, out32, out32b));
    EXPECT(NULLP, medledger_keypair_public_keys(c->patient, NULL, out32b));
    EXPECT_MESSAGE("out_sign_key");
    EXPECT(NULLP, medledger_keypair_public_keys(c->patient, out32, NULL));
    EXPECT_MESSAGE("out_enc_key");
    CHECK(all_marked(out32, 32) && all_marked(out32b, 32));

    const uint8_t pass[] = "pass";
    medledger_buffer *buf = SENTINEL_PTR;
    EXPECT(NULLP, medledger_keypair_export_encrypted(NULL, pass, 4, &buf));
    EXPECT(NULLP, medledger_keypair_export_encrypted(c->patient, NULL, 4, &buf));
    EXPECT_MESSAGE("passphrase is NULL");
    EXPECT(NULLP, medledger_keypair_export_encrypted(c->patient, pass, 4, NULL));
    /* A passphrase "of SIZE_MAX bytes" in a 5-byte array is refused
     * before it is read. */
    EXPECT(INVALID, medledger_keypair_export_encrypted(c->patient, pass, SIZE_MAX, &buf));
    EXPECT_MESSAGE("passphrase");
    EXPECT(INVALID, medledger_keypair_export_encrypted(
                        c->patient, pass, MEDLEDGER_MAX_PASSPHRASE_LEN + 1, &buf));
    CHECK(buf == SENTINEL_PTR);

    OK(medledger_keypair_export_encrypted(c->patient, pass, 4, &buf));
    const uint8_t *file = medledger_buffer_data(buf);
    size_t len = medledger_buffer_len(buf);
    EXPECT(NULLP, medledger_keypair_import_encrypted(NULL, len, pass, 4, &kp));
    EXPECT_MESSAGE("key_file is NULL");
    EXPECT(NULLP, medledger_keypair_import_encrypted(file, len, NULL, 4, &kp));
    EXPECT(NULLP, medledger_keypair_import_encrypted(file, len, pass, 4, NULL));
    EXPECT(INVALID, medledger_keypair_import_encrypted(file, SIZE_MAX, pass, 4, &kp));
    EXPECT(INVALID, medledger_keypair_import_encrypted(file, len, pass, SIZE_MAX, &kp));
    EXPECT(MEDLEDGER_ERR_WRONG_PASSPHRASE,
           medledger_keypair_import_encrypted(file, len, (const uint8_t *)"Pass", 4, &kp));
    EXPECT(MEDLEDGER_ERR_WRONG_PASSPHRASE,
           medledger_keypair_import_encrypted(file, len, pass, 0, &kp));
    CHECK(MEDLEDGER_ERR_WRONG_PASSPHRASE / 100 == 2);
    EXPECT(MEDLEDGER_ERR_MALFORMED,
           medledger_keypair_import_encrypted(file, len - 1, pass, 4, &kp));
    EXPECT(MEDLEDGER_ERR_MALFORMED,
           medledger_keypair_import_encrypted(pass, 4, pass, 4, &kp));
    uint8_t damaged[MEDLEDGER_MAX_KEY_FILE_LEN];
    CHECK(len <= sizeof damaged);
    memcpy(damaged, file, len);
    damaged[8] = 99; /* a format version from the future */
    EXPECT(MEDLEDGER_ERR_UNSUPPORTED_VERSION,
           medledger_keypair_import_encrypted(damaged, len, pass, 4, &kp));
    memcpy(damaged, file, len);
    damaged[len - 1] ^= 1; /* GCM tag */
    EXPECT(MEDLEDGER_ERR_WRONG_PASSPHRASE,
           medledger_keypair_import_encrypted(damaged, len, pass, 4, &kp));
    memcpy(damaged, file, len);
    damaged[len] = 0; /* a trailing byte */
    EXPECT(MEDLEDGER_ERR_MALFORMED,
           medledger_keypair_import_encrypted(damaged, len + 1, pass, 4, &kp));
    CHECK(kp == SENTINEL_PTR);
    medledger_buffer_free(buf);

    /* Accessors and frees of NULL handles are harmless. */
    CHECK(medledger_buffer_data(NULL) == NULL);
    CHECK(medledger_buffer_len(NULL) == 0);
    medledger_buffer_free(NULL);
    medledger_keypair_free(NULL);
    medledger_ledger_free(NULL);
    medledger_report_free(NULL);
}

static void create_calls(const consortium *c) {
    medledger_founder f[2] = {
        {c->admin, MEDLEDGER_ROLE_ADMIN, "admin", 0},
        {c->validators[0], MEDLEDGER_ROLE_VALIDATOR, "validator", 0},
    };
    const medledger_keypair *sealers[1] = {c->validators[0]};
    medledger_ledger *l = SENTINEL_PTR;

    OK(medledger_ledger_create_in_memory("x", 1, BG_MAX, f, 2, sealers, 1, &l));
    medledger_ledger_free(l);
    l = SENTINEL_PTR;

    EXPECT(NULLP, medledger_ledger_create_in_memory(NULL, 1, BG_MAX, f, 2, sealers, 1, &l));
    EXPECT_MESSAGE("consortium_name is NULL");
    EXPECT(NULLP, medledger_ledger_create_in_memory("x", 1, BG_MAX, NULL, 2, sealers, 1, &l));
    EXPECT(NULLP, medledger_ledger_create_in_memory("x", 1, BG_MAX, f, 2, NULL, 1, &l));
    EXPECT_MESSAGE("sealers is NULL");
    EXPECT(NULLP, medledger_ledger_create_in_memory("x", 1, BG_MAX, f, 2, sealers, 1, NULL));
    const medledger_keypair *null_sealer[1] = {NULL};
    EXPECT(NULLP, medledger_ledger_create_in_memory("x", 1, BG_MAX, f, 2, null_sealer, 1, &l));
    EXPECT_MESSAGE("sealers[0] is NULL");
    f[1].keypair = NULL;
    EXPECT(NULLP, medledger_ledger_create_in_memory("x", 1, BG_MAX, f, 2, sealers, 1, &l));
    EXPECT_MESSAGE("founders[1].keypair is NULL");
    f[1].keypair = c->validators[0];
    f[0].label = NULL;
    EXPECT(NULLP, medledger_ledger_create_in_memory("x", 1, BG_MAX, f, 2, sealers, 1, &l));
    EXPECT_MESSAGE("founders[0].label is NULL");
    f[0].label = "admin";

    /* Huge counts with small arrays: refused before reading. */
    EXPECT(INVALID, medledger_ledger_create_in_memory("x", 1, BG_MAX, f, SIZE_MAX, sealers, 1, &l));
    EXPECT(INVALID, medledger_ledger_create_in_memory("x", 1, BG_MAX, f, 2, sealers, SIZE_MAX, &l));

    /* Strings: invalid UTF-8, too long for the field. */
    EXPECT(MEDLEDGER_ERR_INVALID_UTF8,
           medledger_ledger_create_in_memory("caf\xc3", 1, BG_MAX, f, 2, sealers, 1, &l));
    EXPECT_MESSAGE("consortium_name is not valid UTF-8");
    f[0].label = "\xff\xfe";
    EXPECT(MEDLEDGER_ERR_INVALID_UTF8,
           medledger_ledger_create_in_memory("x", 1, BG_MAX, f, 2, sealers, 1, &l));
    f[0].label = "admin";
    char long_name[200];
    memset(long_name, 'n', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    EXPECT(INVALID, medledger_ledger_create_in_memory(long_name, 1, BG_MAX, f, 2, sealers, 1, &l));

    /* Roles, threshold, rules. */
    f[0].roles = 0;
    EXPECT(INVALID, medledger_ledger_create_in_memory("x", 1, BG_MAX, f, 2, sealers, 1, &l));
    f[0].roles = 0x80;
    EXPECT(INVALID, medledger_ledger_create_in_memory("x", 1, BG_MAX, f, 2, sealers, 1, &l));
    f[0].roles = 0x10020;
    EXPECT(INVALID, medledger_ledger_create_in_memory("x", 1, BG_MAX, f, 2, sealers, 1, &l));
    EXPECT_MESSAGE("founders[0].roles");
    f[0].roles = MEDLEDGER_ROLE_PATIENT; /* no admin */
    EXPECT(MEDLEDGER_ERR_REJECTED, medledger_ledger_create_in_memory("x", 1, BG_MAX, f, 2, sealers, 1, &l));
    f[0].roles = MEDLEDGER_ROLE_ADMIN;
    /* Founder flags: unknown bits; escrow opt-out for a non-patient. */
    f[0].flags = 2;
    EXPECT(INVALID, medledger_ledger_create_in_memory("x", 1, BG_MAX, f, 2, sealers, 1, &l));
    EXPECT_MESSAGE("founders[0].flags");
    f[0].flags = 0x80000001u;
    EXPECT(INVALID, medledger_ledger_create_in_memory("x", 1, BG_MAX, f, 2, sealers, 1, &l));
    f[0].flags = MEDLEDGER_REGISTER_ESCROW_OPT_OUT;
    EXPECT(INVALID, medledger_ledger_create_in_memory("x", 1, BG_MAX, f, 2, sealers, 1, &l));
    EXPECT_MESSAGE("only a patient");
    f[0].flags = 0;
    EXPECT(INVALID, medledger_ledger_create_in_memory("x", 0, BG_MAX, f, 2, sealers, 1, &l));
    EXPECT(INVALID, medledger_ledger_create_in_memory("x", 2, BG_MAX, f, 2, sealers, 1, &l));
    EXPECT(INVALID, medledger_ledger_create_in_memory("x", 65537, BG_MAX, f, 2, sealers, 1, &l));
    const medledger_keypair *wrong_sealer[1] = {c->admin};
    EXPECT(MEDLEDGER_ERR_ACCESS_DENIED,
           medledger_ledger_create_in_memory("x", 1, BG_MAX, f, 2, wrong_sealer, 1, &l));
    EXPECT(MEDLEDGER_ERR_MISSING_QUORUM,
           medledger_ledger_create_in_memory("x", 1, BG_MAX, f, 2, sealers, 0, &l));
    f[1].roles = MEDLEDGER_ROLE_PROVIDER; /* no validator at all */
    EXPECT(INVALID, medledger_ledger_create_in_memory("x", 1, BG_MAX, f, 2, sealers, 1, &l));
    f[1].roles = MEDLEDGER_ROLE_VALIDATOR;
    f[1].keypair = c->admin; /* the same participant listed twice */
    EXPECT(MEDLEDGER_ERR_REJECTED,
           medledger_ledger_create_in_memory("x", 1, BG_MAX, f, 2, wrong_sealer, 1, &l));
    EXPECT_MESSAGE("listed twice");
    CHECK(l == SENTINEL_PTR);

    /* The directory functions (tests/capi/dir.c has the rest): NULL and
     * unterminated paths, and the same genesis checks as in memory, all
     * refused before the file system is touched. */
    f[1].keypair = c->validators[0];
    medledger_open_report report;
    memset(&report, MARK, sizeof report);
    EXPECT(NULLP, medledger_ledger_create_dir(NULL, "x", 1, BG_MAX, f, 2, sealers, 1, &l));
    EXPECT_MESSAGE("path is NULL");
    EXPECT(NULLP, medledger_ledger_create_dir("/nonexistent/x", NULL, 1, BG_MAX, f, 2, sealers, 1, &l));
    EXPECT(INVALID, medledger_ledger_create_dir("/nonexistent/x", "x", 1, BG_MAX, f, SIZE_MAX, sealers,
                                                1, &l));
    EXPECT(NULLP, medledger_ledger_create_dir("/nonexistent/x", "x", 1, BG_MAX, f, 2, sealers, 1, NULL));
    EXPECT(NULLP, medledger_ledger_open_dir(NULL, &report, &l));
    EXPECT(NULLP, medledger_ledger_open_dir("/nonexistent/x", &report, NULL));
    EXPECT(NULLP, medledger_ledger_open_dir_read_only(NULL, &report, &l));
    EXPECT(NULLP, medledger_ledger_open_dir_read_only("/nonexistent/x", NULL, NULL));
    char *unterminated = malloc(MEDLEDGER_MAX_TEXT_LEN + 1);
    CHECK(unterminated != NULL);
    memset(unterminated, 'a', MEDLEDGER_MAX_TEXT_LEN + 1);
    EXPECT(INVALID, medledger_ledger_open_dir(unterminated, &report, &l));
    EXPECT(INVALID, medledger_ledger_open_dir_read_only(unterminated, &report, &l));
    free(unterminated);
    CHECK(all_marked((const uint8_t *)&report, sizeof report));
    CHECK(l == SENTINEL_PTR);
}

static void register_calls(const consortium *c) {
    medledger_keypair *kp = new_keypair();
    uint8_t sign[32], enc[32];
    OK(medledger_keypair_public_keys(kp, sign, enc));
    const uint32_t role = MEDLEDGER_ROLE_PROVIDER;

    EXPECT(NULLP, medledger_ledger_register(NULL, c->admin, sign, enc, role, "l", 0));
    EXPECT_MESSAGE("ledger is NULL");
    EXPECT(NULLP, medledger_ledger_register(c->ledger, NULL, sign, enc, role, "l", 0));
    EXPECT_MESSAGE("admin is NULL");
    EXPECT(NULLP, medledger_ledger_register(c->ledger, c->admin, NULL, enc, role, "l", 0));
    EXPECT_MESSAGE("sign_key is NULL");
    EXPECT(NULLP, medledger_ledger_register(c->ledger, c->admin, sign, NULL, role, "l", 0));
    EXPECT_MESSAGE("enc_key is NULL");
    EXPECT(NULLP, medledger_ledger_register(c->ledger, c->admin, sign, enc, role, NULL, 0));
    EXPECT_MESSAGE("label is NULL");
    EXPECT(MEDLEDGER_ERR_INVALID_UTF8,
           medledger_ledger_register(c->ledger, c->admin, sign, enc, role, "\xc0\xaf", 0));
    EXPECT(INVALID, medledger_ledger_register(c->ledger, c->admin, sign, enc, 0, "l", 0));
    EXPECT(INVALID, medledger_ledger_register(c->ledger, c->admin, sign, enc, 0x100, "l", 0));
    /* Unknown flag bits; escrow opt-out is for patients only. */
    EXPECT(INVALID, medledger_ledger_register(c->ledger, c->admin, sign, enc, role, "l", 2));
    EXPECT_MESSAGE("flags");
    EXPECT(INVALID, medledger_ledger_register(c->ledger, c->admin, sign, enc, role, "l",
                                              0x80000001u));
    EXPECT(INVALID, medledger_ledger_register(c->ledger, c->admin, sign, enc, role, "l",
                                              MEDLEDGER_REGISTER_ESCROW_OPT_OUT));
    EXPECT_MESSAGE("escrow");
    /* Only an admin registers. */
    EXPECT(MEDLEDGER_ERR_REJECTED,
           medledger_ledger_register(c->ledger, c->hospital_a, sign, enc, role, "l", 0));
    /* A small-order encryption key or an all-zero signing key is refused. */
    uint8_t zero[32] = {0};
    EXPECT(MEDLEDGER_ERR_WEAK_KEY,
           medledger_ledger_register(c->ledger, c->admin, sign, zero, role, "l", 0));
    EXPECT(MEDLEDGER_ERR_WEAK_KEY,
           medledger_ledger_register(c->ledger, c->admin, zero, enc, role, "l", 0));
    /* An unterminated label in a buffer just past the text limit: the scan
     * stops at the limit instead of reading past the allocation. */
    char *unterminated = malloc(MEDLEDGER_MAX_TEXT_LEN + 1);
    CHECK(unterminated != NULL);
    memset(unterminated, 'a', MEDLEDGER_MAX_TEXT_LEN + 1);
    EXPECT(INVALID,
           medledger_ledger_register(c->ledger, c->admin, sign, enc, role, unterminated, 0));
    free(unterminated);
    medledger_keypair_free(kp);
}

static void record_calls(const consortium *c, const uint8_t lab[32], const uint8_t imaging[32]) {
    const uint8_t payload[] = "{}";
    const char *ct = "application/fhir+json";
    uint8_t id[32];
    memset(id, MARK, 32);
    const medledger_ledger *L = c->ledger;
    const medledger_keypair *A = c->hospital_a;
    const uint8_t *P = c->patient_id;

    EXPECT(NULLP, medledger_ledger_append_record(NULL, A, P, "lab", ct, payload, 2, id));
    EXPECT(NULLP, medledger_ledger_append_record(L, NULL, P, "lab", ct, payload, 2, id));
    EXPECT_MESSAGE("author is NULL");
    EXPECT(NULLP, medledger_ledger_append_record(L, A, NULL, "lab", ct, payload, 2, id));
    EXPECT_MESSAGE("patient_id is NULL");
    EXPECT(NULLP, medledger_ledger_append_record(L, A, P, NULL, ct, payload, 2, id));
    EXPECT_MESSAGE("category is NULL");
    EXPECT(NULLP, medledger_ledger_append_record(L, A, P, "lab", NULL, payload, 2, id));
    EXPECT_MESSAGE("content_type is NULL");
    EXPECT(NULLP, medledger_ledger_append_record(L, A, P, "lab", ct, NULL, 2, id));
    EXPECT_MESSAGE("payload is NULL");
    EXPECT(NULLP, medledger_ledger_append_record(L, A, P, "lab", ct, NULL, 0, id));
    EXPECT(NULLP, medledger_ledger_append_record(L, A, P, "lab", ct, payload, 2, NULL));
    EXPECT_MESSAGE("out_record_id is NULL");
    /* A payload "of SIZE_MAX bytes" in a 3-byte array must not be read. */
    EXPECT(INVALID, medledger_ledger_append_record(L, A, P, "lab", ct, payload, SIZE_MAX, id));
    EXPECT_MESSAGE("payload");
    EXPECT(INVALID, medledger_ledger_append_record(L, A, P, "lab", ct, payload,
                                                   (size_t)MEDLEDGER_MAX_PAYLOAD_LEN + 1, id));
    EXPECT(MEDLEDGER_ERR_INVALID_UTF8,
           medledger_ledger_append_record(L, A, P, "l\xe2\x82", ct, payload, 2, id));
    EXPECT(MEDLEDGER_ERR_INVALID_UTF8,
           medledger_ledger_append_record(L, A, P, "lab", "text/\x80", payload, 2, id));
    EXPECT(INVALID, medledger_ledger_append_record(L, A, P, "Lab!", ct, payload, 2, id));
    /* Unknown patient; unregistered author. */
    uint8_t nobody[32];
    memset(nobody, 0x42, 32);
    EXPECT(MEDLEDGER_ERR_NOT_FOUND,
           medledger_ledger_append_record(L, A, nobody, "lab", ct, payload, 2, id));
    medledger_keypair *stranger = new_keypair();
    EXPECT(MEDLEDGER_ERR_REJECTED,
           medledger_ledger_append_record(L, stranger, P, "lab", ct, payload, 2, id));
    /* Hospital B has no consent to append to the patient's lab records,
     * nor to the other patient's anything. */
    EXPECT(MEDLEDGER_ERR_REJECTED,
           medledger_ledger_append_record(L, c->hospital_b, P, "lab", ct, payload, 2, id));
    EXPECT_MESSAGE("allowed to write");
    EXPECT(MEDLEDGER_ERR_REJECTED,
           medledger_ledger_append_record(L, c->hospital_a, c->other_patient_id, "lab", ct,
                                          payload, 2, id));
    CHECK(all_marked(id, 32));

    EXPECT(NULLP, medledger_ledger_amend_record(NULL, A, lab, ct, payload, 2, id));
    EXPECT(NULLP, medledger_ledger_amend_record(L, NULL, lab, ct, payload, 2, id));
    EXPECT(NULLP, medledger_ledger_amend_record(L, A, NULL, ct, payload, 2, id));
    EXPECT_MESSAGE("previous_id is NULL");
    EXPECT(NULLP, medledger_ledger_amend_record(L, A, lab, NULL, payload, 2, id));
    EXPECT(NULLP, medledger_ledger_amend_record(L, A, lab, ct, NULL, 2, id));
    EXPECT(NULLP, medledger_ledger_amend_record(L, A, lab, ct, payload, 2, NULL));
    EXPECT(INVALID, medledger_ledger_amend_record(L, A, lab, ct, payload, SIZE_MAX, id));
    EXPECT(MEDLEDGER_ERR_INVALID_UTF8,
           medledger_ledger_amend_record(L, A, lab, "\xed\xa0\x80", payload, 2, id));
    EXPECT(MEDLEDGER_ERR_NOT_FOUND,
           medledger_ledger_amend_record(L, A, nobody, ct, payload, 2, id));
    /* Another provider may not amend: not the author, no consent. */
    EXPECT(MEDLEDGER_ERR_REJECTED,
           medledger_ledger_amend_record(L, c->hospital_b, lab, ct, payload, 2, id));
    CHECK(all_marked(id, 32));

    medledger_buffer *buf = SENTINEL_PTR;
    const medledger_keypair *R = c->patient;
    EXPECT(NULLP, medledger_ledger_read_record(NULL, R, lab, "PATRQT", &buf));
    EXPECT(NULLP, medledger_ledger_read_record(L, NULL, lab, "PATRQT", &buf));
    EXPECT_MESSAGE("reader is NULL");
    EXPECT(NULLP, medledger_ledger_read_record(L, R, NULL, "PATRQT", &buf));
    EXPECT_MESSAGE("record_id is NULL");
    EXPECT(NULLP, medledger_ledger_read_record(L, R, lab, NULL, &buf));
    EXPECT_MESSAGE("purpose is NULL");
    EXPECT(NULLP, medledger_ledger_read_record(L, R, lab, "PATRQT", NULL));
    EXPECT_MESSAGE("out_plaintext is NULL");
    /* Purposes are HL7 codes, exactly. */
    EXPECT(INVALID, medledger_ledger_read_record(L, R, lab, "", &buf));
    EXPECT(INVALID, medledger_ledger_read_record(L, R, lab, "treat", &buf));
    EXPECT(INVALID, medledger_ledger_read_record(L, R, lab, "TREAT ", &buf));
    EXPECT(INVALID, medledger_ledger_read_record(L, R, lab, "TREAT,ETREAT", &buf));
    EXPECT_MESSAGE("PurposeOfUse");
    EXPECT(MEDLEDGER_ERR_INVALID_UTF8, medledger_ledger_read_record(L, R, lab, "TR\xff" "AT", &buf));
    char *unterminated = malloc(MEDLEDGER_MAX_TEXT_LEN + 1);
    CHECK(unterminated != NULL);
    memset(unterminated, 'T', MEDLEDGER_MAX_TEXT_LEN + 1);
    EXPECT(INVALID, medledger_ledger_read_record(L, R, lab, unterminated, &buf));
    free(unterminated);
    EXPECT(MEDLEDGER_ERR_NOT_FOUND, medledger_ledger_read_record(L, R, nobody, "PATRQT", &buf));
    EXPECT_MESSAGE("not found");
    /* Denials name their reason; an unregistered reader cannot even record
     * its attempt. */
    EXPECT(MEDLEDGER_ERR_NO_CONSENT,
           medledger_ledger_read_record(L, c->other_patient, lab, "TREAT", &buf));
    EXPECT(MEDLEDGER_ERR_NO_CONSENT,
           medledger_ledger_read_record(L, c->hospital_b, lab, "TREAT", &buf));
    EXPECT(MEDLEDGER_ERR_WRONG_PURPOSE,
           medledger_ledger_read_record(L, c->hospital_a, imaging, "HRESCH", &buf));
    EXPECT(MEDLEDGER_ERR_REJECTED, medledger_ledger_read_record(L, stranger, lab, "TREAT", &buf));
    CHECK(buf == SENTINEL_PTR);
    medledger_keypair_free(stranger);
}

/* Every function of patient-controlled access, abused. */
static void access_calls(const consortium *c, const uint8_t lab[32]) {
    const medledger_ledger *L = c->ledger;
    const medledger_keypair *P = c->patient;
    const uint8_t *pid = c->patient_id;
    uint8_t b_id[32], a_id[32], nobody[32], out[32];
    OK(medledger_keypair_id(c->hospital_b, b_id));
    OK(medledger_keypair_id(c->hospital_a, a_id));
    memset(nobody, 0x42, 32);
    memset(out, MARK, 32);
    uint64_t now = 0;
    OK(medledger_ledger_now(L, &now));
    const uint64_t nb = now - 1000, na = now + YEAR_MS;
    const uint32_t R = MEDLEDGER_ACTION_READ;

    /* attach_validators: nothing is attached on failure. */
    const medledger_keypair *two[2] = {c->validators[0], c->validators[2]};
    EXPECT(NULLP, medledger_ledger_attach_validators(NULL, two, 2));
    EXPECT(NULLP, medledger_ledger_attach_validators(L, NULL, 2));
    EXPECT_MESSAGE("validators is NULL");
    const medledger_keypair *with_null[2] = {c->validators[0], NULL};
    EXPECT(NULLP, medledger_ledger_attach_validators(L, with_null, 2));
    EXPECT_MESSAGE("validators[1] is NULL");
    EXPECT(INVALID, medledger_ledger_attach_validators(L, two, SIZE_MAX));
    const medledger_keypair *outsider[2] = {c->validators[0], c->hospital_a};
    EXPECT(MEDLEDGER_ERR_ACCESS_DENIED, medledger_ledger_attach_validators(L, outsider, 2));
    EXPECT_MESSAGE("validators[1]");

    /* attach_custodian */
    EXPECT(NULLP, medledger_ledger_attach_custodian(NULL, c->admin));
    EXPECT(NULLP, medledger_ledger_attach_custodian(L, NULL));
    EXPECT_MESSAGE("custodian is NULL");
    EXPECT(INVALID, medledger_ledger_attach_custodian(L, c->hospital_a));
    EXPECT_MESSAGE("custodian role");

    /* now */
    uint64_t t = 777;
    EXPECT(NULLP, medledger_ledger_now(NULL, &t));
    EXPECT(NULLP, medledger_ledger_now(L, NULL));
    EXPECT_MESSAGE("out_ms is NULL");
    CHECK(t == 777);

    /* grant: every pointer, then every value. */
    EXPECT(NULLP, medledger_ledger_grant(NULL, P, pid, b_id, R, "TREAT", "lab", NULL, 0, nb, na, out));
    EXPECT(NULLP, medledger_ledger_grant(L, NULL, pid, b_id, R, "TREAT", "lab", NULL, 0, nb, na, out));
    EXPECT_MESSAGE("author is NULL");
    EXPECT(NULLP, medledger_ledger_grant(L, P, NULL, b_id, R, "TREAT", "lab", NULL, 0, nb, na, out));
    EXPECT_MESSAGE("patient_id is NULL");
    EXPECT(NULLP, medledger_ledger_grant(L, P, pid, NULL, R, "TREAT", "lab", NULL, 0, nb, na, out));
    EXPECT_MESSAGE("grantee_id is NULL");
    EXPECT(NULLP, medledger_ledger_grant(L, P, pid, b_id, R, NULL, "lab", NULL, 0, nb, na, out));
    EXPECT_MESSAGE("purposes is NULL");
    EXPECT(NULLP, medledger_ledger_grant(L, P, pid, b_id, R, "TREAT", NULL, NULL, 0, nb, na, out));
    EXPECT_MESSAGE("categories is NULL");
    EXPECT(NULLP, medledger_ledger_grant(L, P, pid, b_id, R, "TREAT", "", NULL, 1, nb, na, out));
    EXPECT_MESSAGE("record_ids is NULL");
    EXPECT(NULLP, medledger_ledger_grant(L, P, pid, b_id, R, "TREAT", "lab", NULL, 0, nb, na, NULL));
    EXPECT_MESSAGE("out_consent_id is NULL");
    /* Id arrays "of SIZE_MAX ids" in a 32-byte buffer are never read. */
    EXPECT(INVALID, medledger_ledger_grant(L, P, pid, b_id, R, "TREAT", "", lab, SIZE_MAX, nb, na, out));
    EXPECT_MESSAGE("record_ids");
    EXPECT(INVALID, medledger_ledger_grant(L, P, pid, b_id, R, "TREAT", "", lab, SIZE_MAX / 32 + 1, nb, na, out));
    EXPECT(INVALID, medledger_ledger_grant(L, P, pid, b_id, R, "TREAT", "", lab,
                                           MEDLEDGER_MAX_CONSENT_RECORDS + 1, nb, na, out));
    /* Actions. */
    EXPECT(INVALID, medledger_ledger_grant(L, P, pid, b_id, 0, "TREAT", "lab", NULL, 0, nb, na, out));
    EXPECT_MESSAGE("actions");
    EXPECT(INVALID, medledger_ledger_grant(L, P, pid, b_id, 8, "TREAT", "lab", NULL, 0, nb, na, out));
    EXPECT(INVALID, medledger_ledger_grant(L, P, pid, b_id, 0x101, "TREAT", "lab", NULL, 0, nb, na, out));
    /* Purposes: comma-separated HL7 codes, at least one. */
    const char *bad_purposes[] = {"", " ", "treat", "TREAT,", ",TREAT", "TREAT,,BTG", "TREAT;BTG", "*"};
    for (size_t i = 0; i < sizeof bad_purposes / sizeof *bad_purposes; i++)
        EXPECT(INVALID, medledger_ledger_grant(L, P, pid, b_id, R, bad_purposes[i], "lab", NULL, 0,
                                               nb, na, out));
    EXPECT(MEDLEDGER_ERR_INVALID_UTF8,
           medledger_ledger_grant(L, P, pid, b_id, R, "TREAT,\xc3", "lab", NULL, 0, nb, na, out));
    char *unterminated = malloc(MEDLEDGER_MAX_TEXT_LEN + 1);
    CHECK(unterminated != NULL);
    memset(unterminated, 'A', MEDLEDGER_MAX_TEXT_LEN + 1);
    EXPECT(INVALID, medledger_ledger_grant(L, P, pid, b_id, R, unterminated, "lab", NULL, 0, nb, na, out));
    EXPECT(INVALID, medledger_ledger_grant(L, P, pid, b_id, R, "TREAT", unterminated, NULL, 0, nb, na, out));
    /* Categories: syntax, "*" alone, and a scope that covers something. */
    const char *bad_categories[] = {"Lab", "lab,*", "*,lab", "lab,,imaging", "lab,", "lab!"};
    for (size_t i = 0; i < sizeof bad_categories / sizeof *bad_categories; i++)
        EXPECT(INVALID, medledger_ledger_grant(L, P, pid, b_id, R, "TREAT", bad_categories[i], NULL,
                                               0, nb, na, out));
    EXPECT(MEDLEDGER_ERR_INVALID_UTF8,
           medledger_ledger_grant(L, P, pid, b_id, R, "TREAT", "l\xe2\x82", NULL, 0, nb, na, out));
    EXPECT(INVALID, medledger_ledger_grant(L, P, pid, b_id, R, "TREAT", "", NULL, 0, nb, na, out));
    EXPECT_MESSAGE("covers nothing");
    /* Record-level consents are read-only; listed records must exist. */
    EXPECT(INVALID, medledger_ledger_grant(L, P, pid, b_id, ALL_ACTIONS, "TREAT", "", lab, 1, nb,
                                           na, out));
    EXPECT(MEDLEDGER_ERR_NOT_FOUND,
           medledger_ledger_grant(L, P, pid, b_id, R, "TREAT", "", nobody, 1, nb, na, out));
    /* Periods, parties. */
    EXPECT(INVALID, medledger_ledger_grant(L, P, pid, b_id, R, "TREAT", "lab", NULL, 0, na, nb, out));
    EXPECT(INVALID, medledger_ledger_grant(L, P, pid, b_id, R, "TREAT", "lab", NULL, 0, nb, nb, out));
    EXPECT(INVALID, medledger_ledger_grant(L, P, pid, pid, R, "TREAT", "lab", NULL, 0, nb, na, out));
    EXPECT(MEDLEDGER_ERR_NOT_FOUND,
           medledger_ledger_grant(L, P, pid, nobody, R, "TREAT", "lab", NULL, 0, nb, na, out));
    /* Only the patient (or a guardian) grants. */
    EXPECT(MEDLEDGER_ERR_REJECTED,
           medledger_ledger_grant(L, c->hospital_a, pid, b_id, R, "TREAT", "lab", NULL, 0, nb, na,
                                  out));
    EXPECT(MEDLEDGER_ERR_REJECTED,
           medledger_ledger_grant(L, c->other_patient, pid, b_id, R, "TREAT", "imaging", NULL, 0,
                                  nb, na, out));
    CHECK(all_marked(out, 32));

    /* revoke */
    EXPECT(NULLP, medledger_ledger_revoke(NULL, P, nobody));
    EXPECT(NULLP, medledger_ledger_revoke(L, NULL, nobody));
    EXPECT(NULLP, medledger_ledger_revoke(L, P, NULL));
    EXPECT_MESSAGE("consent_id is NULL");
    EXPECT(MEDLEDGER_ERR_NOT_FOUND, medledger_ledger_revoke(L, P, nobody));

    /* share_keys */
    size_t shares = 777;
    EXPECT(NULLP, medledger_ledger_share_keys(NULL, P, pid, &shares));
    EXPECT(NULLP, medledger_ledger_share_keys(L, NULL, pid, &shares));
    EXPECT(NULLP, medledger_ledger_share_keys(L, P, NULL, &shares));
    EXPECT(NULLP, medledger_ledger_share_keys(L, P, pid, NULL));
    EXPECT_MESSAGE("out_shares is NULL");
    CHECK(shares == 777);

    /* break_glass */
    const medledger_keypair *A = c->hospital_a;
    EXPECT(NULLP, medledger_ledger_break_glass(NULL, A, pid, "ETREAT", "er", 60000, out));
    EXPECT(NULLP, medledger_ledger_break_glass(L, NULL, pid, "ETREAT", "er", 60000, out));
    EXPECT_MESSAGE("provider is NULL");
    EXPECT(NULLP, medledger_ledger_break_glass(L, A, NULL, "ETREAT", "er", 60000, out));
    EXPECT(NULLP, medledger_ledger_break_glass(L, A, pid, NULL, "er", 60000, out));
    EXPECT_MESSAGE("reason is NULL");
    EXPECT(NULLP, medledger_ledger_break_glass(L, A, pid, "ETREAT", NULL, 60000, out));
    EXPECT_MESSAGE("justification is NULL");
    EXPECT(NULLP, medledger_ledger_break_glass(L, A, pid, "ETREAT", "er", 60000, NULL));
    EXPECT_MESSAGE("out_break_glass_id is NULL");
    EXPECT(INVALID, medledger_ledger_break_glass(L, A, pid, "TREAT", "er", 60000, out));
    EXPECT_MESSAGE("ETREAT or BTG");
    EXPECT(INVALID, medledger_ledger_break_glass(L, A, pid, "etreat", "er", 60000, out));
    EXPECT(MEDLEDGER_ERR_INVALID_UTF8,
           medledger_ledger_break_glass(L, A, pid, "\x80", "er", 60000, out));
    EXPECT(INVALID, medledger_ledger_break_glass(L, A, pid, unterminated, "er", 60000, out));
    EXPECT(INVALID, medledger_ledger_break_glass(L, A, pid, "BTG", "", 60000, out));
    EXPECT(INVALID, medledger_ledger_break_glass(L, A, pid, "BTG", "line\nbreak", 60000, out));
    EXPECT(MEDLEDGER_ERR_INVALID_UTF8,
           medledger_ledger_break_glass(L, A, pid, "BTG", "caf\xc3", 60000, out));
    char long_text[300];
    memset(long_text, 'j', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    EXPECT(INVALID, medledger_ledger_break_glass(L, A, pid, "BTG", long_text, 60000, out));
    EXPECT(INVALID, medledger_ledger_break_glass(L, A, pid, "BTG", unterminated, 60000, out));
    EXPECT(INVALID, medledger_ledger_break_glass(L, A, pid, "BTG", "er", 0, out));
    EXPECT(MEDLEDGER_ERR_REJECTED,
           medledger_ledger_break_glass(L, A, pid, "BTG", "er", UINT64_MAX, out));
    EXPECT_MESSAGE("maximum");
    EXPECT(MEDLEDGER_ERR_REJECTED,
           medledger_ledger_break_glass(L, A, nobody, "BTG", "er", 60000, out));
    EXPECT(MEDLEDGER_ERR_REJECTED, /* only providers declare */
           medledger_ledger_break_glass(L, c->other_patient, pid, "BTG", "er", 60000, out));
    CHECK(all_marked(out, 32));
    free(unterminated);

    /* guardians and suspension */
    EXPECT(NULLP, medledger_ledger_add_guardian(NULL, P, pid, a_id));
    EXPECT(NULLP, medledger_ledger_add_guardian(L, NULL, pid, a_id));
    EXPECT(NULLP, medledger_ledger_add_guardian(L, P, NULL, a_id));
    EXPECT(NULLP, medledger_ledger_add_guardian(L, P, pid, NULL));
    EXPECT_MESSAGE("guardian_id is NULL");
    EXPECT(MEDLEDGER_ERR_REJECTED, medledger_ledger_add_guardian(L, P, pid, a_id)); /* no role */
    EXPECT(MEDLEDGER_ERR_REJECTED, medledger_ledger_add_guardian(L, P, pid, nobody));
    EXPECT(NULLP, medledger_ledger_remove_guardian(NULL, P, pid, a_id));
    EXPECT(NULLP, medledger_ledger_remove_guardian(L, NULL, pid, a_id));
    EXPECT(NULLP, medledger_ledger_remove_guardian(L, P, NULL, a_id));
    EXPECT(NULLP, medledger_ledger_remove_guardian(L, P, pid, NULL));
    EXPECT(MEDLEDGER_ERR_REJECTED, medledger_ledger_remove_guardian(L, P, pid, a_id));
    medledger_buffer *proofbuf = NULL;
    EXPECT(NULLP, medledger_ledger_evidence(NULL, a_id, false, &proofbuf));
    EXPECT(NULLP, medledger_ledger_evidence(L, NULL, false, &proofbuf));
    EXPECT(NULLP, medledger_ledger_evidence(L, a_id, false, NULL));
    EXPECT(MEDLEDGER_ERR_NOT_FOUND, medledger_ledger_evidence(L, a_id, false, &proofbuf));
    EXPECT(NULLP, medledger_evidence_verify(NULL, 10, NULL, &proofbuf));
    EXPECT(NULLP, medledger_evidence_verify(a_id, 32, NULL, NULL));
    EXPECT(MEDLEDGER_ERR_INVALID_ARGUMENT,
           medledger_evidence_verify(a_id, MEDLEDGER_MAX_EVIDENCE_LEN + 1, NULL, &proofbuf));
    EXPECT(MEDLEDGER_ERR_MALFORMED, medledger_evidence_verify(a_id, 32, NULL, &proofbuf));
    EXPECT_MESSAGE("not an evidence bundle");
    EXPECT(MEDLEDGER_ERR_MALFORMED, medledger_evidence_verify(a_id, 0, NULL, &proofbuf));
    CHECK(proofbuf == NULL);
    EXPECT(NULLP, medledger_ledger_checkpoint(NULL, c->validators[0], "n", &proofbuf));
    EXPECT(NULLP, medledger_ledger_checkpoint(L, NULL, "n", &proofbuf));
    EXPECT(NULLP, medledger_ledger_checkpoint(L, c->validators[0], NULL, &proofbuf));
    EXPECT(NULLP, medledger_ledger_checkpoint(L, c->validators[0], "n", NULL));
    EXPECT(MEDLEDGER_ERR_INVALID_ARGUMENT,
           medledger_ledger_checkpoint(L, c->validators[0], "bad name with spaces", &proofbuf));
    medledger_keypair *rotated = NULL;
    EXPECT(NULLP, medledger_keypair_rotated(NULL, &rotated));
    EXPECT(NULLP, medledger_keypair_rotated(c->hospital_b, NULL));
    OK(medledger_keypair_rotated(c->hospital_b, &rotated));
    EXPECT(NULLP, medledger_ledger_rotate_keys(NULL, c->hospital_b, rotated));
    EXPECT(NULLP, medledger_ledger_rotate_keys(L, NULL, rotated));
    EXPECT(NULLP, medledger_ledger_rotate_keys(L, c->hospital_b, NULL));
    EXPECT_MESSAGE("new_keys is NULL");
    /* Another provider may not rotate B's keys. */
    EXPECT(MEDLEDGER_ERR_REJECTED, medledger_ledger_rotate_keys(L, c->hospital_a, rotated));
    medledger_keypair_free(rotated);
    EXPECT(NULLP, medledger_ledger_suspend(NULL, c->admin, a_id));
    EXPECT(NULLP, medledger_ledger_suspend(L, NULL, a_id));
    EXPECT_MESSAGE("admin is NULL");
    EXPECT(NULLP, medledger_ledger_suspend(L, c->admin, NULL));
    EXPECT_MESSAGE("participant_id is NULL");
    EXPECT(MEDLEDGER_ERR_REJECTED, medledger_ledger_suspend(L, c->hospital_b, a_id));
    EXPECT(MEDLEDGER_ERR_REJECTED, medledger_ledger_suspend(L, c->admin, nobody));
    EXPECT(NULLP, medledger_ledger_reinstate(NULL, c->admin, a_id));
    EXPECT(NULLP, medledger_ledger_reinstate(L, NULL, a_id));
    EXPECT(NULLP, medledger_ledger_reinstate(L, c->admin, NULL));
    EXPECT(MEDLEDGER_ERR_REJECTED, medledger_ledger_reinstate(L, c->hospital_b, a_id));

    /* The access log, consents and reviews. */
    medledger_buffer *buf = SENTINEL_PTR;
    EXPECT(NULLP, medledger_ledger_access_log_json(NULL, pid, pid, &buf));
    EXPECT(NULLP, medledger_ledger_access_log_json(L, NULL, pid, &buf));
    EXPECT_MESSAGE("requester_id is NULL");
    EXPECT(NULLP, medledger_ledger_access_log_json(L, pid, NULL, &buf));
    EXPECT(NULLP, medledger_ledger_access_log_json(L, pid, pid, NULL));
    EXPECT_MESSAGE("out_json is NULL");
    EXPECT(MEDLEDGER_ERR_ACCESS_DENIED, medledger_ledger_access_log_json(L, a_id, pid, &buf));
    EXPECT(MEDLEDGER_ERR_ACCESS_DENIED, medledger_ledger_access_log_json(L, nobody, pid, &buf));
    EXPECT(NULLP, medledger_ledger_consents_json(NULL, pid, pid, &buf));
    EXPECT(NULLP, medledger_ledger_consents_json(L, NULL, pid, &buf));
    EXPECT(NULLP, medledger_ledger_consents_json(L, pid, NULL, &buf));
    EXPECT(NULLP, medledger_ledger_consents_json(L, pid, pid, NULL));
    EXPECT(MEDLEDGER_ERR_ACCESS_DENIED, medledger_ledger_consents_json(L, b_id, pid, &buf));
    EXPECT(NULLP, medledger_ledger_break_glass_reviews_json(NULL, pid, &buf));
    EXPECT(NULLP, medledger_ledger_break_glass_reviews_json(L, NULL, &buf));
    EXPECT(NULLP, medledger_ledger_break_glass_reviews_json(L, pid, NULL));
    EXPECT(MEDLEDGER_ERR_ACCESS_DENIED, medledger_ledger_break_glass_reviews_json(L, pid, &buf));
    /* The FHIR bundles: the same arguments, the same requesters. */
    medledger_status (*const fhir[2])(const medledger_ledger *, const uint8_t *, const uint8_t *,
                                      medledger_buffer **) = {medledger_ledger_access_log_fhir,
                                                              medledger_ledger_consents_fhir};
    for (int i = 0; i < 2; i++) {
        EXPECT(NULLP, fhir[i](NULL, pid, pid, &buf));
        EXPECT(NULLP, fhir[i](L, NULL, pid, &buf));
        EXPECT_MESSAGE("requester_id is NULL");
        EXPECT(NULLP, fhir[i](L, pid, NULL, &buf));
        EXPECT_MESSAGE("patient_id is NULL");
        EXPECT(NULLP, fhir[i](L, pid, pid, NULL));
        EXPECT(MEDLEDGER_ERR_ACCESS_DENIED, fhir[i](L, a_id, pid, &buf));
        EXPECT(MEDLEDGER_ERR_ACCESS_DENIED, fhir[i](L, nobody, pid, &buf));
    }
    CHECK(buf == SENTINEL_PTR);

    /* erase and receipts */
    EXPECT(NULLP, medledger_ledger_erase(NULL, P, lab, 1, &buf));
    EXPECT(NULLP, medledger_ledger_erase(L, NULL, lab, 1, &buf));
    EXPECT(NULLP, medledger_ledger_erase(L, P, NULL, 1, &buf));
    EXPECT_MESSAGE("record_ids is NULL");
    EXPECT(NULLP, medledger_ledger_erase(L, P, NULL, 0, &buf));
    EXPECT(NULLP, medledger_ledger_erase(L, P, lab, 1, NULL));
    EXPECT_MESSAGE("out_receipts is NULL");
    EXPECT(INVALID, medledger_ledger_erase(L, P, lab, SIZE_MAX, &buf));
    EXPECT(INVALID, medledger_ledger_erase(L, P, lab, MEDLEDGER_MAX_ERASE_RECORDS + 1, &buf));
    EXPECT(MEDLEDGER_ERR_REJECTED, medledger_ledger_erase(L, P, lab, 0, &buf));
    EXPECT(MEDLEDGER_ERR_REJECTED, medledger_ledger_erase(L, P, nobody, 1, &buf));
    EXPECT(MEDLEDGER_ERR_REJECTED, medledger_ledger_erase(L, c->other_patient, lab, 1, &buf));
    EXPECT(MEDLEDGER_ERR_REJECTED, medledger_ledger_erase(L, c->hospital_b, lab, 1, &buf));
    uint8_t twice[64];
    memcpy(twice, lab, 32);
    memcpy(twice + 32, lab, 32);
    EXPECT(MEDLEDGER_ERR_REJECTED, medledger_ledger_erase(L, P, twice, 2, &buf));
    CHECK(buf == SENTINEL_PTR);
    uint8_t receipt[MEDLEDGER_ERASURE_RECEIPT_LEN + 1];
    memset(receipt, 0, sizeof receipt);
    EXPECT(NULLP, medledger_ledger_verify_erasure_receipt(NULL, receipt, MEDLEDGER_ERASURE_RECEIPT_LEN));
    EXPECT(NULLP, medledger_ledger_verify_erasure_receipt(L, NULL, MEDLEDGER_ERASURE_RECEIPT_LEN));
    EXPECT(MEDLEDGER_ERR_MALFORMED, medledger_ledger_verify_erasure_receipt(L, receipt, 0));
    EXPECT(MEDLEDGER_ERR_MALFORMED,
           medledger_ledger_verify_erasure_receipt(L, receipt, MEDLEDGER_ERASURE_RECEIPT_LEN - 1));
    EXPECT(MEDLEDGER_ERR_MALFORMED,
           medledger_ledger_verify_erasure_receipt(L, receipt, MEDLEDGER_ERASURE_RECEIPT_LEN + 1));
    EXPECT(MEDLEDGER_ERR_MALFORMED, medledger_ledger_verify_erasure_receipt(L, receipt, SIZE_MAX));
    /* All zeros: another ledger's. */
    EXPECT(INVALID, medledger_ledger_verify_erasure_receipt(L, receipt, MEDLEDGER_ERASURE_RECEIPT_LEN));

    /* After all this, the patient's own read still works, and nothing was
     * attached by a failed attach. */
    expect_plaintext(c, P, lab, "{\"v\":1}");
}

/* Batch reads, log roots, consistency proofs and the manual clock. */
static void batch_and_proof_calls(const consortium *c, const uint8_t lab[32]) {
    const medledger_ledger *L = c->ledger;
    const medledger_keypair *P = c->patient;
    medledger_buffer *buf = SENTINEL_PTR;
    EXPECT(NULLP, medledger_ledger_read_records(NULL, P, lab, 1, "PATRQT", &buf));
    EXPECT(NULLP, medledger_ledger_read_records(L, NULL, lab, 1, "PATRQT", &buf));
    EXPECT_MESSAGE("reader is NULL");
    EXPECT(NULLP, medledger_ledger_read_records(L, P, NULL, 1, "PATRQT", &buf));
    EXPECT_MESSAGE("record_ids is NULL");
    EXPECT(NULLP, medledger_ledger_read_records(L, P, NULL, 0, "PATRQT", &buf));
    EXPECT(NULLP, medledger_ledger_read_records(L, P, lab, 1, NULL, &buf));
    EXPECT_MESSAGE("purpose is NULL");
    EXPECT(NULLP, medledger_ledger_read_records(L, P, lab, 1, "PATRQT", NULL));
    EXPECT_MESSAGE("out_results is NULL");
    /* No ids; "SIZE_MAX ids" in a 32-byte array, refused before reading. */
    EXPECT(INVALID, medledger_ledger_read_records(L, P, lab, 0, "PATRQT", &buf));
    EXPECT_MESSAGE("nothing to read");
    EXPECT(INVALID, medledger_ledger_read_records(L, P, lab, SIZE_MAX, "PATRQT", &buf));
    EXPECT(INVALID,
           medledger_ledger_read_records(L, P, lab, MEDLEDGER_MAX_READ_RECORDS + 1, "PATRQT", &buf));
    EXPECT_MESSAGE("limit");
    EXPECT(INVALID, medledger_ledger_read_records(L, P, lab, 1, "patrqt", &buf));
    EXPECT(MEDLEDGER_ERR_INVALID_UTF8, medledger_ledger_read_records(L, P, lab, 1, "\xff", &buf));
    medledger_keypair *stranger = new_keypair();
    EXPECT(MEDLEDGER_ERR_REJECTED, medledger_ledger_read_records(L, stranger, lab, 1, "TREAT", &buf));
    medledger_keypair_free(stranger);
    CHECK(buf == SENTINEL_PTR);
    /* Unknown ids are per-entry failures, the call succeeds. */
    uint8_t ids[2 * 32];
    memset(ids, 0x42, 32);
    memcpy(ids + 32, lab, 32);
    OK(medledger_ledger_read_records(L, P, ids, 2, "PATRQT", &buf));
    size_t off = 0;
    uint32_t status;
    const uint8_t *data;
    uint64_t n;
    next_read_entry(medledger_buffer_data(buf), medledger_buffer_len(buf), &off, &status, &data,
                    &n);
    CHECK(status == MEDLEDGER_ERR_NOT_FOUND);
    next_read_entry(medledger_buffer_data(buf), medledger_buffer_len(buf), &off, &status, &data,
                    &n);
    CHECK(status == MEDLEDGER_OK && n == 7 && memcmp(data, "{\"v\":1}", 7) == 0);
    CHECK(off == medledger_buffer_len(buf));
    medledger_buffer_free(buf);

    uint64_t size = 777;
    EXPECT(NULLP, medledger_ledger_log_size(NULL, &size));
    EXPECT(NULLP, medledger_ledger_log_size(L, NULL));
    EXPECT_MESSAGE("out_size is NULL");
    CHECK(size == 777);
    OK(medledger_ledger_log_size(L, &size));
    CHECK(size > 1);
    uint8_t root[32];
    memset(root, MARK, 32);
    EXPECT(NULLP, medledger_ledger_log_root(NULL, size, root));
    EXPECT(NULLP, medledger_ledger_log_root(L, size, NULL));
    EXPECT_MESSAGE("out_root is NULL");
    EXPECT(INVALID, medledger_ledger_log_root(L, size + 1, root));
    EXPECT(INVALID, medledger_ledger_log_root(L, UINT64_MAX, root));
    CHECK(all_marked(root, 32));

    buf = SENTINEL_PTR;
    EXPECT(NULLP, medledger_ledger_consistency_proof(NULL, 1, size, &buf));
    EXPECT(NULLP, medledger_ledger_consistency_proof(L, 1, size, NULL));
    EXPECT_MESSAGE("out_proof is NULL");
    EXPECT(INVALID, medledger_ledger_consistency_proof(L, 0, 0, &buf));
    EXPECT(INVALID, medledger_ledger_consistency_proof(L, 1, UINT64_MAX, &buf));
    EXPECT(INVALID, medledger_ledger_consistency_proof(L, UINT64_MAX, UINT64_MAX, &buf));
    CHECK(buf == SENTINEL_PTR);

    uint8_t r1[32], r2[32], proof[64];
    OK(medledger_ledger_log_root(L, 1, r1));
    OK(medledger_ledger_log_root(L, size, r2));
    memset(proof, 0, sizeof proof);
    EXPECT(NULLP, medledger_verify_consistency(1, size, NULL, r2, proof, 32));
    EXPECT_MESSAGE("root1 is NULL");
    EXPECT(NULLP, medledger_verify_consistency(1, size, r1, NULL, proof, 32));
    EXPECT(NULLP, medledger_verify_consistency(1, size, r1, r2, NULL, 32));
    EXPECT(NULLP, medledger_verify_consistency(1, size, r1, r2, NULL, 0));
    EXPECT_MESSAGE("proof is NULL");
    /* Lengths far beyond the 64-byte array are refused before reading. */
    EXPECT(INVALID, medledger_verify_consistency(1, size, r1, r2, proof, SIZE_MAX));
    EXPECT(INVALID, medledger_verify_consistency(1, size, r1, r2, proof,
                                                 MEDLEDGER_MAX_PROOF_LEN + 32));
    EXPECT(MEDLEDGER_ERR_MALFORMED, medledger_verify_consistency(1, size, r1, r2, proof, 33));
    EXPECT(MEDLEDGER_ERR_BAD_PROOF, medledger_verify_consistency(1, size, r1, r2, proof, 64));
    EXPECT(MEDLEDGER_ERR_BAD_PROOF, medledger_verify_consistency(1, size, r1, r2, proof, 0));
    EXPECT(MEDLEDGER_ERR_BAD_PROOF, medledger_verify_consistency(size, 1, r2, r1, proof, 0));
    EXPECT(MEDLEDGER_ERR_BAD_PROOF,
           medledger_verify_consistency(1, UINT64_MAX, r1, r2, proof, 64));

    EXPECT(NULLP, medledger_ledger_set_manual_time(NULL, 1));
    EXPECT_MESSAGE("ledger is NULL");
}

/* Batch appends, record facts, versions, served ciphertexts, inclusion
 * proofs, validator sets and checkpoint notes. */
static void gap_calls(const consortium *c, const uint8_t lab[32]) {
    const medledger_ledger *L = c->ledger;
    const medledger_keypair *A = c->hospital_a;
    const uint8_t pl[] = "{}";
    medledger_new_record recs[2] = {
        {c->patient_id, "lab", "application/fhir+json", pl, 2},
        {c->patient_id, "lab", "application/fhir+json", pl, 2},
    };
    uint8_t ids[2 * 32];
    memset(ids, MARK, sizeof ids);
    EXPECT(NULLP, medledger_ledger_append_batch(NULL, A, recs, 2, ids));
    EXPECT(NULLP, medledger_ledger_append_batch(L, NULL, recs, 2, ids));
    EXPECT_MESSAGE("author is NULL");
    EXPECT(NULLP, medledger_ledger_append_batch(L, A, NULL, 2, ids));
    EXPECT(NULLP, medledger_ledger_append_batch(L, A, NULL, 0, ids));
    EXPECT_MESSAGE("records is NULL");
    EXPECT(NULLP, medledger_ledger_append_batch(L, A, recs, 2, NULL));
    EXPECT_MESSAGE("out_record_ids is NULL");
    EXPECT(INVALID, medledger_ledger_append_batch(L, A, recs, 0, ids));
    EXPECT_MESSAGE("nothing to append");
    /* Counts far beyond the 2-element array are refused before reading. */
    EXPECT(INVALID, medledger_ledger_append_batch(L, A, recs, SIZE_MAX, ids));
    EXPECT(INVALID, medledger_ledger_append_batch(L, A, recs, MEDLEDGER_MAX_BATCH_RECORDS + 1, ids));
    EXPECT_MESSAGE("limit");
    recs[1].patient_id = NULL;
    EXPECT(NULLP, medledger_ledger_append_batch(L, A, recs, 2, ids));
    EXPECT_MESSAGE("records[1].patient_id is NULL");
    recs[1].patient_id = c->patient_id;
    recs[1].category = NULL;
    EXPECT(NULLP, medledger_ledger_append_batch(L, A, recs, 2, ids));
    EXPECT_MESSAGE("records[1].category is NULL");
    recs[1].category = "LAB!";
    EXPECT(INVALID, medledger_ledger_append_batch(L, A, recs, 2, ids));
    recs[1].category = "lab";
    recs[1].content_type = "\xff";
    EXPECT(MEDLEDGER_ERR_INVALID_UTF8, medledger_ledger_append_batch(L, A, recs, 2, ids));
    recs[1].content_type = "application/fhir+json";
    recs[1].payload = NULL;
    EXPECT(NULLP, medledger_ledger_append_batch(L, A, recs, 2, ids));
    EXPECT_MESSAGE("records[1].payload is NULL");
    recs[1].payload = pl;
    recs[1].payload_len = SIZE_MAX;
    EXPECT(INVALID, medledger_ledger_append_batch(L, A, recs, 2, ids));
    recs[1].payload_len = 2;
    /* One record for a patient that does not exist refuses the batch. */
    uint8_t nobody[32];
    memset(nobody, 0x42, sizeof nobody);
    recs[1].patient_id = nobody;
    medledger_status st = medledger_ledger_append_batch(L, A, recs, 2, ids);
    CHECK(st == MEDLEDGER_ERR_NOT_FOUND || st == MEDLEDGER_ERR_REJECTED);
    /* Hospital B has no consent to append lab records. */
    recs[1].patient_id = c->patient_id;
    EXPECT(MEDLEDGER_ERR_REJECTED, medledger_ledger_append_batch(L, c->hospital_b, recs, 2, ids));
    CHECK(all_marked(ids, sizeof ids));

    medledger_buffer *buf = SENTINEL_PTR;
    uint8_t unknown[32];
    memset(unknown, 0x42, sizeof unknown);
    EXPECT(NULLP, medledger_ledger_record_info_json(NULL, lab, &buf));
    EXPECT(NULLP, medledger_ledger_record_info_json(L, NULL, &buf));
    EXPECT_MESSAGE("record_id is NULL");
    EXPECT(NULLP, medledger_ledger_record_info_json(L, lab, NULL));
    EXPECT_MESSAGE("out_json is NULL");
    EXPECT(MEDLEDGER_ERR_NOT_FOUND, medledger_ledger_record_info_json(L, unknown, &buf));
    EXPECT(NULLP, medledger_ledger_versions(NULL, lab, &buf));
    EXPECT(NULLP, medledger_ledger_versions(L, NULL, &buf));
    EXPECT(NULLP, medledger_ledger_versions(L, lab, NULL));
    EXPECT_MESSAGE("out_ids is NULL");
    EXPECT(MEDLEDGER_ERR_NOT_FOUND, medledger_ledger_versions(L, unknown, &buf));
    CHECK(buf == SENTINEL_PTR);

    uint8_t ct[64];
    memset(ct, 0, sizeof ct);
    EXPECT(NULLP, medledger_ledger_check_served(NULL, lab, ct, sizeof ct));
    EXPECT(NULLP, medledger_ledger_check_served(L, NULL, ct, sizeof ct));
    EXPECT(NULLP, medledger_ledger_check_served(L, lab, NULL, 0));
    EXPECT_MESSAGE("ciphertext is NULL");
    EXPECT(INVALID, medledger_ledger_check_served(L, lab, ct, SIZE_MAX));
    EXPECT(MEDLEDGER_ERR_NOT_FOUND, medledger_ledger_check_served(L, unknown, ct, sizeof ct));
    EXPECT(MEDLEDGER_ERR_TAMPERED, medledger_ledger_check_served(L, lab, ct, sizeof ct));
    EXPECT(MEDLEDGER_ERR_TAMPERED, medledger_ledger_check_served(L, lab, ct, 0));

    uint64_t size = 0, leaf = 777, psize = 777;
    OK(medledger_ledger_log_size(L, &size));
    EXPECT(NULLP, medledger_ledger_inclusion_proof(NULL, 1, size, &buf));
    EXPECT(NULLP, medledger_ledger_inclusion_proof(L, 1, size, NULL));
    EXPECT_MESSAGE("out_proof is NULL");
    EXPECT(INVALID, medledger_ledger_inclusion_proof(L, size, size, &buf));
    EXPECT(INVALID, medledger_ledger_inclusion_proof(L, 0, 0, &buf));
    EXPECT(INVALID, medledger_ledger_inclusion_proof(L, 0, size + 1, &buf));
    EXPECT(INVALID, medledger_ledger_inclusion_proof(L, UINT64_MAX, UINT64_MAX, &buf));
    EXPECT(NULLP, medledger_ledger_record_inclusion(NULL, lab, &leaf, &psize, &buf));
    EXPECT(NULLP, medledger_ledger_record_inclusion(L, NULL, &leaf, &psize, &buf));
    EXPECT(NULLP, medledger_ledger_record_inclusion(L, lab, NULL, &psize, &buf));
    EXPECT_MESSAGE("out_leaf is NULL");
    EXPECT(NULLP, medledger_ledger_record_inclusion(L, lab, &leaf, NULL, &buf));
    EXPECT_MESSAGE("out_size is NULL");
    EXPECT(NULLP, medledger_ledger_record_inclusion(L, lab, &leaf, &psize, NULL));
    EXPECT(MEDLEDGER_ERR_NOT_FOUND,
           medledger_ledger_record_inclusion(L, unknown, &leaf, &psize, &buf));
    CHECK(leaf == 777 && psize == 777);
    EXPECT(NULLP, medledger_ledger_transaction(NULL, 1, &buf));
    EXPECT(NULLP, medledger_ledger_transaction(L, 1, NULL));
    EXPECT_MESSAGE("out_tx is NULL");
    EXPECT(INVALID, medledger_ledger_transaction(L, 0, &buf));
    EXPECT(MEDLEDGER_ERR_NOT_FOUND, medledger_ledger_transaction(L, size, &buf));
    EXPECT(MEDLEDGER_ERR_NOT_FOUND, medledger_ledger_transaction(L, UINT64_MAX, &buf));
    CHECK(buf == SENTINEL_PTR);

    uint8_t root[32], proof[64], tx[16];
    OK(medledger_ledger_log_root(L, size, root));
    memset(proof, 0, sizeof proof);
    memset(tx, 0, sizeof tx);
    EXPECT(NULLP, medledger_verify_inclusion(1, size, NULL, tx, 16, proof, 32));
    EXPECT_MESSAGE("root is NULL");
    EXPECT(NULLP, medledger_verify_inclusion(1, size, root, NULL, 16, proof, 32));
    EXPECT(NULLP, medledger_verify_inclusion(1, size, root, tx, 16, NULL, 0));
    EXPECT_MESSAGE("proof is NULL");
    EXPECT(INVALID, medledger_verify_inclusion(1, size, root, tx, SIZE_MAX, proof, 32));
    EXPECT(INVALID, medledger_verify_inclusion(1, size, root, tx, 16, proof, SIZE_MAX));
    EXPECT(MEDLEDGER_ERR_MALFORMED, medledger_verify_inclusion(1, size, root, tx, 16, proof, 31));
    EXPECT(MEDLEDGER_ERR_BAD_PROOF, medledger_verify_inclusion(1, size, root, tx, 16, proof, 64));
    EXPECT(MEDLEDGER_ERR_BAD_PROOF, medledger_verify_inclusion(size, size, root, tx, 16, proof, 0));
    EXPECT(MEDLEDGER_ERR_BAD_PROOF,
           medledger_verify_inclusion(UINT64_MAX, UINT64_MAX, root, tx, 0, proof, 64));

    /* Validator sets: the keys of validators 0 and 1. */
    uint8_t keys[3 * 32], enc[32], hash[32];
    OK(medledger_keypair_public_keys(c->validators[0], keys, enc));
    OK(medledger_keypair_public_keys(c->validators[1], keys + 32, enc));
    memcpy(keys + 64, keys, 32); /* listed twice */
    memset(hash, MARK, sizeof hash);
    EXPECT(NULLP, medledger_validator_set_hash(1, NULL, 2, hash));
    EXPECT_MESSAGE("member_keys is NULL");
    EXPECT(NULLP, medledger_validator_set_hash(1, keys, 2, NULL));
    EXPECT_MESSAGE("out_hash is NULL");
    EXPECT(INVALID, medledger_validator_set_hash(1, keys, 0, hash));
    EXPECT(INVALID, medledger_validator_set_hash(1, keys, SIZE_MAX, hash));
    EXPECT(INVALID, medledger_validator_set_hash(1, keys, 257, hash));
    EXPECT(INVALID, medledger_validator_set_hash(0, keys, 2, hash));
    EXPECT(INVALID, medledger_validator_set_hash(3, keys, 2, hash));
    EXPECT(INVALID, medledger_validator_set_hash(UINT32_MAX, keys, 2, hash));
    EXPECT(INVALID, medledger_validator_set_hash(2, keys, 3, hash));
    EXPECT_MESSAGE("unique");
    CHECK(all_marked(hash, sizeof hash));
    EXPECT(NULLP, medledger_ledger_set_validators(NULL, c->admin, 2, keys, 2));
    EXPECT(NULLP, medledger_ledger_set_validators(L, NULL, 2, keys, 2));
    EXPECT_MESSAGE("admin is NULL");
    EXPECT(NULLP, medledger_ledger_set_validators(L, c->admin, 2, NULL, 2));
    EXPECT(INVALID, medledger_ledger_set_validators(L, c->admin, 2, keys, SIZE_MAX));
    EXPECT(INVALID, medledger_ledger_set_validators(L, c->admin, 0, keys, 2));
    /* Only an admin changes the set; members must be registered validators. */
    EXPECT(MEDLEDGER_ERR_REJECTED, medledger_ledger_set_validators(L, A, 2, keys, 2));
    uint8_t stranger_key[32];
    medledger_keypair *stranger = new_keypair();
    OK(medledger_keypair_public_keys(stranger, stranger_key, enc));
    medledger_keypair_free(stranger);
    memcpy(keys + 32, stranger_key, 32);
    EXPECT(MEDLEDGER_ERR_REJECTED, medledger_ledger_set_validators(L, c->admin, 2, keys, 2));
    medledger_node *node = NULL;
    OK(medledger_node_new(L, NULL, 0, &node));
    EXPECT(NULLP, medledger_node_approve_validator_set(NULL, keys));
    EXPECT_MESSAGE("node is NULL");
    EXPECT(NULLP, medledger_node_approve_validator_set(node, NULL));
    EXPECT_MESSAGE("set_hash is NULL");
    EXPECT(NULLP, medledger_node_accept_proposals_from(NULL, keys, 1));
    EXPECT(NULLP, medledger_node_accept_proposals_from(node, NULL, 1));
    EXPECT(INVALID, medledger_node_accept_proposals_from(node, keys, SIZE_MAX));
    EXPECT(INVALID, medledger_node_accept_proposals_from(node, keys, 257));
    OK(medledger_node_accept_proposals_from(node, NULL, 0)); /* any proposer again */
    medledger_node_free(node);

    /* Checkpoint notes. */
    medledger_buffer *note = NULL;
    OK(medledger_ledger_checkpoint(L, c->validators[0], "log", &note));
    OK(medledger_keypair_public_keys(c->validators[0], keys, enc));
    const uint8_t *n = medledger_buffer_data(note);
    const size_t nlen = medledger_buffer_len(note);
    const medledger_keypair *W = c->hospital_b;
    medledger_note_key lk = {"log", keys, false};
    EXPECT(NULLP, medledger_checkpoint_cosign(NULL, nlen, &lk, W, "w", 1, &buf));
    EXPECT_MESSAGE("note is NULL");
    EXPECT(NULLP, medledger_checkpoint_cosign(n, nlen, NULL, W, "w", 1, &buf));
    EXPECT_MESSAGE("log_key is NULL");
    EXPECT(NULLP, medledger_checkpoint_cosign(n, nlen, &lk, NULL, "w", 1, &buf));
    EXPECT_MESSAGE("witness is NULL");
    EXPECT(NULLP, medledger_checkpoint_cosign(n, nlen, &lk, W, NULL, 1, &buf));
    EXPECT(NULLP, medledger_checkpoint_cosign(n, nlen, &lk, W, "w", 1, NULL));
    EXPECT_MESSAGE("out_note is NULL");
    EXPECT(INVALID, medledger_checkpoint_cosign(n, SIZE_MAX, &lk, W, "w", 1, &buf));
    EXPECT(INVALID,
           medledger_checkpoint_cosign(n, MEDLEDGER_MAX_NOTE_LEN + 1, &lk, W, "w", 1, &buf));
    EXPECT(INVALID, medledger_checkpoint_cosign(n, nlen - 1, &lk, W, "w", 1, &buf));
    EXPECT(INVALID, medledger_checkpoint_cosign(n, nlen, &lk, W, "w w", 1, &buf));
    EXPECT(INVALID, medledger_checkpoint_cosign(n, nlen, &lk, W, "w", UINT64_MAX, &buf));
    const uint8_t not_utf8[] = "log\n\xff\n";
    EXPECT(MEDLEDGER_ERR_INVALID_UTF8,
           medledger_checkpoint_cosign(not_utf8, sizeof not_utf8 - 1, &lk, W, "w", 1, &buf));
    medledger_note_key bad_keys[4] = {
        {NULL, keys, false}, {"log", NULL, false}, {"a+b", keys, false}, {"log", nobody, false}};
    EXPECT(NULLP, medledger_checkpoint_cosign(n, nlen, &bad_keys[0], W, "w", 1, &buf));
    EXPECT_MESSAGE("log_key.name is NULL");
    EXPECT(NULLP, medledger_checkpoint_cosign(n, nlen, &bad_keys[1], W, "w", 1, &buf));
    EXPECT_MESSAGE("log_key.public_key is NULL");
    EXPECT(INVALID, medledger_checkpoint_cosign(n, nlen, &bad_keys[2], W, "w", 1, &buf));
    const uint8_t zero_key[32] = {0};
    bad_keys[3].public_key = zero_key;
    EXPECT(MEDLEDGER_ERR_WEAK_KEY, medledger_checkpoint_cosign(n, nlen, &bad_keys[3], W, "w", 1,
                                                               &buf));
    medledger_note_key two[2] = {lk, {NULL, keys, true}};
    EXPECT(NULLP, medledger_checkpoint_open(NULL, nlen, two, 1, &buf));
    EXPECT(NULLP, medledger_checkpoint_open(n, nlen, NULL, 1, &buf));
    EXPECT_MESSAGE("keys is NULL");
    EXPECT(NULLP, medledger_checkpoint_open(n, nlen, two, 2, &buf));
    EXPECT_MESSAGE("keys[1].name is NULL");
    EXPECT(NULLP, medledger_checkpoint_open(n, nlen, two, 1, NULL));
    EXPECT(INVALID, medledger_checkpoint_open(n, nlen, two, 0, &buf));
    EXPECT(INVALID, medledger_checkpoint_open(n, nlen, two, SIZE_MAX, &buf));
    EXPECT(INVALID, medledger_checkpoint_open(n, nlen, two, MEDLEDGER_MAX_NOTE_VERIFIERS + 1, &buf));
    EXPECT(INVALID, medledger_checkpoint_open(n, SIZE_MAX, two, 1, &buf));
    EXPECT(MEDLEDGER_ERR_INVALID_UTF8,
           medledger_checkpoint_open(not_utf8, sizeof not_utf8 - 1, two, 1, &buf));
    CHECK(buf == SENTINEL_PTR);
    OK(medledger_checkpoint_open(n, nlen, two, 1, &buf));
    medledger_buffer_free(buf);
    medledger_buffer_free(note);
}

static void block_and_report_calls(const consortium *c) {
    const medledger_ledger *L = c->ledger;
    const medledger_keypair *two[2] = {c->validators[1], c->validators[2]};
    uint64_t h = 777;

    EXPECT(NULLP, medledger_ledger_commit_block(NULL, two, 2, &h));
    EXPECT(NULLP, medledger_ledger_commit_block(L, NULL, 2, &h));
    EXPECT_MESSAGE("validators is NULL");
    EXPECT(NULLP, medledger_ledger_commit_block(L, two, 2, NULL));
    EXPECT_MESSAGE("out_height is NULL");
    const medledger_keypair *with_null[2] = {c->validators[1], NULL};
    EXPECT(NULLP, medledger_ledger_commit_block(L, with_null, 2, &h));
    EXPECT_MESSAGE("validators[1] is NULL");
    EXPECT(INVALID, medledger_ledger_commit_block(L, two, SIZE_MAX, &h));
    EXPECT(MEDLEDGER_ERR_MISSING_QUORUM, medledger_ledger_commit_block(L, two, 1, &h));
    EXPECT(MEDLEDGER_ERR_MISSING_QUORUM, medledger_ledger_commit_block(L, two, 0, &h));
    /* The same validator twice is one seal. */
    const medledger_keypair *twice[2] = {c->validators[1], c->validators[1]};
    EXPECT(MEDLEDGER_ERR_MISSING_QUORUM, medledger_ledger_commit_block(L, twice, 2, &h));
    const medledger_keypair *outsider[2] = {c->validators[1], c->hospital_a};
    EXPECT(MEDLEDGER_ERR_ACCESS_DENIED, medledger_ledger_commit_block(L, outsider, 2, &h));
    CHECK(h == 777);

    EXPECT(NULLP, medledger_ledger_head_height(NULL, &h));
    EXPECT(NULLP, medledger_ledger_head_height(L, NULL));
    CHECK(h == 777);
    uint8_t id[32];
    memset(id, MARK, 32);
    EXPECT(NULLP, medledger_ledger_id(NULL, id));
    EXPECT(NULLP, medledger_ledger_id(L, NULL));
    CHECK(all_marked(id, 32));

    medledger_report *r = SENTINEL_PTR;
    EXPECT(NULLP, medledger_ledger_verify(NULL, &r));
    EXPECT(NULLP, medledger_ledger_verify(L, NULL));
    EXPECT_MESSAGE("out_report is NULL");
    CHECK(r == SENTINEL_PTR);

    /* Accessors of a NULL report return neutral values. */
    CHECK(!medledger_report_ok(NULL));
    CHECK(medledger_report_blocks(NULL) == 0);
    CHECK(medledger_report_transactions(NULL) == 0);
    CHECK(medledger_report_records(NULL) == 0);
    CHECK(medledger_report_payloads(NULL) == 0);
    CHECK(medledger_report_erased(NULL) == 0);
    CHECK(medledger_report_erased_still_stored(NULL) == 0);
    CHECK(medledger_report_signatures(NULL) == 0);
    CHECK(medledger_report_fault_kind(NULL) == MEDLEDGER_FAULT_NONE);
    CHECK(medledger_report_fault_height(NULL) == 0);
    CHECK(medledger_report_fault_tx_index(NULL) == -1);
    CHECK(medledger_report_fault_record_index(NULL) == -1);
    CHECK(medledger_report_fault_offset(NULL) == -1);
    CHECK(medledger_report_fault_field(NULL) == NULL);
    CHECK(medledger_report_fault_message(NULL) == NULL);
    CHECK(medledger_report_summary(NULL) == NULL);

    /* After all this abuse the ledger is intact. */
    OK(medledger_ledger_verify(L, &r));
    CHECK(medledger_report_ok(r));
    medledger_report_free(r);
}

static void names_and_last_error(void) {
    CHECK(strcmp(medledger_status_name(4242), "MEDLEDGER_ERR_UNKNOWN") == 0);
    CHECK(strcmp(medledger_status_name(MEDLEDGER_ERR_PANIC), "MEDLEDGER_ERR_PANIC") == 0);
    CHECK(strcmp(medledger_fault_kind_name(4242), "unknown") == 0);
    CHECK(strcmp(medledger_fault_kind_name(MEDLEDGER_FAULT_NONE), "none") == 0);
    /* The message survives calls that return no status, and is cleared by
     * the next successful status-returning call. */
    EXPECT(NULLP, medledger_keypair_generate(NULL));
    medledger_keypair_free(NULL);
    (void)medledger_report_ok(NULL);
    CHECK(strcmp(medledger_last_error(), "out is NULL") == 0);
    medledger_keypair *kp = NULL;
    OK(medledger_keypair_generate(&kp));
    CHECK(strcmp(medledger_last_error(), "") == 0);
    medledger_keypair_free(kp);
}

int main(void) {
    consortium c;
    consortium_init(&c);
    uint8_t lab[32], imaging[32];
    append(&c, c.hospital_a, c.patient_id, "lab", "{\"v\":1}", lab);
    append(&c, c.hospital_b, c.patient_id, "imaging", "{\"v\":2}", imaging);
    commit(&c);

    keypair_calls(&c);
    create_calls(&c);
    register_calls(&c);
    record_calls(&c, lab, imaging);
    access_calls(&c, lab);
    batch_and_proof_calls(&c, lab);
    gap_calls(&c, lab);
    block_and_report_calls(&c);
    names_and_last_error();

    consortium_free(&c);
    printf("hostile: %lu checks passed\n", checks_passed);
    return 0;
}
