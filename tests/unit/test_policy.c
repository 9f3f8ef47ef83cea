/* test_policy.c: the policy parser lg_policy_parse (analyzer/ci/policy.h) against the syntax of
 * docs/ci.md: which kinds fail and which limits hold after parsing valid policies (each also
 * checked through its canonical text, the form reports print), and the exact message and
 * -EINVAL for invalid ones. It also checks lg_policy_default. Pure computation: no files. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "harness.h"
#include "classify.h"
#include "policy.h"

#define DEFAULT_TEXT "definite,indirect,possible,cycle,refcount"

/* Parses s, which must be valid, and checks its canonical text. */
static void valid(lg_policy_t *p, const char *s, const char *text)
{
    char err[256] = "";
    int rc = lg_policy_parse(p, s, err, sizeof err);
    CHECK_MSG(rc == 0, "policy '%s': rc %d, '%s'", s, rc, err);
    CHECK_MSG(strcmp(p->text, text) == 0, "policy '%s' reads as '%s', expected '%s'", s, p->text,
              text);
}

/* Parses s, which must be refused with exactly this message. */
static void invalid(const char *s, const char *msg)
{
    lg_policy_t p;
    char err[256] = "";
    int rc = lg_policy_parse(&p, s, err, sizeof err);
    CHECK_MSG(rc == -EINVAL, "policy '%s': rc %d, expected -EINVAL", s, rc);
    CHECK_STR(err, msg);
}

/* Only the kinds in `fails` (a bit per kind) fail. */
static void check_fails(const lg_policy_t *p, unsigned fails)
{
    for (int k = 0; k < LG_KIND_COUNT; k++)
        CHECK_MSG(p->fail[k] == !!(fails & 1u << k), "kind %s: fail %d", lg_kind_name(k),
                  p->fail[k]);
}

#define BIT(k) (1u << (k))
#define DEFAULT_KINDS                                                                              \
    (BIT(LG_KIND_DEFINITE) | BIT(LG_KIND_INDIRECT) | BIT(LG_KIND_POSSIBLE) | BIT(LG_KIND_CYCLE) |  \
     BIT(LG_KIND_REFCOUNT))

static void no_limits(const lg_policy_t *p)
{
    for (int k = 0; k < LG_KIND_COUNT; k++) {
        CHECK_EQ(p->kind[k].bytes, LG_NO_LIMIT);
        CHECK_EQ(p->kind[k].blocks, LG_NO_LIMIT);
    }
    CHECK_EQ(p->total.bytes, LG_NO_LIMIT);
    CHECK_EQ(p->total.blocks, LG_NO_LIMIT);
    CHECK_EQ(p->record.bytes, LG_NO_LIMIT);
    CHECK_EQ(p->record.blocks, LG_NO_LIMIT);
}

static void test_default(void)
{
    lg_policy_t p;
    lg_policy_default(&p);
    CHECK_STR(p.text, DEFAULT_TEXT);
    check_fails(&p, DEFAULT_KINDS);
    no_limits(&p);

    valid(&p, "", DEFAULT_TEXT); /* nothing named: the default kinds */
    check_fails(&p, DEFAULT_KINDS);
    no_limits(&p);
    valid(&p, "default", DEFAULT_TEXT);
    valid(&p, " , ,default,, ", DEFAULT_TEXT); /* empty items are skipped */
    valid(&p, "default,reachable", DEFAULT_TEXT ",reachable");
    check_fails(&p, DEFAULT_KINDS | BIT(LG_KIND_REACHABLE));
}

static void test_kinds(void)
{
    lg_policy_t p;
    valid(&p, "definite", "definite");
    check_fails(&p, BIT(LG_KIND_DEFINITE));
    no_limits(&p);
    valid(&p, "indirect definite", "definite,indirect"); /* blanks separate; canonical order */
    check_fails(&p, BIT(LG_KIND_DEFINITE) | BIT(LG_KIND_INDIRECT));
    valid(&p, "unfreed,reachable,refcount", "refcount,reachable,unfreed");
    check_fails(&p, BIT(LG_KIND_UNFREED) | BIT(LG_KIND_REACHABLE) | BIT(LG_KIND_REFCOUNT));
    valid(&p, "all", DEFAULT_TEXT ",reachable,unfreed");
    check_fails(&p, (1u << LG_KIND_COUNT) - 1);
    valid(&p, "none", "none");
    check_fails(&p, 0);
    no_limits(&p);
}

