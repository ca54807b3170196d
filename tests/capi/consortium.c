/*
 * Consortium replication through the C API, every ledger in this process:
 * ledger A (in memory) commits blocks; B joins from A's genesis in a
 * mkdtemp directory and catches up through medledger_node_handle carried
 * by a C callback (the caller's "transport"); C imports exported blocks
 * one by one (already-have, tampered ciphertext and header refused with
 * the head unchanged); A proposes a block that B's node co-signs; D
 * commits a different block 1 with the same validator keys, so importing
 * A's block 1 yields equivocation evidence naming both validators, and a
 * node catching up from A keeps it. Then the node outlives its ledger
 * handle, and hostile calls: NULLs, huge lengths, bad addresses and
 * timeouts, invalid UTF-8, an unreachable TCP peer, failing callbacks, a
 * key outside the validator set, the wrong ledger id, garbage requests;
 * out-parameters untouched on failure. Last, a validator-set change that
 * needs the operators' approval before nodes propose and seal it.
 */
#define _XOPEN_SOURCE 700 /* mkdtemp, nftw */

#include <ftw.h>
#include <stdint.h>
#include <unistd.h>

#include "common.h"

#define NULLP MEDLEDGER_ERR_NULL_POINTER
#define INVALID MEDLEDGER_ERR_INVALID_ARGUMENT
#define UNREACHABLE MEDLEDGER_ERR_PEER_UNREACHABLE
#define SENTINEL ((medledger_buffer *)(uintptr_t)0x5a5a5a5a)
#define NODE_SENTINEL ((medledger_node *)(uintptr_t)0x5a5a5a5a)

static const char *LAB = "{\"resourceType\":\"Observation\",\"valueQuantity\":{\"value\":6.8}}";

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* ---- transports --------------------------------------------------------- */

/* The caller's transport to a node in this process: hands the request to
 * medledger_node_handle and returns its response buffer. */
static medledger_status to_node(void *context, const uint8_t *request, size_t request_len,
                                medledger_buffer **out_response) {
    return medledger_node_handle((const medledger_node *)context, request, request_len,
                                 out_response);
}

/* A transport whose peer is down. */
static medledger_status down(void *context, const uint8_t *request, size_t request_len,
                             medledger_buffer **out_response) {
    (void)context, (void)request, (void)request_len, (void)out_response;
    return MEDLEDGER_ERR_SYSTEM;
}

/* A broken transport: claims success, returns nothing. */
static medledger_status silent(void *context, const uint8_t *request, size_t request_len,
                               medledger_buffer **out_response) {
    (void)context, (void)request, (void)request_len, (void)out_response;
    return MEDLEDGER_OK;
}

/* A transport that copies the response through medledger_buffer_new, as
 * one receiving the bytes from a socket would. */
static medledger_status copying(void *context, const uint8_t *request, size_t request_len,
                                medledger_buffer **out_response) {
    medledger_buffer *resp = NULL;
    medledger_status s =
        medledger_node_handle((const medledger_node *)context, request, request_len, &resp);
    if (s != MEDLEDGER_OK) return s;
    s = medledger_buffer_new(medledger_buffer_data(resp), medledger_buffer_len(resp),
                             out_response);
    medledger_buffer_free(resp);
    return s;
}

/* ---- helpers ------------------------------------------------------------ */

static uint64_t head(const medledger_ledger *l) {
    uint64_t h = 0;
    OK(medledger_ledger_head_height(l, &h));
    return h;
}

static medledger_buffer *export_block(const medledger_ledger *l, uint64_t height) {
    medledger_buffer *b = NULL;
    OK(medledger_ledger_export_block(l, height, &b));
    CHECK(b != NULL && medledger_buffer_len(b) > 0);
    return b;
}

static medledger_ledger *join(const char *dir, const medledger_ledger *from) {
    uint8_t id[MEDLEDGER_ID_LEN];
    OK(medledger_ledger_id(from, id));
    medledger_buffer *genesis = export_block(from, 0);
    medledger_ledger *l = NULL;
    OK(medledger_ledger_join_dir(dir, medledger_buffer_data(genesis), medledger_buffer_len(genesis),
                                 id, &l));
    CHECK(l != NULL);
    CHECK(head(l) == 0);
    medledger_buffer_free(genesis);
    return l;
}

static medledger_node *new_node(const medledger_ledger *l, const medledger_keypair *key) {
    medledger_node *n = NULL;
    if (key) {
        const medledger_keypair *keys[1] = {key};
        OK(medledger_node_new(l, keys, 1, &n));
    } else {
        OK(medledger_node_new(l, NULL, 0, &n));
    }
    CHECK(n != NULL);
    return n;
}

static medledger_status import(const medledger_ledger *l, const medledger_buffer *shipped,
                               medledger_import_result *r, medledger_buffer **evidence) {
    return medledger_ledger_import_block(l, medledger_buffer_data(shipped),
                                         medledger_buffer_len(shipped), r, evidence);
}

/* A copy of `b` with the byte at `at` (from the end when negative) flipped. */
static uint8_t *flipped(const medledger_buffer *b, long at) {
    size_t n = medledger_buffer_len(b);
    uint8_t *copy = malloc(n);
    CHECK(copy != NULL);
    memcpy(copy, medledger_buffer_data(b), n);
    size_t i = at < 0 ? n - (size_t)(-at) : (size_t)at;
    CHECK(i < n);
    copy[i] ^= 0x01;
    return copy;
}

