/* Policies and verdicts (see policy.h and docs/ci.md). A policy names the kinds that fail and,
 * optionally, limits within which they are tolerated. It owns parsing and the evaluation; the
 * records it evaluates are built in records.c. It never prints.
 *
 * How a verdict is reached (lg_policy_eval), for the records that no suppression hid and that
 * the baseline does not know (or knows but they grew):
 *   1. a record whose kind the policy does not name is IGNORED;
 *   2. a failing kind is "limited" when it has a limit of its own, or the policy has a total or
 *      a per-record limit; an unlimited kind fails on any record of it;
 *   3. a limited kind fails when its own limit, the total limit (over every failing kind but
 *      cycle, whose blocks are already counted as definite or indirect) or, for a record, the
 *      per-record limit is exceeded; records within every limit are TOLERATED.
 * Invariant after eval: cs->failed == (some record is LG_REC_FAILED) == (cs->nviol > 0). */
#define _GNU_SOURCE
#include "policy.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- parsing ----------------------------------------------------------------------------- */
static const int default_kinds[] = {LG_KIND_DEFINITE, LG_KIND_INDIRECT, LG_KIND_POSSIBLE,
                                    LG_KIND_CYCLE, LG_KIND_REFCOUNT};

/* The order kinds are named in (policies, violations): the default list, then the others. */
static const int order[] = {LG_KIND_DEFINITE, LG_KIND_INDIRECT, LG_KIND_POSSIBLE, LG_KIND_CYCLE,
                            LG_KIND_REFCOUNT, LG_KIND_REACHABLE, LG_KIND_UNFREED};
_Static_assert(sizeof order / sizeof *order == LG_KIND_COUNT, "every kind has a place");

static void set_defaults(lg_policy_t *p)
{
    for (size_t i = 0; i < sizeof default_kinds / sizeof *default_kinds; i++)
        p->fail[default_kinds[i]] = true;
}

static void no_limits(lg_policy_t *p)
{
    memset(p, 0, sizeof *p);
    for (int k = 0; k < LG_KIND_COUNT; k++) p->kind[k] = (lg_limit_t){LG_NO_LIMIT, LG_NO_LIMIT};
    p->record = p->total = (lg_limit_t){LG_NO_LIMIT, LG_NO_LIMIT};
}

static void limit_text(char *buf, size_t len, const lg_limit_t *l)
{
    size_t o = 0;
    buf[0] = 0; /* no limit: empty */
    if (l->bytes != LG_NO_LIMIT)
        o += (size_t)snprintf(buf + o, len - o, ":bytes<=%" PRIu64, l->bytes);
    if (l->blocks != LG_NO_LIMIT && o < len)
        snprintf(buf + o, len - o, ":blocks<=%" PRIu64, l->blocks);
}

static void canonical(lg_policy_t *p)
{
    size_t o = 0, len = sizeof p->text;
    char lim[96];
    p->text[0] = 0;
    /* in the order of the default list, then the others */
    for (int i = 0; i < LG_KIND_COUNT && o < len; i++) {
        int k = order[i];
        if (!p->fail[k]) continue;
        limit_text(lim, sizeof lim, &p->kind[k]);
        o += (size_t)snprintf(p->text + o, len - o, "%s%s%s", o ? "," : "", lg_kind_name(k), lim);
    }
    if (o == 0 && o < len) o += (size_t)snprintf(p->text + o, len - o, "none");
    const lg_limit_t *ls[2] = {&p->total, &p->record};
    const char *names[2] = {"total", "record"};
    for (int i = 0; i < 2 && o < len; i++) {
        if (ls[i]->bytes == LG_NO_LIMIT && ls[i]->blocks == LG_NO_LIMIT) continue;
        limit_text(lim, sizeof lim, ls[i]);
        o += (size_t)snprintf(p->text + o, len - o, ",%s%s", names[i], lim);
    }
}

void lg_policy_default(lg_policy_t *p)
{
    no_limits(p);
    set_defaults(p);
    canonical(p);
}

/* "bytes<=N" or "blocks<=N", N decimal with an optional K, M or G (powers of 1024). */
static int parse_cond(lg_limit_t *l, const char *s, size_t n, char *err, size_t errlen)
{
    char c[128];
    if (n >= sizeof c) n = sizeof c - 1;
    memcpy(c, s, n);
    c[n] = 0;
    uint64_t *dst;
    const char *v;
    if (strncmp(c, "bytes<=", 7) == 0) dst = &l->bytes, v = c + 7;
    else if (strncmp(c, "blocks<=", 8) == 0) dst = &l->blocks, v = c + 8;
    else {
        snprintf(err, errlen, "'%s': a limit is bytes<=N or blocks<=N", c);
        return -EINVAL;
    }
    char *end;
    errno = 0;
    if (!isdigit((unsigned char)*v)) goto bad;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno) goto bad;
    uint64_t mul = 1;
    if (*end == 'K' || *end == 'k') mul = 1024, end++;
    else if (*end == 'M') mul = 1024 * 1024, end++;
    else if (*end == 'G') mul = 1024ull * 1024 * 1024, end++;
    if (*end || x > (UINT64_MAX - 1) / mul) goto bad;
    *dst = (uint64_t)x * mul;
    return 0;
