/*
 * Shared helpers of the C API tests: check macros that print the status
 * name and medledger_last_error() on failure, and the consortium of
 * tests/common/mod.rs (an admin, three validators with threshold 2, two
 * hospitals, two patients) built through the C API. The patient treats
 * with hospital A for every category and with hospital B for imaging only
 * (consents for TREAT, read/append/amend), so B is refused the patient's
 * lab records (MEDLEDGER_ERR_NO_CONSENT); the other patient consents to
 * nobody. Two validator keys are attached to the ledger, so audited reads
 * commit their own blocks.
 */
#ifndef MEDLEDGER_CAPI_TEST_COMMON_H
#define MEDLEDGER_CAPI_TEST_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "medledger.h"

static unsigned long checks_passed = 0;

#define FAIL(...)                                                              \
    do {                                                                       \
        fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                        \
        fprintf(stderr, __VA_ARGS__);                                          \
        fprintf(stderr, "\n  last error: \"%s\"\n", medledger_last_error());   \
        exit(1);                                                               \
    } while (0)

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) FAIL("CHECK failed: %s", #cond);                          \
        checks_passed++;                                                       \
    } while (0)

/* Expects `call` to return status `want`; on an error status also expects a
 * non-empty last-error message, and on OK an empty one. */
#define EXPECT(want, call)                                                     \
    do {                                                                       \
        medledger_status got_ = (call);                                        \
        if (got_ != (medledger_status)(want))                                  \
            FAIL("%s\n  returned %s (%u), expected %s", #call,                 \
                 medledger_status_name(got_), got_,                            \
                 medledger_status_name((medledger_status)(want)));             \
        const char *msg_ = medledger_last_error();                             \
        if (msg_ == NULL) FAIL("medledger_last_error() returned NULL");        \
        if ((got_ == MEDLEDGER_OK) != (msg_[0] == '\0'))                       \
            FAIL("%s: last error \"%s\" does not match status %u", #call,      \
                 msg_, got_);                                                  \
        checks_passed++;                                                       \
    } while (0)

#define OK(call) EXPECT(MEDLEDGER_OK, call)

/* The last error mentions `needle` (e.g. the name of the NULL argument). */
#define EXPECT_MESSAGE(needle)                                                 \
    do {                                                                       \
        if (strstr(medledger_last_error(), (needle)) == NULL)                  \
            FAIL("last error does not mention \"%s\"", (needle));              \
        checks_passed++;                                                       \
    } while (0)

/* The 64 lowercase hex digits of a 32-byte id or key. */
static inline void id_hex(const uint8_t id[MEDLEDGER_ID_LEN], char out[2 * MEDLEDGER_ID_LEN + 1]) {
    for (int i = 0; i < MEDLEDGER_ID_LEN; i++) snprintf(out + 2 * i, 3, "%02x", id[i]);
}

/* The text of a library buffer as a NUL-terminated copy; frees the buffer. */
static inline char *take_text(medledger_buffer *buf) {
    size_t n = medledger_buffer_len(buf);
    char *s = malloc(n + 1);
    CHECK(s != NULL);
    memcpy(s, medledger_buffer_data(buf), n);
    s[n] = '\0';
    medledger_buffer_free(buf);
    return s;
}

/* The unsigned integer after `"key":` in a JSON text. */
static inline uint64_t json_u64(const char *json, const char *key) {
    char needle[64];
    snprintf(needle, sizeof needle, "\"%s\":", key);
    const char *p = strstr(json, needle);
    if (p == NULL) FAIL("%s has no %s", json, needle);
    return strtoull(p + strlen(needle), NULL, 10);
}

/* `"key":"<hex of id>"` is in the JSON text. */
static inline void expect_hex_field(const char *json, const char *key,
                                    const uint8_t id[MEDLEDGER_ID_LEN]) {
    char h[2 * MEDLEDGER_ID_LEN + 1], needle[96];
    id_hex(id, h);
    snprintf(needle, sizeof needle, "\"%s\":\"%s\"", key, h);
    if (strstr(json, needle) == NULL) FAIL("%s lacks %s", json, needle);
    checks_passed++;
}

