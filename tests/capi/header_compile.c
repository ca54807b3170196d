/*
 * Compile-only test of include/medledger.h: built as C11 (gcc -std=c11) and
 * as C++17 (g++ -x c++ -std=c++17), both with -Wall -Wextra -Werror, and
 * linked against the library so every declared function must exist. It
 * pins the status groups and a few signatures, so an accidental ABI change
 * fails here as well as in the header diff.
 */
#include "medledger.h"
#include "medledger.h" /* the include guard works */

#include <stdio.h>

#ifdef __cplusplus
#define STATIC_ASSERT static_assert
#else
#define STATIC_ASSERT _Static_assert
#endif

STATIC_ASSERT(sizeof(medledger_status) == 4, "status is uint32_t");
STATIC_ASSERT(MEDLEDGER_OK == 0, "OK is 0");
STATIC_ASSERT(MEDLEDGER_ERR_NULL_POINTER / 100 == 1, "1xx input");
STATIC_ASSERT(MEDLEDGER_ERR_UNSUPPORTED_KIND / 100 == 1, "1xx input");
STATIC_ASSERT(MEDLEDGER_ERR_BAD_SIGNATURE / 100 == 2, "2xx crypto");
STATIC_ASSERT(MEDLEDGER_ERR_BAD_PROOF / 100 == 2, "2xx crypto");
STATIC_ASSERT(MEDLEDGER_ERR_REJECTED / 100 == 3, "3xx ledger");
STATIC_ASSERT(MEDLEDGER_ERR_CORRUPT / 100 == 3, "3xx ledger");
STATIC_ASSERT(MEDLEDGER_ERR_TAMPERED == 305, "3xx ledger");
STATIC_ASSERT(MEDLEDGER_ERR_NO_CONSENT == 310 && MEDLEDGER_ERR_CONSENT_EXPIRED == 311 &&
                  MEDLEDGER_ERR_CONSENT_NOT_YET_VALID == 312 &&
                  MEDLEDGER_ERR_WRONG_PURPOSE == 313 && MEDLEDGER_ERR_CONSENT_REVOKED == 314 &&
                  MEDLEDGER_ERR_SUSPENDED == 315 && MEDLEDGER_ERR_ERASED == 316,
              "denial reasons are 310..316");
STATIC_ASSERT(MEDLEDGER_ACTION_READ == 1 && MEDLEDGER_ACTION_APPEND == 2 &&
                  MEDLEDGER_ACTION_AMEND == 4,
              "consent action bits");
STATIC_ASSERT(MEDLEDGER_REGISTER_ESCROW_OPT_OUT == 1, "register flags");
STATIC_ASSERT(MEDLEDGER_ERASURE_RECEIPT_LEN == 216, "receipt layout");
STATIC_ASSERT(MEDLEDGER_ERR_SYSTEM / 100 == 9, "9xx internal");
STATIC_ASSERT(MEDLEDGER_ERR_PANIC / 100 == 9, "9xx internal");
STATIC_ASSERT(MEDLEDGER_ID_LEN == 32 && MEDLEDGER_PUBLIC_KEY_LEN == 32, "32-byte ids");
STATIC_ASSERT(MEDLEDGER_FAULT_WRONG_LEDGER == 14, "fault codes are stable");
STATIC_ASSERT(sizeof(medledger_open_report) == 7 * sizeof(uint64_t), "plain uint64_t fields");
STATIC_ASSERT(MEDLEDGER_READ_RESULT_HEADER_LEN == 12, "read_records entry layout");
STATIC_ASSERT(MEDLEDGER_DEFAULT_MAX_BREAK_GLASS_MS == 24ull * 3600 * 1000, "24 h");
STATIC_ASSERT(MEDLEDGER_WALL_CLOCK == 0, "0 is the wall clock");
STATIC_ASSERT(MEDLEDGER_ERR_EQUIVOCATION == 306, "3xx ledger");
STATIC_ASSERT(MEDLEDGER_ERR_PEER_UNREACHABLE == 400, "4xx peers");
STATIC_ASSERT(MEDLEDGER_IMPORT_APPENDED == 1 && MEDLEDGER_IMPORT_ALREADY_HAVE == 2,
              "import outcomes");