bad:
    snprintf(err, errlen, "'%s': bad number", c);
    return -EINVAL;
}

/* One item: KIND[:COND...], total:COND[:COND], record:COND[:COND], default, all, none. */
static int parse_item(lg_policy_t *p, const char *s, size_t n, bool *named, char *err,
                      size_t errlen)
{
    const char *colon = memchr(s, ':', n);
    size_t hn = colon ? (size_t)(colon - s) : n;
    lg_limit_t *lim = NULL;
    if (hn == 7 && !strncmp(s, "default", 7) && !colon) {
        set_defaults(p);
        *named = true;
        return 0;
    }
    if (hn == 3 && !strncmp(s, "all", 3) && !colon) {
        for (int k = 0; k < LG_KIND_COUNT; k++) p->fail[k] = true;
        *named = true;
        return 0;
    }
    if (hn == 4 && !strncmp(s, "none", 4) && !colon) {
        *named = true;
        return 0;
    }
    if (hn == 5 && !strncmp(s, "total", 5)) lim = &p->total;
    else if (hn == 6 && !strncmp(s, "record", 6)) lim = &p->record;
    else {
        int k = lg_kind_by_name(s, hn);
        if (k < 0) {
            snprintf(err, errlen, "'%.*s': not a leak kind (definite, indirect, possible, "
                                  "reachable, unfreed, cycle, refcount), total or record",
                     (int)hn, s);
            return -EINVAL;
        }
        p->fail[k] = true;
        *named = true;
        lim = &p->kind[k];
    }
    if (!colon && (lim == &p->total || lim == &p->record)) {
        snprintf(err, errlen, "'%.*s' needs a limit, e.g. %.*s:bytes<=1024", (int)n, s, (int)n, s);
        return -EINVAL;
    }
    const char *q = colon ? colon + 1 : s + n, *e = s + n;
    while (q < e) {
        const char *c = memchr(q, ':', (size_t)(e - q));
        size_t cn = c ? (size_t)(c - q) : (size_t)(e - q);
        int rc = parse_cond(lim, q, cn, err, errlen);
        if (rc) return rc;
        q += cn + 1;
    }
    return 0;
}

static int parse_list(lg_policy_t *p, const char *s, const char *seps, char *err, size_t errlen)
{
    no_limits(p);
    bool named = false;
    const char *q = s;
    while (*q) {
        size_t n = strcspn(q, seps);
        if (n) {
            int rc = parse_item(p, q, n, &named, err, errlen);
            if (rc) return rc;
        }
        q += n;
        if (*q) q++;
    }
    if (!named) set_defaults(p);
    canonical(p);
    return 0;
}

int lg_policy_parse(lg_policy_t *p, const char *s, char *err, size_t errlen)
{
    return parse_list(p, s, ", ", err, errlen);
}

int lg_policy_load(lg_policy_t *p, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        int e = errno;
        snprintf(err, errlen, "cannot read the policy file %s: %s", path, strerror(e));
        return -e;
    }
    char *buf = NULL, *line = NULL;
    size_t len = 0, cap = 0, lcap = 0;
    ssize_t r;
    int rc = 0;
    while ((r = getline(&line, &lcap, f)) >= 0) {
        char *hash = strchr(line, '#');
        if (hash) *hash = 0, r = hash - line;
        if (len + (size_t)r + 2 > cap) {
            cap = (len + (size_t)r + 2) * 2;
            char *nb = realloc(buf, cap);
            if (!nb) {
                rc = -ENOMEM;
                break;
            }
            buf = nb;
        }
        memcpy(buf + len, line, (size_t)r);
        len += (size_t)r;
        buf[len++] = ',';
        buf[len] = 0;
    }
    free(line);
    fclose(f);
    if (rc == 0) {
        char e2[400];
        rc = parse_list(p, buf ? buf : "", ", \t\r\n", e2, sizeof e2);
        if (rc) snprintf(err, errlen, "%s: %s", path, e2);
    } else {
        snprintf(err, errlen, "out of memory");
    }
    free(buf);
    return rc;
}

/* ---- evaluation --------------------------------------------------------------------------- */
static int add_viol(lg_ci_set_t *cs, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int add_viol(lg_ci_set_t *cs, const char *fmt, ...)
{
    lg_violation_t *v = realloc(cs->viol, (cs->nviol + 1) * sizeof *v);
    if (!v) return -ENOMEM;
    cs->viol = v;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v[cs->nviol].text, sizeof v[cs->nviol].text, fmt, ap);
    va_end(ap);
    cs->nviol++;
    return 0;
}

static bool has_limit(const lg_limit_t *l)
{
    return l->bytes != LG_NO_LIMIT || l->blocks != LG_NO_LIMIT;
}

static bool exceeds(const lg_limit_t *l, uint64_t bytes, uint64_t blocks)
{
    return bytes > l->bytes || blocks > l->blocks;
}