typedef struct {
    medledger_keypair *admin;
    medledger_keypair *validators[3];
    medledger_keypair *hospital_a;
    medledger_keypair *hospital_b;
    medledger_keypair *patient;
    medledger_keypair *other_patient;
    medledger_ledger *ledger;
    uint8_t patient_id[MEDLEDGER_ID_LEN];
    uint8_t other_patient_id[MEDLEDGER_ID_LEN];
} consortium;

static inline medledger_keypair *new_keypair(void) {
    medledger_keypair *kp = NULL;
    OK(medledger_keypair_generate(&kp));
    CHECK(kp != NULL);
    return kp;
}

static inline void register_participant(const consortium *c,
                                        const medledger_keypair *kp,
                                        uint32_t roles, const char *label) {
    uint8_t sign[MEDLEDGER_PUBLIC_KEY_LEN], enc[MEDLEDGER_PUBLIC_KEY_LEN];
    OK(medledger_keypair_public_keys(kp, sign, enc));
    OK(medledger_ledger_register(c->ledger, c->admin, sign, enc, roles, label, 0));
}

#define YEAR_MS (365ull * 24 * 3600 * 1000)
/* The default longest break-glass window, for the create functions. */
#define BG_MAX MEDLEDGER_DEFAULT_MAX_BREAK_GLASS_MS
#define ALL_ACTIONS (MEDLEDGER_ACTION_READ | MEDLEDGER_ACTION_APPEND | MEDLEDGER_ACTION_AMEND)

static inline uint64_t ledger_now(const medledger_ledger *l) {
    uint64_t now = 0;
    OK(medledger_ledger_now(l, &now));
    CHECK(now > 1600000000000ull); /* after 2020 */
    return now;
}

/* `patient` grants `grantee_id` a treating relationship over `categories`
 * ("*" for all) for a year; the consent id goes to `out_id` (may be NULL). */
static inline void grant_treating(const medledger_ledger *l, const medledger_keypair *patient,
                                  const uint8_t *grantee_id, const char *categories,
                                  uint8_t *out_id) {
    uint8_t patient_id[MEDLEDGER_ID_LEN], id[MEDLEDGER_ID_LEN];
    OK(medledger_keypair_id(patient, patient_id));
    uint64_t now = ledger_now(l);
    OK(medledger_ledger_grant(l, patient, patient_id, grantee_id, ALL_ACTIONS, "TREAT",
                              categories, NULL, 0, now - 1000, now + YEAR_MS, id));
    if (out_id) memcpy(out_id, id, MEDLEDGER_ID_LEN);
}

/* Attaches validators 0 and 2 to the ledger (reads and erasures commit). */
static inline void attach_validators(const medledger_ledger *l, const consortium *c) {
    const medledger_keypair *keys[2] = {c->validators[0], c->validators[2]};
    OK(medledger_ledger_attach_validators(l, keys, 2));
}

/* Seals pending transactions with validators 0 and 2; returns the height. */
static inline uint64_t commit(const consortium *c) {
    const medledger_keypair *quorum[2] = {c->validators[0], c->validators[2]};
    uint64_t height = 0;
    OK(medledger_ledger_commit_block(c->ledger, quorum, 2, &height));
    return height;
}

/* Generates every key of the consortium (no ledger yet). */
static inline void consortium_keys(consortium *c) {
    memset(c, 0, sizeof *c);
    c->admin = new_keypair();
    for (int i = 0; i < 3; i++) c->validators[i] = new_keypair();
    c->hospital_a = new_keypair();
    c->hospital_b = new_keypair();
    c->patient = new_keypair();
    c->other_patient = new_keypair();
    OK(medledger_keypair_id(c->patient, c->patient_id));
    OK(medledger_keypair_id(c->other_patient, c->other_patient_id));
}

/* The genesis founders: the admin and three validators (threshold 2). */
static inline void consortium_founders(const consortium *c, medledger_founder out[4]) {
    out[0] = (medledger_founder){c->admin, MEDLEDGER_ROLE_ADMIN, "registration desk", 0};
    out[1] = (medledger_founder){c->validators[0], MEDLEDGER_ROLE_VALIDATOR, "validator 0", 0};
    out[2] = (medledger_founder){c->validators[1], MEDLEDGER_ROLE_VALIDATOR, "validator 1", 0};
    out[3] = (medledger_founder){c->validators[2], MEDLEDGER_ROLE_VALIDATOR, "validator 2", 0};
}

/* Registers the hospitals and patients on c->ledger, grants the patient's
 * consents (A: every category, B: imaging), attaches two validator keys and
 * commits block 1. */
