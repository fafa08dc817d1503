/*
 * breaker.c: the fast-fail breaker of breaker.h, used by redis.c and db.c.
 */
#include "breaker.h"

#define MAX_BACKOFF_FACTOR 8
#define WINDOW_CEILING_MS 1000

void cb_breaker_init(cb_breaker *b, int64_t retry_ms)
{
    b->retry_ms = retry_ms;
    b->open_until = 0;
    b->consecutive_failures = 0;
    b->probing = 0;
}

int64_t cb_breaker_window_ms(int64_t retry_ms, int failures)
{
    int64_t factor = failures <= 1 ? 1
                     : failures <= 3 ? (int64_t)1 << (failures - 1)
                                     : MAX_BACKOFF_FACTOR;
    int64_t ceiling = retry_ms > WINDOW_CEILING_MS ? retry_ms : WINDOW_CEILING_MS;
    int64_t window = retry_ms * factor;
    return window < ceiling ? window : ceiling;
}

int cb_breaker_enter(cb_breaker *b, apr_time_t now, int *is_probe)
{
    *is_probe = 0;
    if (!b->open_until)
        return 1;
    if (now < b->open_until || b->probing)
        return 0;
    b->probing = *is_probe = 1;
    return 1;
}

void cb_breaker_leave(cb_breaker *b, apr_time_t now, int healthy, int is_probe)
{
    if (is_probe)
        b->probing = 0;
    if (healthy) {
        b->open_until = 0;
        b->consecutive_failures = 0;
        return;
    }
    b->consecutive_failures++;
    b->open_until = now + apr_time_from_msec(cb_breaker_window_ms(b->retry_ms,
                                                                  b->consecutive_failures));
}

int cb_breaker_available(const cb_breaker *b, apr_time_t now)
{
    return b->open_until == 0 || now >= b->open_until;
}