STATIC_ASSERT(sizeof(medledger_import_result) == 3 * sizeof(uint64_t), "u32 + 2 x u64");
STATIC_ASSERT(sizeof(medledger_sync_report) == 4 * sizeof(uint64_t), "3 x u64 + bool");
STATIC_ASSERT(MEDLEDGER_MAX_MESSAGE_LEN == 300u * 1024 * 1024, "the TCP frame limit");
STATIC_ASSERT(MEDLEDGER_MAX_BATCH_RECORDS == 10000, "batch limit");
STATIC_ASSERT(MEDLEDGER_MAX_NOTE_LEN == 65536 && MEDLEDGER_MAX_NOTE_VERIFIERS == 100,
              "note limits");
STATIC_ASSERT(sizeof(medledger_new_record) == 5 * sizeof(void *), "4 pointers + size_t");
STATIC_ASSERT(MEDLEDGER_HEADER_LEN == 166 && MEDLEDGER_SEAL_LEN == 66, "header and seal layout");
STATIC_ASSERT(MEDLEDGER_MAX_SUBMIT_PAYLOADS == 100000, "records per transaction");

/* Signatures as documented: a mismatch is a compile error. */
static medledger_status (*const create)(const char *, uint32_t, uint64_t,
                                        const medledger_founder *, size_t,
                                        const medledger_keypair *const *, size_t,
                                        medledger_ledger **) = medledger_ledger_create_in_memory;
static medledger_status (*const append)(const medledger_ledger *, const medledger_keypair *,
                                        const uint8_t *, const char *, const char *,
                                        const uint8_t *, size_t, uint8_t *) =
    medledger_ledger_append_record;
static medledger_status (*const read_record)(const medledger_ledger *,
                                             const medledger_keypair *, const uint8_t *,
                                             const char *, medledger_buffer **) =
    medledger_ledger_read_record;
static medledger_status (*const register_participant)(const medledger_ledger *,
                                                      const medledger_keypair *, const uint8_t *,
                                                      const uint8_t *, uint32_t, const char *,
                                                      uint32_t) = medledger_ledger_register;
static medledger_status (*const grant)(const medledger_ledger *, const medledger_keypair *,
                                       const uint8_t *, const uint8_t *, uint32_t, const char *,
                                       const char *, const uint8_t *, size_t, uint64_t, uint64_t,
                                       uint8_t *) = medledger_ledger_grant;
static medledger_status (*const break_glass)(const medledger_ledger *, const medledger_keypair *,
                                             const uint8_t *, const char *, const char *,
                                             uint64_t, uint8_t *) = medledger_ledger_break_glass;
static medledger_status (*const attach)(const medledger_ledger *,
                                        const medledger_keypair *const *, size_t) =
    medledger_ledger_attach_validators;
static medledger_status (*const erase)(const medledger_ledger *, const medledger_keypair *,
                                       const uint8_t *, size_t, medledger_buffer **) =
    medledger_ledger_erase;
static medledger_status (*const access_log)(const medledger_ledger *, const uint8_t *,
                                            const uint8_t *, medledger_buffer **) =
    medledger_ledger_access_log_json;
static medledger_status (*const create_dir)(const char *, const char *, uint32_t, uint64_t,
                                            const medledger_founder *, size_t,
                                            const medledger_keypair *const *, size_t,
                                            medledger_ledger **) = medledger_ledger_create_dir;
static medledger_status (*const open_dir)(const char *, medledger_open_report *,
                                          medledger_ledger **) = medledger_ledger_open_dir;
static medledger_status (*const open_dir_read_only)(const char *, medledger_open_report *,
                                                    medledger_ledger **) =
    medledger_ledger_open_dir_read_only;
static medledger_status (*const read_records)(const medledger_ledger *,
                                              const medledger_keypair *, const uint8_t *, size_t,
                                              const char *, medledger_buffer **) =
    medledger_ledger_read_records;
static medledger_status (*const consistency_proof)(const medledger_ledger *, uint64_t, uint64_t,
                                                   medledger_buffer **) =
    medledger_ledger_consistency_proof;
static medledger_status (*const verify_consistency)(uint64_t, uint64_t, const uint8_t *,
                                                    const uint8_t *, const uint8_t *, size_t) =
    medledger_verify_consistency;
static medledger_status (*const log_root)(const medledger_ledger *, uint64_t, uint8_t *) =
    medledger_ledger_log_root;
static medledger_status (*const set_manual_time)(const medledger_ledger *, uint64_t) =
    medledger_ledger_set_manual_time;
static medledger_status (*const import_block)(const medledger_ledger *, const uint8_t *, size_t,
                                              medledger_import_result *, medledger_buffer **) =
    medledger_ledger_import_block;
static medledger_status (*const join_dir)(const char *, const uint8_t *, size_t, const uint8_t *,
                                          medledger_ledger **) = medledger_ledger_join_dir;