static inline void consortium_register(consortium *c) {
    register_participant(c, c->hospital_a, MEDLEDGER_ROLE_PROVIDER, "hospital A EHR");
    register_participant(c, c->hospital_b, MEDLEDGER_ROLE_PROVIDER, "hospital B EHR");
    register_participant(c, c->patient, MEDLEDGER_ROLE_PATIENT, "patient app 1");
    register_participant(c, c->other_patient, MEDLEDGER_ROLE_PATIENT, "patient app 2");
    uint8_t a[MEDLEDGER_ID_LEN], b[MEDLEDGER_ID_LEN];
    OK(medledger_keypair_id(c->hospital_a, a));
    OK(medledger_keypair_id(c->hospital_b, b));
    grant_treating(c->ledger, c->patient, a, "*", NULL);
    grant_treating(c->ledger, c->patient, b, "imaging", NULL);
    attach_validators(c->ledger, c);
    CHECK(commit(c) == 1);
}

/* The consortium on a ledger held in memory. */
static inline void consortium_init(consortium *c) {
    consortium_keys(c);
    medledger_founder founders[4];
    consortium_founders(c, founders);
    const medledger_keypair *sealers[2] = {c->validators[0], c->validators[1]};
    OK(medledger_ledger_create_in_memory("test consortium", 2, BG_MAX, founders, 4,
                                         sealers, 2, &c->ledger));
    CHECK(c->ledger != NULL);
    consortium_register(c);
}

static inline void consortium_free(consortium *c) {
    medledger_ledger_free(c->ledger);
    medledger_keypair_free(c->admin);
    for (int i = 0; i < 3; i++) medledger_keypair_free(c->validators[i]);
    medledger_keypair_free(c->hospital_a);
    medledger_keypair_free(c->hospital_b);
    medledger_keypair_free(c->patient);
    medledger_keypair_free(c->other_patient);
    memset(c, 0, sizeof *c);
}

/* Appends a FHIR-ish record by `author` for `patient_id`; returns its id in
 * `out_id`. */
static inline void append(const consortium *c, const medledger_keypair *author,
                          const uint8_t *patient_id, const char *category,
                          const char *payload, uint8_t out_id[MEDLEDGER_ID_LEN]) {
    OK(medledger_ledger_append_record(c->ledger, author, patient_id, category,
                                      "application/fhir+json",
                                      (const uint8_t *)payload, strlen(payload),
                                      out_id));
}

/* Reads a record for `purpose` and checks its plaintext equals `want`. */
static inline void expect_plaintext_for(const consortium *c,
                                        const medledger_keypair *reader,
                                        const uint8_t id[MEDLEDGER_ID_LEN],
                                        const char *purpose, const char *want) {
    medledger_buffer *buf = NULL;
    OK(medledger_ledger_read_record(c->ledger, reader, id, purpose, &buf));
    CHECK(buf != NULL);
    CHECK(medledger_buffer_len(buf) == strlen(want));
    CHECK(memcmp(medledger_buffer_data(buf), want, strlen(want)) == 0);
    medledger_buffer_free(buf);
}

/* Reads a record for treatment and checks its plaintext equals `want`. */
static inline void expect_plaintext(const consortium *c,
                                    const medledger_keypair *reader,
                                    const uint8_t id[MEDLEDGER_ID_LEN],
                                    const char *want) {
    expect_plaintext_for(c, reader, id, "TREAT", want);
}

/* The next entry of a medledger_ledger_read_records result at `*off` in
 * the `len` bytes at `buf`: its status, data and data length; advances
 * `*off` past it. Fails the test on a truncated entry. */
static inline void next_read_entry(const uint8_t *buf, size_t len, size_t *off,
                                   uint32_t *status, const uint8_t **data, uint64_t *n) {
    if (len - *off < MEDLEDGER_READ_RESULT_HEADER_LEN) FAIL("truncated entry header at %zu", *off);
    memcpy(status, buf + *off, 4); /* little-endian, as the test machines */
    memcpy(n, buf + *off + 4, 8);
    *off += MEDLEDGER_READ_RESULT_HEADER_LEN;
    if (*n > len - *off) FAIL("entry data of %llu bytes past the end", (unsigned long long)*n);
    *data = buf + *off;
    *off += (size_t)*n;
}

#endif
