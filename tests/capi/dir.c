/*
 * The directory store through the C API, in a mkdtemp directory: create,
 * append and commit, close, reopen (the open report matches the file), the
 * writer lock (a second writer is refused with 301 while the first is
 * live), read-only opens (no plaintext, 301; verification works), a torn
 * tail (reported; cut only by a writable open), damage on disk (a flipped
 * byte in ledger.log -> 304 naming its offset; a damaged header -> 304; a
 * modified ciphertext with a recomputed frame checksum -> 305 on read and
 * a PAYLOAD_TAMPERED fault in verification), and hostile paths (NULL,
 * invalid UTF-8, empty, too long, missing).
 *
 * The file layout used to aim the damage is docs/FORMAT.md section 8:
 * a 48-byte header, then frames "MLFR" | len u32le | kind u8 | body | crc32c.
 */
#define _XOPEN_SOURCE 700 /* mkdtemp, nftw */

#include <ftw.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

#define NULLP MEDLEDGER_ERR_NULL_POINTER
#define DENIED MEDLEDGER_ERR_ACCESS_DENIED
#define SENTINEL_PTR ((medledger_ledger *)(uintptr_t)0x5a5a5a5a)

enum { HEADER_LEN = 48, FRAME_PREFIX = 9, FRAME_KIND_PAYLOAD = 2 };

static const char *LAB = "{\"resourceType\":\"Observation\",\"valueQuantity\":{\"value\":6.8}}";
static const char *IMAGING = "{\"resourceType\":\"DiagnosticReport\",\"conclusion\":\"normal\"}";
static const char *NOTE = "{\"resourceType\":\"ClinicalImpression\",\"summary\":\"stable\"}";

/* ---- files ------------------------------------------------------------- */

typedef struct {
    uint8_t *data;
    size_t len;
} bytes;

static bytes read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) FAIL("cannot open %s", path);
    CHECK(fseek(f, 0, SEEK_END) == 0);
    long n = ftell(f);
    CHECK(n > 0);
    CHECK(fseek(f, 0, SEEK_SET) == 0);
    bytes b = {malloc((size_t)n), (size_t)n};
    CHECK(b.data != NULL);
    CHECK(fread(b.data, 1, b.len, f) == b.len);
    fclose(f);
    return b;
}

static void write_file(const char *path, const uint8_t *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) FAIL("cannot write %s", path);
    CHECK(fwrite(data, 1, len, f) == len);
    CHECK(fclose(f) == 0);
}

static long long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* ---- frames ------------------------------------------------------------ */

static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t crc32c(const uint8_t *p, size_t n) {
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1u)));
    }
    return ~c;
}

/* The frame containing byte `pos` (offset of its "MLFR"), or of the last
 * frame of `kind` when pos == SIZE_MAX; SIZE_MAX when there is none. */
static size_t find_frame(const bytes *f, size_t pos, int kind) {
    size_t found = SIZE_MAX;
    for (size_t at = HEADER_LEN; at + FRAME_PREFIX <= f->len;) {
        CHECK(memcmp(f->data + at, "MLFR", 4) == 0);
        size_t end = at + FRAME_PREFIX + le32(f->data + at + 4) + 4;
        CHECK(end <= f->len);
        if (pos == SIZE_MAX ? f->data[at + 8] == kind : (pos >= at && pos < end)) found = at;
        at = end;
    }
    return found;
}

/* Rewrites the checksum of the frame at `at` to match its (changed) body. */
static void reseal_frame(bytes *f, size_t at) {
    uint32_t body_len = le32(f->data + at + 4);
    uint32_t c = crc32c(f->data + at + 4, 4 + 1 + (size_t)body_len);
    uint8_t *out = f->data + at + FRAME_PREFIX + body_len;
    for (int i = 0; i < 4; i++) out[i] = (uint8_t)(c >> (8 * i));
}

/* ---- the ledger ---------------------------------------------------------- */