static void hex(const uint8_t *in, size_t n, char *out) {
    for (size_t i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", in[i]);
}

/* The JSON text of a buffer (NUL-terminated copy); free() it. */
static char *json_text(const medledger_buffer *b) {
    size_t n = medledger_buffer_len(b);
    char *s = malloc(n + 1);
    CHECK(s != NULL);
    memcpy(s, medledger_buffer_data(b), n);
    s[n] = '\0';
    return s;
}

static void expect_guilty(const char *json, const medledger_keypair *validator) {
    uint8_t id[MEDLEDGER_ID_LEN];
    char h[2 * MEDLEDGER_ID_LEN + 1];
    OK(medledger_keypair_id(validator, id));
    hex(id, sizeof id, h);
    if (strstr(json, h) == NULL) FAIL("%s does not name validator %s", json, h);
    checks_passed++;
}

/* ---- validator-set changes ---------------------------------------------- */

/* The 32-byte signing keys of `n` keypairs, back to back. */
static void signing_keys(const medledger_keypair *const *kps, size_t n, uint8_t *out) {
    uint8_t enc[MEDLEDGER_PUBLIC_KEY_LEN];
    for (size_t i = 0; i < n; i++) OK(medledger_keypair_public_keys(kps[i], out + 32 * i, enc));
}

/* A consortium of three validators (threshold 2) retires validator 2: the
 * proposer's node refuses to propose the change until its operator
 * approves it, B's node refuses to seal it until B's operator does, and
 * once committed the new set governs the next blocks. Then a change
 * sealed with commit_block raises the threshold. */
static void validator_set_change(const char *root) {
    char dir[96];
    snprintf(dir, sizeof dir, "%s/valset", root);
    consortium v;
    consortium_init(&v);
    medledger_ledger *b = join(dir, v.ledger);
    medledger_node *node_a = new_node(v.ledger, v.validators[0]);
    medledger_node *node_b = new_node(b, v.validators[1]);
    medledger_peer peer_a = {to_node, node_a}, peer_b = {to_node, node_b};
    medledger_sync_report rep;
    OK(medledger_node_sync(node_b, &peer_a, &rep));
    CHECK(head(b) == 1);

    /* The set's hash: the same for its keys in any order, another for
     * another threshold or membership. */
    const medledger_keypair *kept[2] = {v.validators[0], v.validators[1]};
    const medledger_keypair *swapped[2] = {v.validators[1], v.validators[0]};
    uint8_t keys[2 * 32], keys_swapped[2 * 32], all_keys[3 * 32];
    signing_keys(kept, 2, keys);
    signing_keys(swapped, 2, keys_swapped);
    signing_keys((const medledger_keypair *const *)v.validators, 3, all_keys);
    uint8_t hash[32], other[32];
    OK(medledger_validator_set_hash(2, keys, 2, hash));
    OK(medledger_validator_set_hash(2, keys_swapped, 2, other));
    CHECK(memcmp(hash, other, 32) == 0);
    OK(medledger_validator_set_hash(1, keys, 2, other));
    CHECK(memcmp(hash, other, 32) != 0);
    OK(medledger_validator_set_hash(2, all_keys, 3, other));
    CHECK(memcmp(hash, other, 32) != 0);

    OK(medledger_ledger_set_validators(v.ledger, v.admin, 2, keys_swapped, 2));
    bool committed = true;
    uint64_t height = 77;
    /* Not approved by A's operator: A does not even propose it. */
    EXPECT(MEDLEDGER_ERR_ACCESS_DENIED,
           medledger_node_propose_round(node_a, &peer_b, 1, &committed, &height));
    EXPECT_MESSAGE("not approved");
    CHECK(committed && height == 77 && head(v.ledger) == 1);
    /* A approves, B does not: B withholds its seal, no quorum. */
    OK(medledger_node_approve_validator_set(node_a, hash));
    OK(medledger_node_approve_validator_set(node_a, hash)); /* twice is harmless */
    EXPECT(MEDLEDGER_ERR_MISSING_QUORUM,
           medledger_node_propose_round(node_a, &peer_b, 1, &committed, &height));
    CHECK(head(v.ledger) == 1 && head(b) == 1);
    /* Approving another set does not help. */
    OK(medledger_node_approve_validator_set(node_b, other));
    EXPECT(MEDLEDGER_ERR_MISSING_QUORUM,
           medledger_node_propose_round(node_a, &peer_b, 1, &committed, &height));
    /* With B's approval the change commits, sealed by the old set; but
     * first B is told its proposer is validator 2, so it refuses A's
     * proposal; then validator 0 (A), and it seals. */
    OK(medledger_node_approve_validator_set(node_b, hash));
    uint8_t proposer_ids[2 * MEDLEDGER_ID_LEN];
    OK(medledger_keypair_id(v.validators[2], proposer_ids));
    OK(medledger_node_accept_proposals_from(node_b, proposer_ids, 1));
    EXPECT(MEDLEDGER_ERR_MISSING_QUORUM,
           medledger_node_propose_round(node_a, &peer_b, 1, &committed, &height));
    CHECK(head(v.ledger) == 1 && head(b) == 1);
    OK(medledger_keypair_id(v.validators[0], proposer_ids + MEDLEDGER_ID_LEN));
    OK(medledger_node_accept_proposals_from(node_b, proposer_ids, 2));
    OK(medledger_node_propose_round(node_a, &peer_b, 1, &committed, &height));
    CHECK(committed && height == 2 && head(v.ledger) == 2 && head(b) == 2);

    /* From block 3 on, validator 2 is out: its seal no longer counts. */
    uint8_t rid[MEDLEDGER_ID_LEN];
    append(&v, v.hospital_a, v.patient_id, "lab", LAB, rid);
    const medledger_keypair *with_retired[2] = {v.validators[0], v.validators[2]};
    EXPECT(MEDLEDGER_ERR_ACCESS_DENIED,
           medledger_ledger_commit_block(v.ledger, with_retired, 2, &height));
    OK(medledger_ledger_commit_block(v.ledger, kept, 2, &height));
    CHECK(height == 3);

    /* A change sealed directly with commit_block: back to three members,
     * threshold 3, in force from the block after. */
    OK(medledger_ledger_set_validators(v.ledger, v.admin, 3, all_keys, 3));
    OK(medledger_ledger_commit_block(v.ledger, kept, 2, &height));
    CHECK(height == 4);
    append(&v, v.hospital_a, v.patient_id, "lab", LAB, rid);
    EXPECT(MEDLEDGER_ERR_MISSING_QUORUM, medledger_ledger_commit_block(v.ledger, kept, 2, &height));
    OK(medledger_ledger_commit_block(v.ledger, (const medledger_keypair *const *)v.validators, 3,
                                     &height));
    CHECK(height == 5);

    /* B follows and verifies every change. */
    OK(medledger_node_sync(node_b, &peer_a, &rep));
    CHECK(rep.blocks == 3 && head(b) == 5);
    medledger_report *report = NULL;
    OK(medledger_ledger_verify(b, &report));
    CHECK(medledger_report_ok(report));
    medledger_report_free(report);

    medledger_node_free(node_a);
    medledger_node_free(node_b);
    medledger_ledger_free(b);
    consortium_free(&v);
}

/* ---- blocks by hand ------------------------------------------------------ */

static uint64_t le64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* Offsets in an encoded header (docs/FORMAT.md). */
#define HDR_LEDGER_ID 2
#define HDR_HEIGHT 34
#define HDR_PREV_HASH 42
#define HDR_TIMESTAMP 74
#define HDR_TX_COUNT 90
#define HDR_LOG_ROOT 102

/* B replicates A's block 1, then takes A's next two transactions (a
 * registration and a record with its ciphertext) as bytes signed
 * elsewhere, proposes, seals by hand with validators 0 and 2 and commits:
 * its log is then A's. Every refusal on the way is checked. */
static void blocks_by_hand(const char *root) {
    char dir[96];
    snprintf(dir, sizeof dir, "%s/by-hand", root);
    consortium c;
    consortium_init(&c);
    medledger_ledger *a = c.ledger, *b = join(dir, a);
    medledger_buffer *block1 = export_block(a, 1), *evidence = SENTINEL, *out = SENTINEL;
    medledger_import_result r;
    OK(import(b, block1, &r, &evidence));
    medledger_buffer_free(block1);

    /* The validator set: threshold, hash, members in index order. */
    OK(medledger_ledger_validators_json(b, &out));
    char *set = take_text(out);
    uint8_t keys[3 * 32], set_hash[32];
    signing_keys((const medledger_keypair *const *)c.validators, 3, keys);
    OK(medledger_validator_set_hash(2, keys, 3, set_hash));
    CHECK(json_u64(set, "threshold") == 2);
    expect_hex_field(set, "hash", set_hash);
    const char *at[3];
    for (int i = 0; i < 3; i++) {
        uint8_t id[32];
        OK(medledger_keypair_id(c.validators[i], id));
        expect_hex_field(set, "key", keys + 32 * i);
        expect_hex_field(set, "id", id);
        char h[65];
        hex(keys + 32 * i, 32, h);
        at[i] = strstr(set, h);
    }
    uint32_t index[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) index[i] += at[j] < at[i];
    CHECK(index[0] + index[1] + index[2] == 3 && index[0] != index[1] && index[1] != index[2] &&
          index[0] != index[2]);
    free(set);

    /* A participant: roles, label, current keys; unknown ids are not found. */
    uint8_t a_id[32], a_sign[32], a_enc[32];
    OK(medledger_keypair_id(c.hospital_a, a_id));
    OK(medledger_keypair_public_keys(c.hospital_a, a_sign, a_enc));
    OK(medledger_ledger_participant_json(b, a_id, &out));
    char *a_who = take_text(out);
    expect_hex_field(a_who, "id", a_id);
    expect_hex_field(a_who, "sign_key", a_sign);
    expect_hex_field(a_who, "enc_key", a_enc);
    CHECK(json_u64(a_who, "roles") == MEDLEDGER_ROLE_PROVIDER);
    CHECK(strstr(a_who, "\"label\":\"hospital A EHR\"") &&
          strstr(a_who, "\"escrow_opt_out\":false"));
    free(a_who);
    out = SENTINEL;
    uint8_t nobody[32] = {7};
    EXPECT(MEDLEDGER_ERR_NOT_FOUND, medledger_ledger_participant_json(b, nobody, &out));
    CHECK(out == SENTINEL);

    /* On A: a registration and a record, committed in block 2. */
    uint64_t first = 0;
    OK(medledger_ledger_log_size(a, &first));
    medledger_keypair *lab = new_keypair();
    uint8_t lab_id[32], rid[32];
    OK(medledger_keypair_id(lab, lab_id));
    uint8_t lab_sign[32], lab_enc[32];
    OK(medledger_keypair_public_keys(lab, lab_sign, lab_enc));
    OK(medledger_ledger_register(a, c.admin, lab_sign, lab_enc, MEDLEDGER_ROLE_PROVIDER,
                                 "lab system", 0));
    append(&c, c.hospital_a, c.patient_id, "lab", LAB, rid);
    CHECK(commit(&c) == 2);
    medledger_buffer *reg_tx = NULL, *rec_tx = NULL;
    OK(medledger_ledger_transaction(a, first, &reg_tx));
    OK(medledger_ledger_transaction(a, first + 1, &rec_tx));
    OK(medledger_ledger_record_info_json(a, rid, &out));
    char *info = take_text(out);
    const size_t ct_len = (size_t)json_u64(info, "ciphertext_len");
    free(info);
    medledger_buffer *block2 = export_block(a, 2); /* its one ciphertext ends it */
    CHECK(medledger_buffer_len(block2) > ct_len);
    const uint8_t *ct = medledger_buffer_data(block2) + medledger_buffer_len(block2) - ct_len;

    /* Submitted to B: garbage, a record without (or with a cut) ciphertext
     * are refused; the real ones become pending at A's leaves; a repeat is
     * a replay. */
    uint64_t leaf = 777;
    const uint8_t *payloads[2] = {ct, ct};
    size_t lens[2] = {ct_len, ct_len - 1};
    const uint8_t junk[3] = {2, 0, 1}; /* version 2, then cut short */
    EXPECT(MEDLEDGER_ERR_MALFORMED, medledger_ledger_submit(b, junk, 3, payloads, lens, 0, &leaf));
    EXPECT(MEDLEDGER_ERR_REJECTED,
           medledger_ledger_submit(b, medledger_buffer_data(rec_tx), medledger_buffer_len(rec_tx),
                                   payloads, lens, 0, &leaf));
    EXPECT_MESSAGE("not supplied");
    EXPECT(MEDLEDGER_ERR_REJECTED,
           medledger_ledger_submit(b, medledger_buffer_data(rec_tx), medledger_buffer_len(rec_tx),
                                   payloads + 1, lens + 1, 1, &leaf));
    CHECK(leaf == 777);
    OK(medledger_ledger_submit(b, medledger_buffer_data(reg_tx), medledger_buffer_len(reg_tx),
                               payloads, lens, 0, &leaf));
    CHECK(leaf == first);
    EXPECT(MEDLEDGER_ERR_REJECTED,
           medledger_ledger_submit(b, medledger_buffer_data(reg_tx), medledger_buffer_len(reg_tx),
                                   payloads, lens, 0, &leaf));
    OK(medledger_ledger_submit(b, medledger_buffer_data(rec_tx), medledger_buffer_len(rec_tx),
                               payloads, lens, 1, &leaf));
    CHECK(leaf == first + 1);
    /* A committed transaction submitted to its own ledger is a replay. */
    EXPECT(MEDLEDGER_ERR_REJECTED,
           medledger_ledger_submit(a, medledger_buffer_data(reg_tx), medledger_buffer_len(reg_tx),
                                   payloads, lens, 0, &leaf));
    CHECK(leaf == first + 1);
    /* The ledger's state takes accepted transactions in at once: the
     * participant registered by the pending one is there. */
    OK(medledger_ledger_participant_json(b, lab_id, &out));
    char *who = take_text(out);
    CHECK(strstr(who, "\"label\":\"lab system\"") != NULL);
    CHECK(json_u64(who, "roles") == MEDLEDGER_ROLE_PROVIDER);
    expect_hex_field(who, "sign_key", lab_sign);
    free(who);

    /* The proposal extends B's head over both transactions and reaches
     * A's log root. */
    OK(medledger_ledger_head_json(b, &out));
    char *head1 = take_text(out);
    CHECK(json_u64(head1, "height") == 1);
    medledger_buffer *proposal = NULL;
    OK(medledger_ledger_propose(b, &proposal));
    CHECK(medledger_buffer_len(proposal) == MEDLEDGER_HEADER_LEN);
    uint8_t header[MEDLEDGER_HEADER_LEN];
    memcpy(header, medledger_buffer_data(proposal), MEDLEDGER_HEADER_LEN);
    medledger_buffer_free(proposal);
    uint8_t ledger_id[32], root_a[32];
    OK(medledger_ledger_id(b, ledger_id));
    OK(medledger_ledger_log_root(a, first + 2, root_a));
    CHECK(memcmp(header + HDR_LEDGER_ID, ledger_id, 32) == 0);
    CHECK(le64(header + HDR_HEIGHT) == 2);
    expect_hex_field(head1, "hash", header + HDR_PREV_HASH);
    CHECK(header[HDR_TX_COUNT] == 2);
    CHECK(memcmp(header + HDR_LOG_ROOT, root_a, 32) == 0);
    free(head1);

    /* Seals: validators 0 and 2 at their indices (listed high first). */
    uint8_t seals[2 * MEDLEDGER_SEAL_LEN];
    OK(medledger_seal_header(header, sizeof header, c.validators[2], index[2], seals));
    OK(medledger_seal_header(header, sizeof header, c.validators[0], index[0],
                             seals + MEDLEDGER_SEAL_LEN));
    CHECK(seals[0] == index[2] && seals[1] == 0);
    /* Below the threshold; the same seal twice; a key at another's index;
     * a seal over another header; a modified header. */
    EXPECT(MEDLEDGER_ERR_MISSING_QUORUM,
           medledger_ledger_commit(b, header, sizeof header, seals, 1));
    EXPECT(MEDLEDGER_ERR_MISSING_QUORUM,
           medledger_ledger_commit(b, header, sizeof header, seals, 0));
    uint8_t wrong[2 * MEDLEDGER_SEAL_LEN];
    memcpy(wrong, seals, MEDLEDGER_SEAL_LEN);
    memcpy(wrong + MEDLEDGER_SEAL_LEN, seals, MEDLEDGER_SEAL_LEN);
    EXPECT(INVALID, medledger_ledger_commit(b, header, sizeof header, wrong, 2));
    OK(medledger_seal_header(header, sizeof header, c.validators[0], index[1],
                             wrong + MEDLEDGER_SEAL_LEN));
    EXPECT(INVALID, medledger_ledger_commit(b, header, sizeof header, wrong, 2));
    uint8_t other[MEDLEDGER_HEADER_LEN];
    memcpy(other, header, sizeof other);
    other[HDR_TIMESTAMP] ^= 1;
    OK(medledger_seal_header(other, sizeof other, c.validators[0], index[0],
                             wrong + MEDLEDGER_SEAL_LEN));
    EXPECT(INVALID, medledger_ledger_commit(b, header, sizeof header, wrong, 2));
    EXPECT(INVALID, medledger_ledger_commit(b, other, sizeof other, seals, 2));
    other[HDR_TIMESTAMP] ^= 1;
    other[0] ^= 0x40; /* format version */
    EXPECT(MEDLEDGER_ERR_UNSUPPORTED_VERSION,
           medledger_ledger_commit(b, other, sizeof other, seals, 2));
    EXPECT(MEDLEDGER_ERR_UNSUPPORTED_VERSION,
           medledger_seal_header(other, sizeof other, c.validators[0], 0, wrong));
    /* Lengths and counts are checked before reading; out_seal untouched. */
    uint8_t seal_out[MEDLEDGER_SEAL_LEN];
    memset(seal_out, 0xa5, sizeof seal_out);
    EXPECT(INVALID, medledger_seal_header(header, sizeof header - 1, c.validators[0], 0, seal_out));
    EXPECT(INVALID, medledger_seal_header(header, SIZE_MAX, c.validators[0], 0, seal_out));
    EXPECT(INVALID, medledger_seal_header(header, sizeof header, c.validators[0], 65536, seal_out));
    EXPECT(NULLP, medledger_seal_header(NULL, sizeof header, c.validators[0], 0, seal_out));
    EXPECT(NULLP, medledger_seal_header(header, sizeof header, NULL, 0, seal_out));
    EXPECT(NULLP, medledger_seal_header(header, sizeof header, c.validators[0], 0, NULL));
    CHECK(seal_out[0] == 0xa5 && seal_out[MEDLEDGER_SEAL_LEN - 1] == 0xa5);
    EXPECT(INVALID, medledger_ledger_commit(b, header, sizeof header + 1, seals, 2));
    EXPECT(INVALID, medledger_ledger_commit(b, header, sizeof header, seals, SIZE_MAX));
    EXPECT(INVALID, medledger_ledger_commit(b, header, sizeof header, seals, 257));
    EXPECT(NULLP, medledger_ledger_commit(NULL, header, sizeof header, seals, 2));
    EXPECT(NULLP, medledger_ledger_commit(b, NULL, sizeof header, seals, 2));
    EXPECT(NULLP, medledger_ledger_commit(b, header, sizeof header, NULL, 0));
    CHECK(head(b) == 1);

    OK(medledger_ledger_commit(b, header, sizeof header, seals, 2));
    CHECK(head(b) == 2);
    /* Committed: the proposal is stale now. */
    EXPECT(INVALID, medledger_ledger_commit(b, header, sizeof header, seals, 2));
    OK(medledger_ledger_head_json(b, &out));
    char *head2 = take_text(out);
    CHECK(json_u64(head2, "height") == 2 && json_u64(head2, "tx_count") == 2);
    CHECK(json_u64(head2, "log_size") == first + 2 && json_u64(head2, "first_leaf") == first);
    CHECK(json_u64(head2, "timestamp") == le64(header + HDR_TIMESTAMP));
    expect_hex_field(head2, "log_root", root_a);
    expect_hex_field(head2, "ledger_id", ledger_id);
    expect_hex_field(head2, "validator_set_hash", set_hash);
    free(head2);
    /* The record arrived with its ciphertext, and B's chain verifies. */
    OK(medledger_ledger_check_served(b, rid, ct, ct_len));
    medledger_report *report = NULL;
    OK(medledger_ledger_verify(b, &report));
    CHECK(medledger_report_ok(report) && medledger_report_blocks(report) == 3);
    CHECK(medledger_report_payloads(report) == 1);
    medledger_report_free(report);

    /* Hostile: NULLs, huge counts, lengths past their limits. */
    out = SENTINEL;
    leaf = 777;
    size_t huge[1] = {SIZE_MAX};
    const uint8_t *holes[1] = {NULL};
    EXPECT(NULLP, medledger_ledger_submit(NULL, junk, 3, payloads, lens, 0, &leaf));
    EXPECT(NULLP, medledger_ledger_submit(b, NULL, 5, payloads, lens, 0, &leaf));
    EXPECT(NULLP, medledger_ledger_submit(b, junk, 3, NULL, lens, 0, &leaf));
    EXPECT(NULLP, medledger_ledger_submit(b, junk, 3, payloads, NULL, 0, &leaf));
    EXPECT(NULLP, medledger_ledger_submit(b, junk, 3, holes, lens, 1, &leaf));
    EXPECT_MESSAGE("payloads[0]");
    EXPECT(NULLP, medledger_ledger_submit(b, junk, 3, payloads, lens, 0, NULL));
    EXPECT(INVALID, medledger_ledger_submit(b, junk, SIZE_MAX, payloads, lens, 0, &leaf));
    EXPECT(INVALID, medledger_ledger_submit(b, junk, 3, payloads, lens, SIZE_MAX, &leaf));
    EXPECT(INVALID, medledger_ledger_submit(b, junk, 3, payloads, lens,
                                            MEDLEDGER_MAX_SUBMIT_PAYLOADS + 1, &leaf));
    EXPECT(INVALID, medledger_ledger_submit(b, junk, 3, payloads, huge, 1, &leaf));
    EXPECT(NULLP, medledger_ledger_propose(NULL, &out));
    EXPECT(NULLP, medledger_ledger_propose(b, NULL));
    EXPECT(NULLP, medledger_ledger_participant_json(NULL, lab_id, &out));
    EXPECT(NULLP, medledger_ledger_participant_json(b, NULL, &out));
    EXPECT(NULLP, medledger_ledger_participant_json(b, lab_id, NULL));
    EXPECT(NULLP, medledger_ledger_validators_json(NULL, &out));
    EXPECT(NULLP, medledger_ledger_validators_json(b, NULL));
    EXPECT(NULLP, medledger_ledger_head_json(NULL, &out));
    EXPECT(NULLP, medledger_ledger_head_json(b, NULL));
    CHECK(out == SENTINEL && leaf == 777 && head(b) == 2);

    medledger_buffer_free(block2);
    medledger_buffer_free(reg_tx);
    medledger_buffer_free(rec_tx);
    medledger_keypair_free(lab);
    medledger_ledger_free(b);
    consortium_free(&c);
}

/* ---- scenario ----------------------------------------------------------- */

int main(void) {
    char root[] = "/tmp/medledger-capi-consortium-XXXXXX";
    CHECK(mkdtemp(root) != NULL);
    char dir_b[64], dir_c[64], dir_d[64], dir_e[64];
    snprintf(dir_b, sizeof dir_b, "%s/b", root);
    snprintf(dir_c, sizeof dir_c, "%s/c", root);
    snprintf(dir_d, sizeof dir_d, "%s/d", root);
    snprintf(dir_e, sizeof dir_e, "%s/e", root);

    /* A: block 1 (registrations, consents), block 2 (a record). */
    consortium c;
    consortium_init(&c);
    medledger_ledger *a = c.ledger;
    uint8_t rid[MEDLEDGER_ID_LEN];
    append(&c, c.hospital_a, c.patient_id, "lab", LAB, rid);
    CHECK(commit(&c) == 2);

    /* B joins from A's genesis and catches up through A's node, over the
     * caller's transport. */
    medledger_ledger *b = join(dir_b, a);
    medledger_node *node_a = new_node(a, NULL);
    medledger_node *node_b = new_node(b, c.validators[2]);
    medledger_peer peer_a = {to_node, node_a};
    medledger_sync_report rep;
    memset(&rep, 0xff, sizeof rep);
    OK(medledger_node_sync(node_b, &peer_a, &rep));
    CHECK(rep.blocks == 2);
    CHECK(rep.transactions >= 7); /* 4 registrations, 2 grants, 1 record */
    CHECK(rep.missing_payloads == 0);
    CHECK(!rep.conflict);
    CHECK(head(b) == 2);
    uint8_t root_a[MEDLEDGER_ID_LEN], root_b[MEDLEDGER_ID_LEN];
    uint64_t size_a = 0, size_b = 0;
    OK(medledger_ledger_log_size(a, &size_a));
    OK(medledger_ledger_log_size(b, &size_b));
    CHECK(size_a == size_b);
    OK(medledger_ledger_log_root(a, size_a, root_a));
    OK(medledger_ledger_log_root(b, size_b, root_b));
    CHECK(memcmp(root_a, root_b, MEDLEDGER_ID_LEN) == 0);
    medledger_report *report = NULL;
    OK(medledger_ledger_verify(b, &report));
    CHECK(medledger_report_ok(report));
    CHECK(medledger_report_blocks(report) == 3);
    CHECK(medledger_report_payloads(report) == 1); /* the ciphertext came along */
    medledger_report_free(report);
    /* Nothing new: a second catch-up imports nothing. */
    OK(medledger_node_sync(node_b, &peer_a, &rep));
    CHECK(rep.blocks == 0 && !rep.conflict);

    /* C imports exported blocks one by one. */
    medledger_ledger *cl = join(dir_c, a);
    medledger_buffer *block1 = export_block(a, 1), *block2 = export_block(a, 2);
    medledger_import_result r;
    medledger_buffer *evidence = SENTINEL;
    EXPECT(INVALID, import(cl, block2, &r, &evidence)); /* out of order */
    EXPECT_MESSAGE("does not follow");
    OK(import(cl, block1, &r, &evidence));
    CHECK(r.outcome == MEDLEDGER_IMPORT_APPENDED && r.height == 1 && r.missing_payloads == 0);
    OK(import(cl, block1, &r, &evidence));
    CHECK(r.outcome == MEDLEDGER_IMPORT_ALREADY_HAVE && r.height == 1);
    CHECK(evidence == SENTINEL);
    /* Tampered: the record's ciphertext (the last shipped byte), then a
     * byte inside the block (its header's timestamp area). */
    uint8_t *bad = flipped(block2, -1);
    memset(&r, 0x5a, sizeof r);
    medledger_import_result untouched = r;
    EXPECT(MEDLEDGER_ERR_TAMPERED,
           medledger_ledger_import_block(cl, bad, medledger_buffer_len(block2), &r, &evidence));
    CHECK(memcmp(&r, &untouched, sizeof r) == 0 && evidence == SENTINEL);
    free(bad);
    bad = flipped(block2, 60);
    medledger_status s =
        medledger_ledger_import_block(cl, bad, medledger_buffer_len(block2), &r, &evidence);
    CHECK(s != MEDLEDGER_OK && s != MEDLEDGER_ERR_EQUIVOCATION);
    CHECK(memcmp(&r, &untouched, sizeof r) == 0 && evidence == SENTINEL);
    free(bad);
    /* Truncated bytes do not decode. */
    EXPECT(MEDLEDGER_ERR_MALFORMED, medledger_ledger_import_block(
                                        cl, medledger_buffer_data(block2),
                                        medledger_buffer_len(block2) - 1, &r, &evidence));
    CHECK(head(cl) == 1);
    OK(import(cl, block2, &r, &evidence));
    CHECK(r.outcome == MEDLEDGER_IMPORT_APPENDED && r.height == 2);
    CHECK(head(cl) == 2);

    /* A proposes block 3; B's node (validator 2) co-signs it over the
     * caller's transport: threshold 2 with A's validator 0. */
    medledger_node *proposer = new_node(a, c.validators[0]);
    medledger_peer peer_b = {copying, node_b};
    bool committed = true;
    uint64_t height = 0;
    OK(medledger_node_propose_round(proposer, &peer_b, 1, &committed, &height));
    CHECK(!committed && height == 2); /* nothing pending */
    append(&c, c.hospital_a, c.patient_id, "lab", LAB, rid);
    OK(medledger_node_propose_round(proposer, &peer_b, 1, &committed, &height));
    CHECK(committed && height == 3);
    CHECK(head(a) == 3 && head(b) == 3); /* B committed on the announcement */
    /* Without B's seal there is no quorum: the block is not committed. */
    append(&c, c.hospital_a, c.patient_id, "lab", LAB, rid);
    medledger_peer dead = {down, NULL};
    EXPECT(MEDLEDGER_ERR_MISSING_QUORUM,
           medledger_node_propose_round(proposer, &dead, 1, &committed, &height));
    CHECK(head(a) == 3);
    OK(medledger_node_propose_round(proposer, &peer_b, 1, &committed, &height));
    CHECK(committed && height == 4 && head(b) == 4);

    /* D: the same validators seal a different block 1: equivocation. */
    medledger_ledger *d = join(dir_d, a);
    const medledger_keypair *quorum[2] = {c.validators[0], c.validators[2]};
    OK(medledger_ledger_commit_block(d, quorum, 2, &height)); /* an empty block 1 */
    CHECK(height == 1);
    memset(&r, 0x5a, sizeof r);
    EXPECT(MEDLEDGER_ERR_EQUIVOCATION, import(d, block1, &r, &evidence));
    CHECK(memcmp(&r, &untouched, sizeof r) == 0); /* only the evidence is written */
    CHECK(evidence != SENTINEL && evidence != NULL);
    CHECK(head(d) == 1);
    medledger_buffer *json = NULL;
    OK(medledger_equivocation_verify(medledger_buffer_data(evidence), medledger_buffer_len(evidence),
                                     &json));
    char *text = json_text(json);
    CHECK(strstr(text, "\"height\":1") != NULL);
    expect_guilty(text, c.validators[0]);
    expect_guilty(text, c.validators[2]);
    free(text);
    medledger_buffer_free(json);
    /* Evidence with a flipped seal byte does not verify. */
    bad = flipped(evidence, -1);
    json = SENTINEL;
    EXPECT(MEDLEDGER_ERR_BAD_SIGNATURE,
           medledger_equivocation_verify(bad, medledger_buffer_len(evidence), &json));
    CHECK(json == SENTINEL);
    free(bad);
    EXPECT(MEDLEDGER_ERR_MALFORMED, medledger_equivocation_verify(
                                        medledger_buffer_data(evidence), 10, &json));
    medledger_buffer_free(evidence);

    /* D's forked chain cannot catch up from A: A's block 2 does not extend
     * D's log (its transactions do not hash to its root here). */
    medledger_node *node_d = new_node(d, c.validators[0]);
    memset(&rep, 0x5a, sizeof rep);
    medledger_sync_report rep_untouched = rep;
    EXPECT(MEDLEDGER_ERR_TAMPERED, medledger_node_sync(node_d, &peer_a, &rep));
    CHECK(memcmp(&rep, &rep_untouched, sizeof rep) == 0 && head(d) == 1);
    /* D proposes block 2 of its fork to B's node: B refuses to co-sign a
     * block at a height it holds, keeps the evidence that validator 0
     * signed two blocks 1, and D's round fails without a quorum. */
    medledger_keypair *newcomer = new_keypair();
    uint8_t sign[MEDLEDGER_PUBLIC_KEY_LEN], enc[MEDLEDGER_PUBLIC_KEY_LEN];
    OK(medledger_keypair_public_keys(newcomer, sign, enc));
    OK(medledger_ledger_register(d, c.admin, sign, enc, MEDLEDGER_ROLE_PROVIDER, "newcomer", 0));
    EXPECT(MEDLEDGER_ERR_MISSING_QUORUM,
           medledger_node_propose_round(node_d, &peer_b, 1, &committed, &height));
    CHECK(head(d) == 1 && head(b) == 4);
    medledger_keypair_free(newcomer);
    const medledger_node *witnesses[2] = {node_b, node_d};
    for (int i = 0; i < 2; i++) {
        OK(medledger_node_status_json(witnesses[i], &json));
        text = json_text(json);
        CHECK(strstr(text, "\"evidence\":1") != NULL);
        expect_guilty(text, c.validators[0]);
        free(text);
        medledger_buffer_free(json);
        OK(medledger_node_evidence(witnesses[i], 0, &evidence));
        OK(medledger_equivocation_verify(medledger_buffer_data(evidence),
                                         medledger_buffer_len(evidence), &json));
        text = json_text(json);
        CHECK(strstr(text, "\"height\":2") != NULL);
        expect_guilty(text, c.validators[0]);
        free(text);
        medledger_buffer_free(json);
        medledger_buffer_free(evidence);
    }
    evidence = SENTINEL;
    EXPECT(MEDLEDGER_ERR_NOT_FOUND, medledger_node_evidence(node_d, 1, &evidence));
    CHECK(evidence == SENTINEL);
    OK(medledger_node_status_json(node_a, &json));
    text = json_text(json);
    CHECK(strstr(text, "\"evidence\":0") != NULL && strstr(text, "\"height\":4") != NULL);
    free(text);
    medledger_buffer_free(json);

    /* The node holds the ledger: freed handle, node still serves it. */
    medledger_node_free(proposer);
    c.ledger = NULL;
    medledger_ledger_free(a);
    medledger_ledger *e = NULL;
    {
        /* E joins through a genesis fetched from B's export, catches up
         * from A's node (A's handle is gone). */
        e = join(dir_e, b);
        medledger_node *node_e = new_node(e, NULL);
        OK(medledger_node_sync(node_e, &peer_a, &rep));
        CHECK(rep.blocks == 4 && head(e) == 4);
        medledger_node_free(node_e);
    }

    /* ---- hostile calls ---- */
    medledger_buffer *out = SENTINEL;
    medledger_node *node_out = NODE_SENTINEL;
    uint8_t byte = 0;
    EXPECT(NULLP, medledger_ledger_export_block(NULL, 0, &out));
    EXPECT(NULLP, medledger_ledger_export_block(b, 0, NULL));
    EXPECT(MEDLEDGER_ERR_NOT_FOUND, medledger_ledger_export_block(b, 99, &out));
    EXPECT(NULLP, medledger_ledger_import_block(b, NULL, 1, &r, &out));
    EXPECT(NULLP, medledger_ledger_import_block(b, &byte, 1, NULL, &out));
    EXPECT(NULLP, medledger_ledger_import_block(b, &byte, 1, &r, NULL));
    EXPECT(INVALID, medledger_ledger_import_block(b, &byte, SIZE_MAX, &r, &out));
    EXPECT_MESSAGE("exceeds the limit");
    EXPECT(MEDLEDGER_ERR_MALFORMED, medledger_ledger_import_block(b, &byte, 1, &r, &out));
    EXPECT(INVALID, medledger_equivocation_verify(&byte, SIZE_MAX, &out));
    EXPECT(NULLP, medledger_equivocation_verify(NULL, 1, &out));
    EXPECT(NULLP, medledger_equivocation_verify(&byte, 1, NULL));
    CHECK(out == SENTINEL);
    /* Join: wrong ledger id, garbage genesis, NULLs, a non-empty dir. */
    uint8_t wrong_id[MEDLEDGER_ID_LEN] = {1};
    medledger_ledger *l_out = (medledger_ledger *)(uintptr_t)0x5a5a5a5a;
    medledger_buffer *genesis = export_block(b, 0);
    char dir_x[64];
    snprintf(dir_x, sizeof dir_x, "%s/x", root);
    EXPECT(MEDLEDGER_ERR_REJECTED,
           medledger_ledger_join_dir(dir_x, medledger_buffer_data(genesis),
                                     medledger_buffer_len(genesis), wrong_id, &l_out));
    EXPECT(MEDLEDGER_ERR_MALFORMED, medledger_ledger_join_dir(dir_x, &byte, 1, wrong_id, &l_out));
    EXPECT(NULLP, medledger_ledger_join_dir(NULL, &byte, 1, wrong_id, &l_out));
    EXPECT(NULLP, medledger_ledger_join_dir(dir_x, &byte, 1, NULL, &l_out));
    EXPECT(NULLP, medledger_ledger_join_dir(dir_x, &byte, 1, wrong_id, NULL));
    EXPECT(INVALID, medledger_ledger_join_dir(dir_x, &byte, SIZE_MAX, wrong_id, &l_out));
    EXPECT(MEDLEDGER_ERR_INVALID_UTF8, medledger_ledger_join_dir("/tmp/\xff", &byte, 1, wrong_id,
                                                                 &l_out));
    EXPECT(INVALID, medledger_ledger_join_dir("", &byte, 1, wrong_id, &l_out));
    uint8_t id_b[MEDLEDGER_ID_LEN];
    OK(medledger_ledger_id(b, id_b));
    CHECK(medledger_ledger_join_dir(dir_b, medledger_buffer_data(genesis),
                                    medledger_buffer_len(genesis), id_b, &l_out) != MEDLEDGER_OK);
    CHECK(l_out == (medledger_ledger *)(uintptr_t)0x5a5a5a5a);
    medledger_buffer_free(genesis);
    /* Nodes: NULLs, a key outside the validator set, NULL array entries. */
    EXPECT(NULLP, medledger_node_new(NULL, NULL, 0, &node_out));
    EXPECT(NULLP, medledger_node_new(b, NULL, 0, NULL));
    EXPECT(NULLP, medledger_node_new(b, NULL, 1, &node_out));
    const medledger_keypair *outsider[1] = {c.hospital_a};
    EXPECT(MEDLEDGER_ERR_ACCESS_DENIED, medledger_node_new(b, outsider, 1, &node_out));
    const medledger_keypair *holes[1] = {NULL};
    EXPECT(NULLP, medledger_node_new(b, holes, 1, &node_out));
    EXPECT(INVALID, medledger_node_new(b, outsider, SIZE_MAX, &node_out));
    CHECK(node_out == NODE_SENTINEL);
    medledger_node_free(NULL);
    /* Vote log: NULLs, bad paths, a damaged file refused (never a
     * forgotten vote), then a fresh one accepted. */
    EXPECT(NULLP, medledger_node_set_vote_log(NULL, "votes"));
    EXPECT(NULLP, medledger_node_set_vote_log(node_b, NULL));
    EXPECT(MEDLEDGER_ERR_INVALID_UTF8, medledger_node_set_vote_log(node_b, "/tmp/\xff"));
    char votes[128];
    snprintf(votes, sizeof votes, "%s/votes-b", root);
    FILE *damaged = fopen(votes, "wb");
    CHECK(damaged != NULL);
    if (damaged) {
        fwrite("0123456789", 1, 10, damaged);
        fclose(damaged);
    }
    CHECK(medledger_node_set_vote_log(node_b, votes) != MEDLEDGER_OK);
    CHECK(remove(votes) == 0);
    OK(medledger_node_set_vote_log(node_b, votes));
    /* Requests: garbage is answered with an error response, not a status. */
    OK(medledger_node_handle(node_b, &byte, 1, &out));
    CHECK(out != SENTINEL && medledger_buffer_len(out) > 0);
    medledger_buffer_free(out);
    out = SENTINEL;
    EXPECT(NULLP, medledger_node_handle(NULL, &byte, 1, &out));
    EXPECT(NULLP, medledger_node_handle(node_b, NULL, 1, &out));
    EXPECT(INVALID, medledger_node_handle(node_b, &byte, SIZE_MAX, &out));
    EXPECT(NULLP, medledger_node_status_json(NULL, &out));
    EXPECT(NULLP, medledger_node_status_json(node_b, NULL));
    EXPECT(NULLP, medledger_node_evidence(NULL, 0, &out));
    EXPECT(NULLP, medledger_node_evidence(node_b, 0, NULL));
    EXPECT(NULLP, medledger_node_sync(NULL, &peer_a, &rep));
    EXPECT(NULLP, medledger_node_sync_tcp(NULL, "127.0.0.1:1", 2000, &rep));
    EXPECT(NULLP, medledger_node_sync_tcp(node_b, "127.0.0.1:1", 2000, NULL));
    EXPECT(NULLP, medledger_node_propose_round(NULL, &peer_a, 1, &committed, &height));
    EXPECT(NULLP, medledger_node_propose_round(node_b, NULL, 1, &committed, &height));
    EXPECT(NULLP, medledger_node_propose_round(node_b, &peer_a, 1, &committed, NULL));
    EXPECT(NULLP, medledger_node_propose_round_tcp(NULL, NULL, 0, 2000, &committed, &height));
    EXPECT(NULLP, medledger_node_propose_round_tcp(node_b, NULL, 0, 2000, &committed, &height));
    EXPECT(INVALID, medledger_node_propose_round(node_b, &peer_a, MEDLEDGER_MAX_PEERS + 1,
                                                 &committed, &height));
    CHECK(out == SENTINEL);
    /* Transports: down, silent, NULL callback; TCP addresses. */
    memset(&rep, 0x5a, sizeof rep);
    rep_untouched = rep;
    EXPECT(UNREACHABLE, medledger_node_sync(node_b, &dead, &rep));
    medledger_peer mute = {silent, NULL};
    EXPECT(UNREACHABLE, medledger_node_sync(node_b, &mute, &rep));
    medledger_peer no_call = {NULL, NULL};
    EXPECT(NULLP, medledger_node_sync(node_b, &no_call, &rep));
    EXPECT_MESSAGE("peers[0].call");
    EXPECT(NULLP, medledger_node_sync(node_b, NULL, &rep));
    EXPECT(NULLP, medledger_node_sync(node_b, &peer_a, NULL));
    EXPECT(UNREACHABLE, medledger_node_sync_tcp(node_b, "127.0.0.1:1", 2000, &rep));
    EXPECT(INVALID, medledger_node_sync_tcp(node_b, "localhost:7000", 2000, &rep));
    EXPECT(INVALID, medledger_node_sync_tcp(node_b, "127.0.0.1", 2000, &rep));
    EXPECT(INVALID, medledger_node_sync_tcp(node_b, "127.0.0.1:7000", 0, &rep));
    EXPECT(INVALID, medledger_node_sync_tcp(node_b, "127.0.0.1:7000",
                                            MEDLEDGER_MAX_PEER_TIMEOUT_MS + 1, &rep));
    EXPECT(MEDLEDGER_ERR_INVALID_UTF8, medledger_node_sync_tcp(node_b, "127.0.0.1:\xff", 2000, &rep));
    EXPECT(NULLP, medledger_node_sync_tcp(node_b, NULL, 2000, &rep));
    CHECK(memcmp(&rep, &rep_untouched, sizeof rep) == 0);
    const char *addrs[2] = {"127.0.0.1:1", NULL};
    EXPECT(NULLP, medledger_node_propose_round_tcp(node_b, addrs, 2, 2000, &committed, &height));
    EXPECT_MESSAGE("addrs[1]");
    EXPECT(INVALID, medledger_node_propose_round_tcp(node_b, addrs, SIZE_MAX, 2000, &committed,
                                                     &height));
    EXPECT(NULLP, medledger_node_propose_round(node_b, &no_call, 1, &committed, &height));
    EXPECT(NULLP, medledger_node_propose_round(node_b, &peer_a, 1, NULL, &height));
    /* Nothing pending on B: nothing to propose, no peer dialled. */
    OK(medledger_node_propose_round_tcp(node_b, addrs, 1, 2000, &committed, &height));
    CHECK(!committed && height == 4);
    /* Following: checked, not dialled. */
    OK(medledger_ledger_follow_tcp(e, "127.0.0.1:1", 2000));
    EXPECT(INVALID, medledger_ledger_follow_tcp(e, "nowhere", 2000));
    EXPECT(MEDLEDGER_ERR_INVALID_UTF8, medledger_ledger_follow_tcp(e, "\xc3", 2000));
    EXPECT(NULLP, medledger_ledger_follow_tcp(NULL, "127.0.0.1:1", 2000));
    EXPECT(NULLP, medledger_ledger_follow_tcp(e, NULL, 2000));
    EXPECT(INVALID, medledger_ledger_follow_tcp(e, "127.0.0.1:1", 0));
    /* Buffers made by the caller. */
    EXPECT(NULLP, medledger_buffer_new(NULL, 1, &out));
    EXPECT(INVALID, medledger_buffer_new(&byte, SIZE_MAX, &out));
    EXPECT(NULLP, medledger_buffer_new(&byte, 1, NULL));
    CHECK(out == SENTINEL);
    OK(medledger_buffer_new(NULL, 0, &out));
    CHECK(medledger_buffer_len(out) == 0);
    medledger_buffer_free(out);
    CHECK(strcmp(medledger_status_name(MEDLEDGER_ERR_EQUIVOCATION), "MEDLEDGER_ERR_EQUIVOCATION") == 0);
    CHECK(strcmp(medledger_status_name(UNREACHABLE), "MEDLEDGER_ERR_PEER_UNREACHABLE") == 0);

    medledger_buffer_free(block1);
    medledger_buffer_free(block2);
    medledger_node_free(node_a);
    medledger_node_free(node_b);
    medledger_node_free(node_d);
    medledger_ledger_free(b);
    medledger_ledger_free(cl);
    medledger_ledger_free(d);
    medledger_ledger_free(e);
    consortium_free(&c);
    validator_set_change(root);
    blocks_by_hand(root);
    CHECK(nftw(root, rm_entry, 8, FTW_DEPTH | FTW_PHYS) == 0);
    printf("consortium: %lu checks passed\n", checks_passed);
    return 0;
}
