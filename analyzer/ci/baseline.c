/* Baseline files (see baseline.h; the file format is in docs/ci.md): reading, writing, the
 * baseline of a CI set, and marking a CI set's records against a baseline. A baseline file keeps
 * each fingerprint (records.c) with its signature, and an entry is matched by the hash of the
 * signature it keeps. The records a baseline covers are those whose kind the policy fails and
 * that no suppression hid; it decides no verdict. */
#define _GNU_SOURCE
#include "baseline.h"
#include "hash.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

#define BASELINE_MAGIC "# leakgraph baseline 1"

static int cmp_entry(const void *a, const void *b)
{
    const lg_base_entry_t *x = a, *y = b;
    return x->fp < y->fp ? -1 : x->fp > y->fp;
}

/* Adds (or sums into) an entry; takes ownership of sig. */
static int add_entry(lg_baseline_t *b, size_t *cap, uint64_t fp, int kind, uint64_t bytes,
                     uint64_t blocks, uint64_t records, char *sig)
{
    for (size_t i = 0; i < b->n; i++) /* callers add few entries; sorted at the end */
        if (b->e[i].fp == fp) {
            b->e[i].bytes += bytes;
            b->e[i].blocks += blocks;
            b->e[i].records += records;
            free(sig);
            return 0;
        }
    if (b->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        lg_base_entry_t *v = realloc(b->e, nc * sizeof *v);
        if (!v) {
            free(sig);
            return -ENOMEM;
        }
        b->e = v;
        *cap = nc;
    }
    b->e[b->n++] = (lg_base_entry_t){fp, kind, bytes, blocks, records, sig, false};
    return 0;
}

static void finish(lg_baseline_t *b)
{
    if (b->n > 1) qsort(b->e, b->n, sizeof *b->e, cmp_entry);
}

bool lg_baseline_sniff(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return false;
    char line[64] = {0};
    bool ok = fgets(line, sizeof line, f) && strncmp(line, BASELINE_MAGIC, strlen(BASELINE_MAGIC)) == 0;
    fclose(f);
    return ok;
}

int lg_baseline_load(lg_baseline_t *b, const char *path, char *err, size_t errlen)
{
    memset(b, 0, sizeof *b);
    FILE *f = fopen(path, "r");
    if (!f) {
        int e = errno;
        snprintf(err, errlen, "cannot read the baseline %s: %s", path, strerror(e));
        return -e;
    }
    char *line = NULL;
    size_t lcap = 0, cap = 0;
    ssize_t r;
    int rc = 0, lineno = 0;
    while ((r = getline(&line, &lcap, f)) >= 0) {
        lineno++;
        while (r > 0 && (line[r - 1] == '\n' || line[r - 1] == '\r')) line[--r] = 0;
        if (lineno == 1 && strncmp(line, BASELINE_MAGIC, strlen(BASELINE_MAGIC)) != 0) {
            snprintf(err, errlen, "%s is not a leakgraph baseline (its first line is not '%s')",
                     path, BASELINE_MAGIC);
            rc = -EINVAL;
            break;
        }
        if (r == 0 || line[0] == '#') continue;
        char fph[32], kind[32];
        uint64_t bytes, blocks, records;
        int off = 0;
        if (sscanf(line, "%31s %31s %" SCNu64 " %" SCNu64 " %" SCNu64 " %n", fph, kind, &bytes,
                   &blocks, &records, &off) != 5 || off == 0 || !line[off]) {
            snprintf(err, errlen, "%s:%d: expected 'FINGERPRINT KIND BYTES BLOCKS RECORDS "
                                  "SIGNATURE'", path, lineno);
            rc = -EINVAL;
            break;
        }
        int k = lg_kind_by_name(kind, strlen(kind));
        if (k < 0) {
            snprintf(err, errlen, "%s:%d: unknown kind '%s'", path, lineno, kind);
            rc = -EINVAL;
            break;
        }
        char *sig = strdup(line + off);
        if (!sig || (rc = add_entry(b, &cap, lg_fnv1a(line + off), k, bytes, blocks, records, sig))) {
            snprintf(err, errlen, "out of memory");
            rc = -ENOMEM;
            break;
        }
    }
    free(line);
    fclose(f);
    if (rc) lg_baseline_free(b);
    else finish(b);
    return rc;
}

int lg_baseline_from(lg_baseline_t *b, const lg_ci_set_t *cs)
{
    memset(b, 0, sizeof *b);
    size_t cap = 0;
    for (size_t i = 0; i < cs->nrecs; i++) {
        const lg_ci_rec_t *r = &cs->recs[i];
        if (r->rule >= 0 || !cs->policy->fail[r->leak->kind]) continue;
        char *sig = strdup(r->sig);
        if (!sig || add_entry(b, &cap, r->fp, r->leak->kind, r->leak->bytes, r->leak->blocks, 1,
                              sig)) {
            lg_baseline_free(b);
            return -ENOMEM;
        }
    }
    finish(b);
    return 0;
}

void lg_baseline_write(FILE *out, const lg_baseline_t *b)
{
    fputs(BASELINE_MAGIC ": known leaks by fingerprint (docs/ci.md)\n"
          "# fingerprint kind bytes blocks records signature(kind|executable|frames)\n",
          out);
    for (size_t i = 0; i < b->n; i++) {
        const lg_base_entry_t *e = &b->e[i];
        fprintf(out, "%016" PRIx64 " %s %" PRIu64 " %" PRIu64 " %" PRIu64 " %s\n", e->fp,
                lg_kind_name(e->kind), e->bytes, e->blocks, e->records, e->sig);
    }
}

void lg_baseline_free(lg_baseline_t *b)
{
    for (size_t i = 0; i < b->n; i++) free(b->e[i].sig);
    free(b->e);
    memset(b, 0, sizeof *b);
}

lg_base_entry_t *lg_baseline_find(const lg_baseline_t *b, uint64_t fp)
{
    lg_base_entry_t key = {.fp = fp};
    return b->n ? bsearch(&key, b->e, b->n, sizeof *b->e, cmp_entry) : NULL;
}

int lg_baseline_apply(lg_baseline_t *b, lg_ci_set_t *cs)
{
    lg_baseline_t now;
    int rc = lg_baseline_from(&now, cs);
    if (rc) return rc;
    for (size_t i = 0; i < b->n; i++) b->e[i].seen = false;
    for (size_t i = 0; i < cs->nrecs; i++) {
        lg_ci_rec_t *r = &cs->recs[i];
        if (r->rule >= 0 || !cs->policy->fail[r->leak->kind]) continue;
        lg_base_entry_t *old = lg_baseline_find(b, r->fp);
        const lg_base_entry_t *cur = lg_baseline_find(&now, r->fp);
        if (!old) r->base = LG_BASE_NEW;
        else {
            old->seen = true;
            r->base = cur->bytes > old->bytes || cur->blocks > old->blocks ? LG_BASE_GREW
                                                                           : LG_BASE_KNOWN;
        }
    }
    lg_baseline_free(&now);
    return 0;
}