static medledger_status (*const node_new)(const medledger_ledger *,
                                          const medledger_keypair *const *, size_t,
                                          medledger_node **) = medledger_node_new;
static medledger_status (*const node_handle)(const medledger_node *, const uint8_t *, size_t,
                                             medledger_buffer **) = medledger_node_handle;
static medledger_status (*const node_set_vote_log)(const medledger_node *, const char *) =
    medledger_node_set_vote_log;
static medledger_status (*const node_sync)(const medledger_node *, const medledger_peer *,
                                           medledger_sync_report *) = medledger_node_sync;
static medledger_status (*const propose_round_tcp)(const medledger_node *, const char *const *,
                                                   size_t, uint32_t, bool *, uint64_t *) =
    medledger_node_propose_round_tcp;
static medledger_status (*const append_batch)(const medledger_ledger *,
                                              const medledger_keypair *,
                                              const medledger_new_record *, size_t, uint8_t *) =
    medledger_ledger_append_batch;
static medledger_status (*const set_validators)(const medledger_ledger *,
                                                const medledger_keypair *, uint32_t,
                                                const uint8_t *, size_t) =
    medledger_ledger_set_validators;
static medledger_status (*const validator_set_hash)(uint32_t, const uint8_t *, size_t,
                                                    uint8_t *) = medledger_validator_set_hash;
static medledger_status (*const approve)(const medledger_node *, const uint8_t *) =
    medledger_node_approve_validator_set;
static medledger_status (*const accept_from)(const medledger_node *, const uint8_t *, size_t) =
    medledger_node_accept_proposals_from;
static medledger_status (*const record_inclusion)(const medledger_ledger *, const uint8_t *,
                                                  uint64_t *, uint64_t *, medledger_buffer **) =
    medledger_ledger_record_inclusion;
static medledger_status (*const verify_inclusion)(uint64_t, uint64_t, const uint8_t *,
                                                  const uint8_t *, size_t, const uint8_t *,
                                                  size_t) = medledger_verify_inclusion;
static medledger_status (*const check_served)(const medledger_ledger *, const uint8_t *,
                                              const uint8_t *, size_t) =
    medledger_ledger_check_served;
static medledger_status (*const cosign)(const uint8_t *, size_t, const medledger_note_key *,
                                        const medledger_keypair *, const char *, uint64_t,
                                        medledger_buffer **) = medledger_checkpoint_cosign;
static medledger_status (*const open_note)(const uint8_t *, size_t, const medledger_note_key *,
                                           size_t, medledger_buffer **) =
    medledger_checkpoint_open;
static medledger_status (*const access_log_fhir)(const medledger_ledger *, const uint8_t *,
                                                 const uint8_t *, medledger_buffer **) =
    medledger_ledger_access_log_fhir;
static medledger_status (*const consents_fhir)(const medledger_ledger *, const uint8_t *,
                                               const uint8_t *, medledger_buffer **) =
    medledger_ledger_consents_fhir;
static medledger_status (*const submit)(const medledger_ledger *, const uint8_t *, size_t,
                                        const uint8_t *const *, const size_t *, size_t,
                                        uint64_t *) = medledger_ledger_submit;
static medledger_status (*const propose)(const medledger_ledger *, medledger_buffer **) =
    medledger_ledger_propose;
static medledger_status (*const seal_header)(const uint8_t *, size_t, const medledger_keypair *,
                                             uint32_t, uint8_t *) = medledger_seal_header;
static medledger_status (*const commit)(const medledger_ledger *, const uint8_t *, size_t,
                                        const uint8_t *, size_t) = medledger_ledger_commit;
static medledger_status (*const participant_json)(const medledger_ledger *, const uint8_t *,
                                                  medledger_buffer **) =
    medledger_ledger_participant_json;
static medledger_status (*const validators_json)(const medledger_ledger *, medledger_buffer **) =
    medledger_ledger_validators_json;
static medledger_status (*const head_json)(const medledger_ledger *, medledger_buffer **) =
    medledger_ledger_head_json;
/* A peer callback relaying to a node in this process has the callback type. */
static medledger_status relay(void *context, const uint8_t *request, size_t request_len,
                              medledger_buffer **out_response) {
    return medledger_node_handle((const medledger_node *)context, request, request_len,
                                 out_response);
}
static const medledger_peer_call peer_call = relay;
static int64_t (*const tx_index)(const medledger_report *) = medledger_report_fault_tx_index;

