/*
 * readcache_entry.h: the read cache's stored entry format (core-internal;
 * readcache.c writes and reads it, the fuzz target checks the parser).
 *
 *   "cbrc2 VERSION FRESH_UNTIL_MS\n" + the answer's bytes
 *
 * VERSION is the namespace's version the answer was filled at, exactly as
 * Redis returned it (decimal, "0" before the first write); a reader serves
 * the entry only when it equals the version it read in the same MGET.
 */
#ifndef CB_READCACHE_ENTRY_H
#define CB_READCACHE_ENTRY_H

#include <stddef.h>
#include <stdint.h>

#define CB_READCACHE_ENTRY_MAGIC "cbrc2 "
#define CB_READCACHE_ENTRY_MAGIC_LEN (sizeof(CB_READCACHE_ENTRY_MAGIC) - 1)
#define CB_READCACHE_MAX_VERSION_DIGITS 20  /* an INCR result: up to 2^63-1 */
#define CB_READCACHE_MAX_FRESH_DIGITS 18    /* 18 nines still fit an int64_t */

typedef struct cb_readcache_entry {
    const char *version;    /* inside the stored bytes, not NUL-terminated */
    size_t version_len;     /* 1 to 20 digits */
    int64_t fresh_until_ms;
    const char *value;      /* inside the stored bytes */
    size_t value_len;
} cb_readcache_entry;

/* 1 and *e when stored is a well-formed entry, else 0. */
int cb_readcache_entry_parse(const char *stored, size_t stored_len, cb_readcache_entry *e);

#endif
