/* path.h: file-name helpers shared by every part of the project. Header-only, no allocation. */
#ifndef LG_COMMON_PATH_H
#define LG_COMMON_PATH_H

#include <string.h>

/* The last component of path p ("/usr/lib/libc.so.6" -> "libc.so.6"); p itself when it has no
 * '/'. A pointer into p, never a copy. */
static inline const char *lg_basename(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* lg_basename of p, or "?" for a name that is not known (NULL). */
static inline const char *lg_basename_or_unknown(const char *p)
{
    return p ? lg_basename(p) : "?";
}

#endif
