/*
 * Four threads share one ledger handle and one patient keypair: each
 * appends records as its own hospital (own category, so no two threads
 * race for the same category key or sequence number; each hospital holds
 * the patient's consent), reads back its committed records as the patient
 * (each read is an access-event transaction of the shared patient key,
 * committed by the reading thread itself with the attached validator
 * keys), every thread commits blocks on odd rounds (commits on one handle
 * serialise, with each other and with the commits reads make; none may
 * fail), and thread 0 verifies while the others write. Afterwards every
 * record must be committed, readable with the right plaintext, and the
 * chain must verify.
 */
#include <pthread.h>
#include <stdio.h>

#include "common.h"

#define THREADS 4
#define ROUNDS 12

typedef struct {
    const consortium *c;
    int index;
    medledger_keypair *hospital;
    uint8_t ids[ROUNDS][MEDLEDGER_ID_LEN];
    int failed;
} worker;

static void payload_of(int thread, int round, char *out, size_t n) {
    snprintf(out, n, "{\"thread\":%d,\"round\":%d}", thread, round);
}

/* Fails the worker (not the process) so the main thread can report. */
#define W_OK(w, call)                                                          \
    do {                                                                       \
        medledger_status s_ = (call);                                          \
        if (s_ != MEDLEDGER_OK) {                                              \
            fprintf(stderr, "thread %d: %s -> %s: %s\n", (w)->index, #call,    \
                    medledger_status_name(s_), medledger_last_error());        \
            (w)->failed = 1;                                                   \
            return NULL;                                                       \
        }                                                                      \
    } while (0)

static void *run(void *arg) {
    worker *w = arg;
    const consortium *c = w->c;
    char category[16], payload[64];
    snprintf(category, sizeof category, "lab-%d", w->index);
    const medledger_keypair *quorum[2] = {c->validators[1], c->validators[2]};
    for (int r = 0; r < ROUNDS; r++) {
        payload_of(w->index, r, payload, sizeof payload);
        W_OK(w, medledger_ledger_append_record(
                    c->ledger, w->hospital, c->patient_id, category, "application/json",
                    (const uint8_t *)payload, strlen(payload), w->ids[r]));
        if (r % 2 == 1) { /* every thread commits: commits serialise */
            uint64_t h;
            W_OK(w, medledger_ledger_commit_block(c->ledger, quorum, 2, &h));
        }
        if (w->index == 0) {
            medledger_report *rep = NULL;
            W_OK(w, medledger_ledger_verify(c->ledger, &rep));
            if (!medledger_report_ok(rep)) {
                fprintf(stderr, "verify: %s\n", medledger_report_summary(rep));
                w->failed = 1;
            }
            medledger_report_free(rep);
        }
        /* Read an earlier record of ours, if committed by now (NOT_FOUND
         * while pending is fine; any other failure is not). */
        medledger_buffer *buf = NULL;
        medledger_status s =
            medledger_ledger_read_record(c->ledger, c->patient, w->ids[r / 2], "PATRQT", &buf);
        if (s == MEDLEDGER_OK) {
            payload_of(w->index, r / 2, payload, sizeof payload);
            if (medledger_buffer_len(buf) != strlen(payload) ||
                memcmp(medledger_buffer_data(buf), payload, strlen(payload)) != 0) {
                fprintf(stderr, "thread %d: wrong plaintext\n", w->index);
                w->failed = 1;
            }
            medledger_buffer_free(buf);
        } else if (s != MEDLEDGER_ERR_NOT_FOUND) {
            fprintf(stderr, "thread %d: read -> %s: %s\n", w->index,
                    medledger_status_name(s), medledger_last_error());
            w->failed = 1;
        }
        /* Last errors are per thread: ours is about our own call. */
        const char *msg = medledger_last_error();
        if ((s == MEDLEDGER_OK) != (msg[0] == '\0')) w->failed = 1;
        uint64_t height;
        W_OK(w, medledger_ledger_head_height(c->ledger, &height));
    }
    return NULL;
}

int main(void) {
    consortium c;
    consortium_init(&c);
    worker workers[THREADS];
    memset(workers, 0, sizeof workers);
    for (int i = 0; i < THREADS; i++) {
        workers[i].c = &c;
        workers[i].index = i;
        workers[i].hospital = new_keypair();
        char label[32];
        snprintf(label, sizeof label, "hospital %d", i);
        register_participant(&c, workers[i].hospital, MEDLEDGER_ROLE_PROVIDER, label);
        uint8_t hospital_id[MEDLEDGER_ID_LEN];
        OK(medledger_keypair_id(workers[i].hospital, hospital_id));
        grant_treating(c.ledger, c.patient, hospital_id, "*", NULL);
    }
    commit(&c);

    pthread_t tids[THREADS];
    for (int i = 0; i < THREADS; i++)
        CHECK(pthread_create(&tids[i], NULL, run, &workers[i]) == 0);
    for (int i = 0; i < THREADS; i++) CHECK(pthread_join(tids[i], NULL) == 0);
    for (int i = 0; i < THREADS; i++) CHECK(!workers[i].failed);

    commit(&c); /* whatever is still pending */
    char payload[64];
    for (int i = 0; i < THREADS; i++) {
        for (int r = 0; r < ROUNDS; r++) {
            payload_of(i, r, payload, sizeof payload);
            expect_plaintext(&c, c.patient, workers[i].ids[r], payload);
        }
    }
    medledger_report *rep = NULL;
    OK(medledger_ledger_verify(c.ledger, &rep));
    CHECK(medledger_report_ok(rep));
    CHECK(medledger_report_records(rep) == THREADS * ROUNDS);
    medledger_report_free(rep);

    for (int i = 0; i < THREADS; i++) medledger_keypair_free(workers[i].hospital);
    consortium_free(&c);
    printf("threads: %lu checks passed (%d threads x %d rounds)\n", checks_passed,
           THREADS, ROUNDS);
    return 0;
}
