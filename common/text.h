/* text.h: how the analyzer writes numbers and strings in its text and JSON outputs (report,
 * SARIF, JUnit, CI summaries). It only formats; it never decides what is printed. */
#ifndef LG_COMMON_TEXT_H
#define LG_COMMON_TEXT_H

#include <stdint.h>
#include <stdio.h>

/* v with thousands separators ("1,234,567"), written into buf and returned. */
const char *lg_thousands(uint64_t v, char buf[32]);

/* s escaped for the inside of a JSON string (no quotes added). */
void lg_json_inner(FILE *out, const char *s);

/* s as a JSON string with its quotes, or null when s is NULL. */
void lg_json_str(FILE *out, const char *s);

#endif
