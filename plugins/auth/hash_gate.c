/*
 * hash_gate.c: the per-process bound on concurrent password hashes, and
 * what keeps their memory from staying behind.
 *
 * A password check is one scrypt run: 128 * r * N bytes (16 MiB with the
 * default cost), allocated and freed inside OpenSSL. Left alone, every
 * request thread that hashes touches its own glibc arena, and glibc keeps
 * the freed buffers in them: a burst of sign-ins with made-up usernames
 * grew a gateway by gigabytes, for good. So:
 *
 *  - at most max_concurrent_hashes hashes run at once in a process; the
 *    others queue up to hash_queue_wait, then the caller answers 503;
 *  - glibc's mmap threshold, which otherwise rises to the size of the
 *    first large buffer freed, is pinned (in create() before the decoy
 *    hash, and in each worker's child_init), so every scrypt buffer is its
 *    own mapping and goes back to the system when freed, whichever thread
 *    ran it.
 */
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "auth.h"

/* Blocks of at least this size are mapped on their own (scrypt with r = 8
 * and N >= 1024 needs more); free top memory past twice that is trimmed. */
#define HASH_MMAP_THRESHOLD (1024 * 1024)

struct auth_hash_gate {
    apr_thread_mutex_t *lock;
    apr_thread_cond_t *freed;
    int in_use;
    int limit;
    apr_interval_time_t max_wait;
};

auth_hash_gate *auth_hash_gate_create(apr_pool_t *p, int limit, apr_interval_time_t max_wait)
{
    auth_hash_gate *gate = apr_pcalloc(p, sizeof(*gate));
    if (apr_thread_mutex_create(&gate->lock, APR_THREAD_MUTEX_DEFAULT, p) != APR_SUCCESS ||
        apr_thread_cond_create(&gate->freed, p) != APR_SUCCESS)
        return NULL;
    gate->limit = limit;
    gate->max_wait = max_wait;
    return gate;
}

int auth_hash_gate_enter(auth_hash_gate *gate)
{
    apr_time_t deadline = apr_time_now() + gate->max_wait;
    int entered = 0;
    apr_thread_mutex_lock(gate->lock);
    for (;;) {
        apr_interval_time_t left;
        if (gate->in_use < gate->limit) {
            gate->in_use++;
            entered = 1;
            break;
        }
        left = deadline - apr_time_now();
        if (left <= 0)
            break;
        apr_thread_cond_timedwait(gate->freed, gate->lock, left);
    }
    apr_thread_mutex_unlock(gate->lock);
    return entered;
}

void auth_hash_gate_leave(auth_hash_gate *gate)
{
    apr_thread_mutex_lock(gate->lock);
    gate->in_use--;
    apr_thread_cond_signal(gate->freed);
    apr_thread_mutex_unlock(gate->lock);
}

void auth_hash_memory_setup(void)
{
#ifdef __GLIBC__
    mallopt(M_MMAP_THRESHOLD, HASH_MMAP_THRESHOLD);
    mallopt(M_TRIM_THRESHOLD, 2 * HASH_MMAP_THRESHOLD);
#endif
}
