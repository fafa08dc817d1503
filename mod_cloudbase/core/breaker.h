/*
 * breaker.h: the fast-fail breaker shared by the core's clients of outside
 * servers (Redis, the database). After a failure, calls fail at once for a
 * window; then one caller probes the server while the others keep failing
 * fast. The window doubles from retry= while failures repeat, but never
 * grows past one second (or retry= itself when that is longer), so every
 * process tries again within about a second of the server's return.
 *
 * The breaker has no lock of its own: its owner guards it with the lock
 * that guards the rest of its state (a connection pool, say).
 */
#ifndef CB_BREAKER_H
#define CB_BREAKER_H

#include <stdint.h>

#include <apr_time.h>

typedef struct cb_breaker {
    int64_t retry_ms;           /* the first fail-fast window */
    apr_time_t open_until;      /* fail fast before this time; 0 = closed */
    int consecutive_failures;
    int probing;                /* one caller is testing the server */
} cb_breaker;

void cb_breaker_init(cb_breaker *b, int64_t retry_ms);
/* 1 when a call may go ahead, with *is_probe set when it is the one call
 * testing the server after the window; 0 while calls fail fast. */
int cb_breaker_enter(cb_breaker *b, apr_time_t now, int *is_probe);
/* Records how the call went: healthy closes the breaker, a failure opens
 * it for the next window. */
void cb_breaker_leave(cb_breaker *b, apr_time_t now, int healthy, int is_probe);
/* 1 unless calls would fail fast at now. */
int cb_breaker_available(const cb_breaker *b, apr_time_t now);
/* The fail-fast window after the n-th consecutive failure (n >= 1). */
int64_t cb_breaker_window_ms(int64_t retry_ms, int failures);

#endif