static void open_fails(const char *dir, medledger_status want, const char *needle) {
    medledger_ledger *l = SENTINEL_PTR;
    medledger_open_report report;
    memset(&report, 0xa5, sizeof report);
    medledger_open_report untouched = report;
    EXPECT(want, medledger_ledger_open_dir(dir, &report, &l));
    if (needle) EXPECT_MESSAGE(needle);
    EXPECT(want, medledger_ledger_open_dir_read_only(dir, &report, &l));
    if (needle) EXPECT_MESSAGE(needle);
    CHECK(l == SENTINEL_PTR);
    CHECK(memcmp(&report, &untouched, sizeof report) == 0);
}

static medledger_ledger *open_ok(const char *dir, int read_only, medledger_open_report *report) {
    medledger_ledger *l = NULL;
    if (read_only)
        OK(medledger_ledger_open_dir_read_only(dir, report, &l));
    else
        OK(medledger_ledger_open_dir(dir, report, &l));
    CHECK(l != NULL);
    return l;
}

static void expect_verified(const medledger_ledger *l, uint64_t blocks) {
    medledger_report *r = NULL;
    OK(medledger_ledger_verify(l, &r));
    if (!medledger_report_ok(r)) FAIL("verify: %s", medledger_report_summary(r));
    CHECK(medledger_report_blocks(r) == blocks);
    medledger_report_free(r);
}

static void hostile_paths(const consortium *c, const char *tmp) {
    medledger_founder founders[4];
    consortium_founders(c, founders);
    const medledger_keypair *sealers[2] = {c->validators[0], c->validators[1]};
    medledger_ledger *l = SENTINEL_PTR;
    medledger_open_report report;

    EXPECT(NULLP, medledger_ledger_create_dir(NULL, "x", 2, BG_MAX, founders, 4, sealers, 2, &l));
    EXPECT_MESSAGE("path is NULL");
    EXPECT(NULLP, medledger_ledger_open_dir(NULL, &report, &l));
    EXPECT_MESSAGE("path is NULL");
    EXPECT(NULLP, medledger_ledger_open_dir_read_only(NULL, NULL, &l));
    EXPECT_MESSAGE("path is NULL");

    /* Valid path bytes on Linux, but not UTF-8: refused, nothing created. */
    char bad[64];
    snprintf(bad, sizeof bad, "%s/caf\xc3-\xff", tmp);
    EXPECT(MEDLEDGER_ERR_INVALID_UTF8,
           medledger_ledger_create_dir(bad, "x", 2, BG_MAX, founders, 4, sealers, 2, &l));
    EXPECT_MESSAGE("path is not valid UTF-8");
    CHECK(file_size(bad) == -1);
    EXPECT(MEDLEDGER_ERR_INVALID_UTF8, medledger_ledger_open_dir(bad, &report, &l));
    EXPECT(MEDLEDGER_ERR_INVALID_UTF8, medledger_ledger_open_dir_read_only(bad, &report, &l));

    EXPECT(MEDLEDGER_ERR_INVALID_ARGUMENT,
           medledger_ledger_create_dir("", "x", 2, BG_MAX, founders, 4, sealers, 2, &l));
    EXPECT_MESSAGE("empty path");
    EXPECT(MEDLEDGER_ERR_INVALID_ARGUMENT, medledger_ledger_open_dir("", &report, &l));
    EXPECT(MEDLEDGER_ERR_INVALID_ARGUMENT, medledger_ledger_open_dir_read_only("", NULL, &l));

    /* A path longer than MEDLEDGER_MAX_TEXT_LEN, terminated right after the
     * limit: refused without reading further. */
    static char longest[MEDLEDGER_MAX_TEXT_LEN + 2];
    memset(longest, 'a', MEDLEDGER_MAX_TEXT_LEN + 1);
    longest[MEDLEDGER_MAX_TEXT_LEN + 1] = '\0';
    EXPECT(MEDLEDGER_ERR_INVALID_ARGUMENT, medledger_ledger_open_dir(longest, NULL, &l));
    EXPECT(MEDLEDGER_ERR_INVALID_ARGUMENT,
           medledger_ledger_create_dir(longest, "x", 2, BG_MAX, founders, 4, sealers, 2, &l));

    char fresh[512];
    snprintf(fresh, sizeof fresh, "%s/never-created", tmp);
    EXPECT(NULLP, medledger_ledger_create_dir(fresh, "x", 2, BG_MAX, founders, 4, sealers, 2, NULL));
    EXPECT(NULLP, medledger_ledger_open_dir(fresh, &report, NULL));
    EXPECT(NULLP, medledger_ledger_open_dir_read_only(fresh, &report, NULL));
    /* Genesis arguments are checked before anything touches the disk. */
    EXPECT(NULLP, medledger_ledger_create_dir(fresh, NULL, 2, BG_MAX, founders, 4, sealers, 2, &l));
    EXPECT(MEDLEDGER_ERR_MISSING_QUORUM,
           medledger_ledger_create_dir(fresh, "x", 2, BG_MAX, founders, 4, sealers, 1, &l));
    EXPECT(MEDLEDGER_ERR_INVALID_ARGUMENT,
           medledger_ledger_create_dir(fresh, "x", 5, BG_MAX, founders, 4, sealers, 2, &l));
    CHECK(file_size(fresh) == -1);

    /* No ledger: a missing directory, and an existing empty one. */
    open_fails(fresh, MEDLEDGER_ERR_NOT_FOUND, "no ledger in");
    char empty[512];
    snprintf(empty, sizeof empty, "%s/empty", tmp);
    CHECK(mkdir(empty, 0700) == 0);
    open_fails(empty, MEDLEDGER_ERR_NOT_FOUND, "ledger.log missing");
    CHECK(l == SENTINEL_PTR);
}

