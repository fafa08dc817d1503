/*
 * jwt_bench.c: microbenchmark of plugins/auth/jwt.c. Prints, one
 * "jwt_bench: NAME=VALUE" line each, single-threaded: verifications per
 * second for HS256 and ES256 (each measured for about JWT_BENCH_SECONDS
 * seconds, default 2), HS256 verification of a header the keyring did not
 * write (the strict JSON parse path), and signatures per second; then the
 * number of online CPUs and HS256/ES256 verifications per second with one
 * thread per online CPU verifying at once (each with its own APR pool), the
 * sum of the threads' rates.
 *
 * Build (from the repository root):
 *   gcc -O2 -std=gnu11 -pthread -Iplugins/auth $(pkg-config --cflags apr-1 jansson openssl) \
 *       tests/bench/jwt_bench.c plugins/auth/jwt.c plugins/auth/jwt_claims.c \
 *       $(pkg-config --libs apr-1 jansson openssl) -o jwt_bench
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "jwt.h"

#define NOW 1700000000

static double seconds_per_test = 2.0;

static double monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "jwt_bench: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    exit(1);
}

typedef int (*bench_fn)(apr_pool_t *scratch, void *arg);

/* Calls fn until seconds_per_test passed; returns calls per second. The
 * scratch pool stands for a request pool: cleared every 256 calls. With
 * barrier, waits there after the warm-up so that all threads measure at once. */
static double run(apr_pool_t *parent, bench_fn fn, void *arg, pthread_barrier_t *barrier)
{
    apr_pool_t *scratch;
    unsigned long calls = 0;
    double began, elapsed;
    apr_pool_create(&scratch, parent);
    for (int i = 0; i < 1000; i++)           /* warm up */
        if (!fn(scratch, arg))
            die("warm-up call failed", NULL);
    apr_pool_clear(scratch);
    if (barrier)
        pthread_barrier_wait(barrier);
    began = monotonic();
    do {
        for (int i = 0; i < 256; i++)
            if (!fn(scratch, arg))
                die("call failed", NULL);
        calls += 256;
        apr_pool_clear(scratch);
        elapsed = monotonic() - began;
    } while (elapsed < seconds_per_test);
    apr_pool_destroy(scratch);
    return (double)calls / elapsed;
}

typedef struct {
    const cb_jwt_keyring *kr;
    const char *token;
    size_t len;
    cb_jwt_claims claims;
} bench_arg;

static int verify_once(apr_pool_t *p, void *arg)
{
    bench_arg *b = arg;
    cb_jwt_claims out;
    return cb_jwt_verify(p, b->kr, b->token, b->len, "prod", NOW, 30, &out) == CB_JWT_OK;
}

static int sign_once(apr_pool_t *p, void *arg)
{
    bench_arg *b = arg;
    const char *token;
    return cb_jwt_sign(p, b->kr, &b->claims, &token) == NULL;
}

typedef struct {
    bench_fn fn;
    void *arg;
    pthread_barrier_t *barrier;
    double per_sec;
} thread_job;

static void *run_thread(void *data)
{
    thread_job *job = data;
    apr_pool_t *pool;
    /* an allocator of its own: threads share no pool lock */
    if (apr_pool_create_unmanaged(&pool) != APR_SUCCESS)
        die("cannot create a pool", NULL);
    job->per_sec = run(pool, job->fn, job->arg, job->barrier);
    apr_pool_destroy(pool);
    return NULL;
}

/* Runs fn in one thread per online CPU at once; returns the sum of their
 * calls per second. */
static double run_all_cores(apr_pool_t *p, long cpus, bench_fn fn, void *arg)
{
    pthread_t *threads = apr_palloc(p, (size_t)cpus * sizeof(*threads));
    thread_job *jobs = apr_palloc(p, (size_t)cpus * sizeof(*jobs));
    pthread_barrier_t barrier;
    double sum = 0;
    pthread_barrier_init(&barrier, NULL, (unsigned)cpus);
    for (long i = 0; i < cpus; i++) {
        jobs[i] = (thread_job){fn, arg, &barrier, 0};
        if (pthread_create(&threads[i], NULL, run_thread, &jobs[i]))
            die("cannot start a thread", NULL);
    }
    for (long i = 0; i < cpus; i++) {
        pthread_join(threads[i], NULL);
        sum += jobs[i].per_sec;
    }
    pthread_barrier_destroy(&barrier);
    return sum;
}