static void test_limits(void)
{
    lg_policy_t p;
    valid(&p, "definite:bytes<=1024,indirect", "definite:bytes<=1024,indirect");
    check_fails(&p, BIT(LG_KIND_DEFINITE) | BIT(LG_KIND_INDIRECT));
    CHECK_EQ(p.kind[LG_KIND_DEFINITE].bytes, 1024);
    CHECK_EQ(p.kind[LG_KIND_DEFINITE].blocks, LG_NO_LIMIT);
    CHECK_EQ(p.kind[LG_KIND_INDIRECT].bytes, LG_NO_LIMIT);

    valid(&p, "possible:blocks<=3:bytes<=2k", "possible:bytes<=2048:blocks<=3");
    CHECK_EQ(p.kind[LG_KIND_POSSIBLE].bytes, 2048);
    CHECK_EQ(p.kind[LG_KIND_POSSIBLE].blocks, 3);

    valid(&p, "definite:bytes<=1K:bytes<=5", "definite:bytes<=5"); /* the last one counts */
    valid(&p, "definite:bytes<=4M", "definite:bytes<=4194304");
    valid(&p, "definite:bytes<=2G", "definite:bytes<=2147483648");
    valid(&p, "definite:blocks<=0", "definite:blocks<=0");
    CHECK_EQ(p.kind[LG_KIND_DEFINITE].blocks, 0);

    /* a total or record limit alone keeps the default kinds */
    valid(&p, "total:blocks<=10", DEFAULT_TEXT ",total:blocks<=10");
    check_fails(&p, DEFAULT_KINDS);
    CHECK_EQ(p.total.blocks, 10);
    CHECK_EQ(p.total.bytes, LG_NO_LIMIT);
    valid(&p, "definite,record:bytes<=4096", "definite,record:bytes<=4096");
    check_fails(&p, BIT(LG_KIND_DEFINITE));
    CHECK_EQ(p.record.bytes, 4096);
    valid(&p, "record:bytes<=1:blocks<=2,total:bytes<=3,cycle",
          "cycle,total:bytes<=3,record:bytes<=1:blocks<=2");
    CHECK_EQ(p.record.blocks, 2);
    CHECK_EQ(p.total.bytes, 3);

    /* the largest number that fits, and the one above it */
    valid(&p, "definite:bytes<=18446744073709551614", "definite:bytes<=18446744073709551614");
    CHECK_EQ(p.kind[LG_KIND_DEFINITE].bytes, UINT64_MAX - 1);
}

static void test_errors(void)
{
    invalid("bogus", "'bogus': not a leak kind (definite, indirect, possible, reachable, unfreed, "
                     "cycle, refcount), total or record");
    invalid("definite,Definite", "'Definite': not a leak kind (definite, indirect, possible, "
                                 "reachable, unfreed, cycle, refcount), total or record");
    invalid("all:bytes<=1", "'all': not a leak kind (definite, indirect, possible, reachable, "
                            "unfreed, cycle, refcount), total or record");
    invalid("total", "'total' needs a limit, e.g. total:bytes<=1024");
    invalid("definite,record", "'record' needs a limit, e.g. record:bytes<=1024");
    invalid("definite:size<=3", "'size<=3': a limit is bytes<=N or blocks<=N");
    invalid("definite:bytes<3", "'bytes<3': a limit is bytes<=N or blocks<=N");
    invalid("definite:bytes<=x", "'bytes<=x': bad number");
    invalid("definite:bytes<=", "'bytes<=': bad number");
    invalid("definite:bytes<=-1", "'bytes<=-1': bad number");
    invalid("definite:bytes<=5T", "'bytes<=5T': bad number");
    invalid("definite:bytes<=1KB", "'bytes<=1KB': bad number");
    invalid("definite:bytes<=18446744073709551615", "'bytes<=18446744073709551615': bad number");
    invalid("definite:bytes<=99999999999999999999", "'bytes<=99999999999999999999': bad number");
    invalid("definite:blocks<=17179869184G", "'blocks<=17179869184G': bad number");

    /* a short error buffer gets a truncated, terminated message */
    lg_policy_t p;
    char small[8];
    CHECK_EQ(lg_policy_parse(&p, "bogus", small, sizeof small), -EINVAL);
    CHECK_STR(small, "'bogus'");
}

int main(void)
{
    RUN(test_default);
    RUN(test_kinds);
    RUN(test_limits);
    RUN(test_errors);
    return check_result("test_policy");
}