int main(void) {
    medledger_founder f = {NULL, MEDLEDGER_ROLE_ADMIN | MEDLEDGER_ROLE_VALIDATOR, "x", 0};
    medledger_ledger *ledger = NULL;
    medledger_status s = create("x", 1, MEDLEDGER_DEFAULT_MAX_BREAK_GLASS_MS, &f, 1, NULL, 0,
                                &ledger);
    uint8_t id[MEDLEDGER_ID_LEN];
    s |= append(NULL, NULL, NULL, NULL, NULL, NULL, 0, id);
    s |= read_record(NULL, NULL, NULL, "TREAT", NULL);
    s |= register_participant(NULL, NULL, NULL, NULL, MEDLEDGER_ROLE_PATIENT, "x",
                              MEDLEDGER_REGISTER_ESCROW_OPT_OUT);
    s |= grant(NULL, NULL, NULL, NULL, MEDLEDGER_ACTION_READ, "TREAT", "*", NULL, 0, 0, 1, id);
    s |= break_glass(NULL, NULL, NULL, "BTG", "x", 1, id);
    s |= attach(NULL, NULL, 0);
    s |= erase(NULL, NULL, NULL, 0, NULL);
    s |= access_log(NULL, NULL, NULL, NULL);
    medledger_open_report report = {0, 0, 0, 0, 0, 0, 0};
    s |= create_dir(NULL, "x", 1, 0, &f, 1, NULL, 0, &ledger);
    s |= read_records(NULL, NULL, id, 1, "TREAT", NULL);
    s |= consistency_proof(NULL, 1, 1, NULL);
    s |= verify_consistency(1, 1, NULL, NULL, NULL, 0);
    s |= log_root(NULL, 0, id);
    s |= set_manual_time(NULL, MEDLEDGER_WALL_CLOCK);
    s |= open_dir(NULL, &report, &ledger);
    s |= open_dir_read_only(NULL, NULL, &ledger);
    medledger_import_result imported = {0, 0, 0};
    medledger_buffer *buffer = NULL;
    s |= import_block(NULL, id, 1, &imported, &buffer);
    s |= join_dir(NULL, id, 1, id, &ledger);
    medledger_node *node = NULL;
    s |= node_new(NULL, NULL, 0, &node);
    s |= node_handle(NULL, id, 1, &buffer);
    s |= node_set_vote_log(NULL, NULL);
    medledger_peer peer = {peer_call, NULL};
    medledger_sync_report synced = {0, 0, 0, false};
    s |= node_sync(NULL, &peer, &synced);
    bool committed = false;
    uint64_t height = 0;
    s |= propose_round_tcp(NULL, NULL, 0, 1000, &committed, &height);
    s |= peer_call(NULL, id, 1, &buffer);
    medledger_new_record rec = {id, "lab", "text/plain", id, 1};
    s |= append_batch(NULL, NULL, &rec, 1, id);
    s |= set_validators(NULL, NULL, 1, id, 1);
    s |= validator_set_hash(1, NULL, 1, id);
    s |= approve(NULL, id);
    s |= accept_from(NULL, id, 1);
    s |= record_inclusion(NULL, id, &height, &height, &buffer);
    s |= verify_inclusion(0, 1, NULL, id, 1, id, 0);
    s |= check_served(NULL, id, id, 1);
    medledger_note_key key = {"log", id, false};
    s |= cosign(NULL, 0, &key, NULL, "w", 0, &buffer);
    s |= open_note(NULL, 0, &key, 1, &buffer);
    s |= access_log_fhir(NULL, id, id, &buffer);
    s |= consents_fhir(NULL, id, id, &buffer);
    const uint8_t *payloads[1] = {id};
    size_t payload_lens[1] = {1};
    s |= submit(NULL, id, 1, payloads, payload_lens, 1, &height);
    s |= propose(NULL, &buffer);
    uint8_t seal[MEDLEDGER_SEAL_LEN];
    s |= seal_header(NULL, MEDLEDGER_HEADER_LEN, NULL, 0, seal);
    s |= commit(NULL, NULL, MEDLEDGER_HEADER_LEN, seal, 1);
    s |= participant_json(NULL, id, &buffer);
    s |= validators_json(NULL, &buffer);
    s |= head_json(NULL, &buffer);
    printf("medledger %s; status %s; tx index %lld\n", medledger_version(),
           medledger_status_name(s), (long long)tx_index(NULL));
    return s == MEDLEDGER_ERR_NULL_POINTER ? 0 : 1;
}