int main(void) {
    char tmp[] = "/tmp/medledger-capi-dir-XXXXXX";
    CHECK(mkdtemp(tmp) != NULL);
    char dir[256], log[512];
    snprintf(dir, sizeof dir, "%s/clinic/ledger", tmp); /* parents created too */
    snprintf(log, sizeof log, "%s/ledger.log", dir);

    consortium c;
    consortium_keys(&c);
    hostile_paths(&c, tmp);

    /* Create, register, append, commit. */
    medledger_founder founders[4];
    consortium_founders(&c, founders);
    const medledger_keypair *sealers[2] = {c.validators[0], c.validators[1]};
    OK(medledger_ledger_create_dir(dir, "test consortium", 2, BG_MAX, founders, 4, sealers, 2, &c.ledger));
    CHECK(c.ledger != NULL);
    CHECK(file_size(log) > HEADER_LEN);
    consortium_register(&c);
    uint8_t lab[MEDLEDGER_ID_LEN], imaging[MEDLEDGER_ID_LEN], note[MEDLEDGER_ID_LEN];
    append(&c, c.hospital_a, c.patient_id, "lab", LAB, lab);
    append(&c, c.hospital_b, c.patient_id, "imaging", IMAGING, imaging);
    CHECK(commit(&c) == 2);
    /* The read is recorded, and committed (block 3) before it returns. */
    expect_plaintext(&c, c.patient, lab, LAB);
    uint64_t height = 0;
    OK(medledger_ledger_head_height(c.ledger, &height));
    CHECK(height == 3);
    uint64_t blocks = height + 1;
    uint8_t id[MEDLEDGER_ID_LEN], id2[MEDLEDGER_ID_LEN];
    OK(medledger_ledger_id(c.ledger, id));

    /* The writer lock: a second writer is refused while the first lives. */
    medledger_ledger *l = SENTINEL_PTR;
    medledger_open_report report;
    memset(&report, 0xa5, sizeof report);
    EXPECT(DENIED, medledger_ledger_open_dir(dir, &report, &l));
    EXPECT_MESSAGE(dir);
    CHECK(l == SENTINEL_PTR && report.blocks == 0xa5a5a5a5a5a5a5a5u);
    EXPECT(DENIED, medledger_ledger_create_dir(dir, "x", 2, BG_MAX, founders, 4, sealers, 2, &l));
    CHECK(l == SENTINEL_PTR);

    /* Read-only beside the writer: verifies, never releases plaintext. */
    medledger_ledger *ro = open_ok(dir, 1, &report);
    CHECK(report.blocks == blocks && report.payloads == 2);
    CHECK(report.file_len == (uint64_t)file_size(log));
    CHECK(report.bytes_cut == 0 && report.frames_cut == 0);
    medledger_ledger *ro2 = open_ok(dir, 1, NULL); /* any number of readers */
    medledger_ledger_free(ro2);
    OK(medledger_ledger_id(ro, id2));
    CHECK(memcmp(id, id2, MEDLEDGER_ID_LEN) == 0);
    OK(medledger_ledger_head_height(ro, &height));
    CHECK(height == blocks - 1);
    expect_verified(ro, blocks);
    medledger_buffer *buf = (medledger_buffer *)SENTINEL_PTR;
    EXPECT(DENIED, medledger_ledger_read_record(ro, c.patient, lab, "PATRQT", &buf));
    EXPECT_MESSAGE("read-only");
    CHECK(buf == (medledger_buffer *)SENTINEL_PTR);
    uint8_t unused[MEDLEDGER_ID_LEN];
    EXPECT(DENIED, medledger_ledger_append_record(ro, c.hospital_a, c.patient_id, "lab",
                                                  "text/plain", (const uint8_t *)"x", 1, unused));
    const medledger_keypair *quorum[2] = {c.validators[0], c.validators[2]};
    EXPECT(DENIED, medledger_ledger_commit_block(ro, quorum, 2, &height));
    medledger_ledger_free(ro);

    /* Close and reopen: the report matches the file, records are back.
     * Attached keys belong to the handle: attach them again. */
    medledger_ledger_free(c.ledger);
    c.ledger = NULL;
    EXPECT(MEDLEDGER_ERR_INVALID_ARGUMENT,
           medledger_ledger_create_dir(dir, "x", 2, BG_MAX, founders, 4, sealers, 2, &l));
    EXPECT_MESSAGE(dir);
    memset(&report, 0xa5, sizeof report);
    c.ledger = open_ok(dir, 0, &report);
    attach_validators(c.ledger, &c);
    CHECK(report.blocks == blocks && report.payloads == 2);
    CHECK(report.file_len == (uint64_t)file_size(log));
    CHECK(report.bytes_cut == 0 && report.frames_cut == 0);
    OK(medledger_ledger_head_height(c.ledger, &height));
    CHECK(height == blocks - 1);
    OK(medledger_ledger_id(c.ledger, id2));
    CHECK(memcmp(id, id2, MEDLEDGER_ID_LEN) == 0);
    expect_plaintext(&c, c.patient, lab, LAB);
    expect_plaintext(&c, c.hospital_b, imaging, IMAGING);
    EXPECT(MEDLEDGER_ERR_NO_CONSENT,
           medledger_ledger_read_record(c.ledger, c.hospital_b, lab, "TREAT", &buf));
    append(&c, c.hospital_a, c.patient_id, "lab", NOTE, note); /* one payload */
    const uint64_t note_height = commit(&c);
    medledger_ledger_free(c.ledger);
    c.ledger = open_ok(dir, 0, NULL); /* report_out may be NULL */
    attach_validators(c.ledger, &c);
    expect_plaintext(&c, c.patient, note, NOTE);
    OK(medledger_ledger_head_height(c.ledger, &height));
    blocks = height + 1;
    expect_verified(c.ledger, blocks);
    medledger_ledger_free(c.ledger);
    c.ledger = NULL;

    bytes orig = read_file(log);

    /* A torn tail (a crash mid-commit): reported by both opens, left in
     * place by the read-only one, cut by the writable one. */
    bytes torn = {malloc(orig.len + 10), orig.len + 10};
    CHECK(torn.data != NULL);
    memcpy(torn.data, orig.data, orig.len);
    memcpy(torn.data + orig.len, "MLFR\x05\x00\x00\x00\x02x", 10);
    write_file(log, torn.data, torn.len);
    ro = open_ok(dir, 1, &report);
    CHECK(report.bytes_cut == 10 && report.frames_cut == 0);
    CHECK(report.file_len == orig.len && report.blocks == blocks);
    medledger_ledger_free(ro);
    CHECK(file_size(log) == (long long)torn.len);
    medledger_ledger_free(open_ok(dir, 0, &report));
    CHECK(report.bytes_cut == 10 && report.file_len == orig.len);
    CHECK(file_size(log) == (long long)orig.len);
    free(torn.data);

    /* One flipped byte in the middle of the file: refused, located. */
    bytes bad = read_file(log);
    size_t frame = find_frame(&bad, bad.len / 2, 0);
    CHECK(frame != SIZE_MAX);
    size_t victim = bad.len / 2 < frame + FRAME_PREFIX ? frame + FRAME_PREFIX : bad.len / 2;
    bad.data[victim] ^= 0x01;
    write_file(log, bad.data, bad.len);
    char at[64];
    snprintf(at, sizeof at, "at file offset %zu", frame);
    open_fails(dir, MEDLEDGER_ERR_CORRUPT, at);
    EXPECT_MESSAGE("checksum");

    /* A damaged header: the magic, or the ledger id it records. */
    memcpy(bad.data, orig.data, orig.len);
    bad.data[0] ^= 0x20;
    write_file(log, bad.data, bad.len);
    open_fails(dir, MEDLEDGER_ERR_CORRUPT, "file.magic");
    memcpy(bad.data, orig.data, orig.len);
    bad.data[HEADER_LEN - 1] ^= 0x01;
    write_file(log, bad.data, bad.len);
    open_fails(dir, MEDLEDGER_ERR_CORRUPT, "another ledger");

    /* A modified ciphertext whose frame checksum was recomputed: opening
     * succeeds (frames check out), reading that record is refused before
     * decryption with 305, other records still read, and verification
     * locates the damage. */
    memcpy(bad.data, orig.data, orig.len);
    frame = find_frame(&bad, SIZE_MAX, FRAME_KIND_PAYLOAD); /* the last: the note */
    CHECK(frame != SIZE_MAX);
    bad.data[frame + FRAME_PREFIX + 32 + 5] ^= 0x01; /* past the digest */
    reseal_frame(&bad, frame);
    write_file(log, bad.data, bad.len);
    c.ledger = open_ok(dir, 0, &report);
    attach_validators(c.ledger, &c);
    CHECK(report.blocks == blocks);
    EXPECT(MEDLEDGER_ERR_TAMPERED,
           medledger_ledger_read_record(c.ledger, c.patient, note, "PATRQT", &buf));
    EXPECT_MESSAGE("does not match its digest");
    CHECK(buf == (medledger_buffer *)SENTINEL_PTR);
    CHECK(strcmp(medledger_status_name(MEDLEDGER_ERR_TAMPERED), "MEDLEDGER_ERR_TAMPERED") == 0);
    expect_plaintext(&c, c.patient, lab, LAB);
    medledger_report *r = NULL;
    OK(medledger_ledger_verify(c.ledger, &r));
    CHECK(!medledger_report_ok(r));
    CHECK(medledger_report_fault_kind(r) == MEDLEDGER_FAULT_PAYLOAD_TAMPERED);
    CHECK(medledger_report_fault_height(r) == note_height);
    medledger_report_free(r);
    medledger_ledger_free(c.ledger);
    c.ledger = NULL;

    /* Restored, the ledger opens and verifies again. */
    write_file(log, orig.data, orig.len);
    c.ledger = open_ok(dir, 0, &report);
    CHECK(report.blocks == blocks && report.payloads == 3);
    expect_verified(c.ledger, blocks);
    free(bad.data);
    free(orig.data);

    consortium_free(&c);
    CHECK(nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS) == 0);
    CHECK(file_size(tmp) == -1);
    printf("dir: %lu checks passed\n", checks_passed);
    return 0;
}