/* A P-256 private key in a fresh temp file; returns its path. */
static const char *write_es256_key(apr_pool_t *p)
{
    char *path = apr_pstrdup(p, "/tmp/jwt_bench_XXXXXX");
    int fd = mkstemp(path);
    EVP_PKEY *pkey = EVP_EC_gen("P-256");
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!pkey || !f || !PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL))
        die("cannot write a P-256 key", path);
    fclose(f);
    EVP_PKEY_free(pkey);
    return path;
}

static void report(const char *name, double per_sec)
{
    printf("jwt_bench: %s=%.0f\n", name, per_sec);
    fflush(stdout);
}

int main(void)
{
    apr_pool_t *pool;
    cb_jwt_keyring *hs, *es;
    const char *err, *key_path, *env = getenv("JWT_BENCH_SECONDS");
    static const unsigned char secret[48] = "0123456789abcdef0123456789abcdef-bench-secret!";
    bench_arg b, hs_b;
    const char *header, *rest, *dot;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    if (env && atof(env) > 0)
        seconds_per_test = atof(env);
    apr_initialize();
    apr_pool_create(&pool, NULL);

    memset(&b, 0, sizeof(b));
    b.claims.sub = "user-8f14e45fceea167a5a36dedd4bea2543";
    b.claims.env = "prod";
    b.claims.scope = "read write";
    b.claims.sid = "sess-c9f0f895fb98ab9159f51fd0297e236d";
    b.claims.jti = "jti-45c48cce2e2d7fbdea1afc51c7c6ad26";
    b.claims.kind = "user";
    b.claims.iat = NOW - 60;
    b.claims.exp = NOW + 3600;

    hs = cb_jwt_keyring_create(pool);
    if ((err = cb_jwt_keyring_add_hs256(hs, pool, "hs-old", secret, sizeof(secret), 1))
        || (err = cb_jwt_keyring_add_hs256(hs, pool, "hs-new", secret, sizeof(secret), 1)))
        die("HS256 key", err);
    es = cb_jwt_keyring_create(pool);
    key_path = write_es256_key(pool);
    err = cb_jwt_keyring_add_es256_pem(es, pool, "es-1", key_path, 1);
    unlink(key_path);
    if (err)
        die("ES256 key", err);

    b.kr = hs;
    if ((err = cb_jwt_sign(pool, hs, &b.claims, &b.token)))
        die("HS256 sign", err);
    b.len = strlen(b.token);
    hs_b = b;
    printf("jwt_bench: hs256_token_bytes=%zu\n", b.len);
    report("hs256_verify_per_sec", run(pool, verify_once, &b, NULL));

    /* Same claims under a header spelled differently: no fast path. */
    header = cb_base64url_encode(pool, (const unsigned char *)
                                  "{\"kid\":\"hs-new\",\"typ\":\"JWT\",\"alg\":\"HS256\"}", 42);
    dot = strchr(b.token, '.');
    rest = apr_pstrndup(pool, dot, (size_t)(strrchr(b.token, '.') - dot + 1));
    {
        /* re-sign header.payload with the same secret via a one-key ring */
        bench_arg slow = b;
        unsigned char mac[32];
        size_t mac_len = sizeof(mac);
        const char *input = apr_pstrcat(pool, header, apr_pstrndup(pool, rest, strlen(rest) - 1),
                                        NULL);
        if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, secret, sizeof(secret),
                       (const unsigned char *)input, strlen(input), mac, sizeof(mac), &mac_len))
            die("HMAC", NULL);
        slow.token = apr_pstrcat(pool, input, ".", cb_base64url_encode(pool, mac, mac_len),
                                 NULL);
        slow.len = strlen(slow.token);
        report("hs256_verify_parsed_header_per_sec", run(pool, verify_once, &slow, NULL));
    }
    report("hs256_sign_per_sec", run(pool, sign_once, &b, NULL));

    b.kr = es;
    if ((err = cb_jwt_sign(pool, es, &b.claims, &b.token)))
        die("ES256 sign", err);
    b.len = strlen(b.token);
    report("es256_verify_per_sec", run(pool, verify_once, &b, NULL));
    report("es256_sign_per_sec", run(pool, sign_once, &b, NULL));

    if (cpus < 1)
        cpus = 1;
    printf("jwt_bench: online_cpus=%ld\n", cpus);
    report("hs256_verify_per_sec_all_cores", run_all_cores(pool, cpus, verify_once, &hs_b));
    report("es256_verify_per_sec_all_cores", run_all_cores(pool, cpus, verify_once, &b));

    apr_pool_destroy(pool);
    apr_terminate();
    return 0;
}