static const char *limit_words(const lg_limit_t *l, char *buf, size_t len)
{
    char a[32], b[32];
    if (l->bytes != LG_NO_LIMIT && l->blocks != LG_NO_LIMIT)
        snprintf(buf, len, "%s bytes, %s blocks", lg_thousands(l->bytes, a),
                 lg_thousands(l->blocks, b));
    else if (l->bytes != LG_NO_LIMIT)
        snprintf(buf, len, "%s bytes", lg_thousands(l->bytes, a));
    else
        snprintf(buf, len, "%s blocks", lg_thousands(l->blocks, b));
    return buf;
}

int lg_policy_eval(lg_ci_set_t *cs)
{
    const lg_policy_t *p = cs->policy;
    uint64_t kb[LG_KIND_COUNT] = {0}, kk[LG_KIND_COUNT] = {0}, kr[LG_KIND_COUNT] = {0};
    uint64_t tb = 0, tk = 0;
    bool over[LG_KIND_COUNT] = {false};
    char b1[32], b2[32], lw[96];
    free(cs->viol);
    cs->viol = NULL;
    cs->nviol = 0;
    cs->fail_bytes = cs->fail_blocks = cs->fail_records = 0;
    /* 1. candidates */
    for (size_t i = 0; i < cs->nrecs; i++) {
        lg_ci_rec_t *r = &cs->recs[i];
        int k = r->leak->kind;
        if (r->rule >= 0) r->status = LG_REC_SUPPRESSED;
        else if (!p->fail[k]) r->status = LG_REC_IGNORED;
        else if (r->base == LG_BASE_KNOWN) r->status = LG_REC_BASELINE;
        else {
            r->status = LG_REC_TOLERATED; /* until a limit says otherwise */
            kb[k] += r->leak->bytes;
            kk[k] += r->leak->blocks;
            kr[k]++;
            if (k != LG_KIND_CYCLE) {
                tb += r->leak->bytes;
                tk += r->leak->blocks;
            }
        }
    }
    /* 2. kinds: unlimited ones fail on any record, limited ones on their own limit */
    bool global = has_limit(&p->total) || has_limit(&p->record);
    for (int i = 0; i < LG_KIND_COUNT; i++) {
        int k = order[i];
        if (!p->fail[k] || kr[k] == 0) continue;
        if (!has_limit(&p->kind[k]) && !global) {
            over[k] = true;
            if (add_viol(cs, "%s: %s bytes in %s blocks (%" PRIu64 " record%s)", lg_kind_name(k),
                         lg_thousands(kb[k], b1), lg_thousands(kk[k], b2), kr[k],
                         kr[k] == 1 ? "" : "s"))
                return -ENOMEM;
        } else if (has_limit(&p->kind[k]) && exceeds(&p->kind[k], kb[k], kk[k])) {
            over[k] = true;
            if (add_viol(cs, "%s: %s bytes in %s blocks, over the limit of %s", lg_kind_name(k),
                         lg_thousands(kb[k], b1), lg_thousands(kk[k], b2),
                         limit_words(&p->kind[k], lw, sizeof lw)))
                return -ENOMEM;
        }
    }
    /* 3. the total */
    bool total_over = has_limit(&p->total) && exceeds(&p->total, tb, tk);
    if (total_over && add_viol(cs, "total: %s bytes in %s blocks, over the limit of %s",
                               lg_thousands(tb, b1), lg_thousands(tk, b2),
                               limit_words(&p->total, lw, sizeof lw)))
        return -ENOMEM;
    /* 4. records */
    uint64_t rec_over = 0, rec_max_bytes = 0, rec_max_blocks = 0;
    for (size_t i = 0; i < cs->nrecs; i++) {
        lg_ci_rec_t *r = &cs->recs[i];
        if (r->status != LG_REC_TOLERATED) continue;
        int k = r->leak->kind;
        bool rec_bad = has_limit(&p->record) &&
                       exceeds(&p->record, r->leak->bytes, r->leak->blocks);
        if (rec_bad) {
            rec_over++;
            if (r->leak->bytes > rec_max_bytes) rec_max_bytes = r->leak->bytes;
            if (r->leak->blocks > rec_max_blocks) rec_max_blocks = r->leak->blocks;
        }
        if (over[k] || (total_over && k != LG_KIND_CYCLE) || rec_bad) {
            r->status = LG_REC_FAILED;
            cs->fail_records++;
            if (k != LG_KIND_CYCLE) {
                cs->fail_bytes += r->leak->bytes;
                cs->fail_blocks += r->leak->blocks;
            }
        }
    }
    if (rec_over && add_viol(cs, "record: %" PRIu64 " record%s over the limit of %s (largest %s "
                                 "bytes, %s blocks)",
                             rec_over, rec_over == 1 ? "" : "s",
                             limit_words(&p->record, lw, sizeof lw),
                             lg_thousands(rec_max_bytes, b1), lg_thousands(rec_max_blocks, b2)))
        return -ENOMEM;
    cs->failed = cs->fail_records > 0;
    return 0;
}
