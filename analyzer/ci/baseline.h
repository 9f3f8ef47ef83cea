/* Baselines: fingerprints of the leaks a program is known to have, so that CI fails only on
 * new leaks or on growth. A fingerprint (records.h) is a hash of a record's signature: its kind,
 * the base name of the traced executable, and the first LG_FP_FRAMES frames in the user's own
 * code, each as function@file-basename -- never addresses or line numbers, so it holds across
 * rebuilds, load addresses and line shifts (docs/ci.md). This file reads and writes baseline
 * files and compares the CI records of a leak set with one; it does not compute fingerprints
 * (records.c) and does not decide verdicts (policy.c). */
#ifndef LG_BASELINE_H
#define LG_BASELINE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "records.h"

typedef struct lg_base_entry {
    uint64_t fp;
    int kind;
    uint64_t bytes, blocks, records;
    char *sig;
    bool seen; /* lg_baseline_apply: some current record has it */
} lg_base_entry_t;

typedef struct lg_baseline {
    lg_base_entry_t *e; /* sorted by fp */
    size_t n;
} lg_baseline_t;

/* Reads a baseline file. Returns 0, -EINVAL (not a baseline; message in err) or a negative
 * errno if it cannot be read. */
int lg_baseline_load(lg_baseline_t *b, const char *path, char *err, size_t errlen);

/* Does this file start like a baseline file? */
bool lg_baseline_sniff(const char *path);

/* The baseline of a CI set: its records whose kind the policy fails and that no suppression
 * hid, summed by fingerprint. Returns 0 or -ENOMEM. */
int lg_baseline_from(lg_baseline_t *b, const lg_ci_set_t *cs);

void lg_baseline_write(FILE *out, const lg_baseline_t *b);
void lg_baseline_free(lg_baseline_t *b);

/* The entry with fingerprint fp, or NULL. */
lg_base_entry_t *lg_baseline_find(const lg_baseline_t *b, uint64_t fp);

/* Marks each record that the policy fails and no rule hid as LG_BASE_NEW, KNOWN or GREW (its
 * fingerprint's total bytes or blocks over every record exceed the baseline's), and each
 * baseline entry seen or not. Returns 0 or -ENOMEM. */
int lg_baseline_apply(lg_baseline_t *b, lg_ci_set_t *cs);

#endif /* LG_BASELINE_H */
