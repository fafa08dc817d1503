/*
 * sign_bench.c: microbenchmark of the object-store signers
 * (core/sigv4.c, core/cos_sign.c), run by scripts/bench.sh. Prints, one
 * "sign_bench: NAME=VALUE" line each, single-threaded: S3 presigned GET URLs
 * per second (cb_s3_presign_url, session token included), SigV4 presigned
 * URL verifications per second (cb_sigv4_verify) and COS authorizations per
 * second (cb_cos_authorization), each measured for about SIGN_BENCH_SECONDS
 * seconds (default 2) of this thread's CPU time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_tables.h>

#include "cloudbase/sign.h"

#define NOW 1700000000

static double seconds_per_test = 2.0;
static const char secret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
static const cb_sigv4_credentials cred = { "AKIDEXAMPLE", secret, "session-token" };

/* CPU time of this thread: the rate per second of one core, which other
 * processes sharing the machine do not lower. */
static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef int (*bench_fn)(apr_pool_t *scratch, unsigned long i);

/* Calls fn until seconds_per_test passed; calls per second. The scratch pool
 * stands for a request pool: cleared every 256 calls. */
static double run(apr_pool_t *parent, bench_fn fn)
{
    apr_pool_t *scratch;
    unsigned long calls = 0;
    double began, elapsed;
    apr_pool_create(&scratch, parent);
    for (unsigned long i = 0; i < 1000; i++)
        if (!fn(scratch, i)) {
            fprintf(stderr, "sign_bench: warm-up call failed\n");
            exit(1);
        }
    apr_pool_clear(scratch);
    began = cpu_seconds();
    do {
        for (int i = 0; i < 256; i++)
            if (!fn(scratch, calls + (unsigned long)i)) {
                fprintf(stderr, "sign_bench: call failed\n");
                exit(1);
            }
        calls += 256;
        apr_pool_clear(scratch);
        elapsed = cpu_seconds() - began;
    } while (elapsed < seconds_per_test);
    apr_pool_destroy(scratch);
    return (double)calls / elapsed;
}

/* A download URL as the storage plugin would make it: a distinct key each
 * call, path-style, with the response-content-disposition parameter. */
static int presign(apr_pool_t *p, unsigned long i)
{
    cb_sign_pair q[] = { { "response-content-disposition", "attachment; filename=\"photo.jpg\"" } };
    cb_s3_object o = { .endpoint = "https://s3.us-east-1.amazonaws.com", .bucket = "env-bucket",
                       .key = apr_psprintf(p, "users/u%lu/photo 2024.jpg", i), .method = "GET",
                       .query = q, .n_query = 1 };
    return cb_s3_presign_url(p, &cred, "us-east-1", &o, NOW, 900) != NULL;
}

static const char *lookup(void *ctx, const char *access_key)
{
    (void)ctx;
    (void)access_key;
    return secret;
}

static const char *verify_path, *verify_query;

static int verify(apr_pool_t *p, unsigned long i)
{
    (void)i;
    apr_table_t *h = apr_table_make(p, 4);
    apr_table_setn(h, "Host", "s3.us-east-1.amazonaws.com");
    cb_sigv4_incoming in = { .method = "GET", .path = verify_path, .query = verify_query, .headers = h,
                             .service = "s3", .region = "us-east-1", .now = NOW + 10, .secret = lookup };
    cb_sigv4_verified v;
    return cb_sigv4_verify(p, &in, &v) == CB_SIGV4_OK;
}

static int cos_authorize(apr_pool_t *p, unsigned long i)
{
    cb_sign_pair h[] = { { "x-cos-meta-fileid", apr_psprintf(p, "cloud://env.bkt/u/%lu.jpg", i) },
                         { "x-cos-security-token", "session-token" }, { "Content-Type", "image/jpeg" } };
    cb_cos_request r = { .secret_id = "AKIDcos", .secret_key = secret, .method = "put",
                         .key = apr_psprintf(p, "u/%lu.jpg", i), .headers = h, .n_headers = 3,
                         .start = NOW, .end = NOW + 900 };
    return cb_cos_authorization(p, &r) != NULL;
}

int main(void)
{
    apr_pool_t *pool;
    const char *env = getenv("SIGN_BENCH_SECONDS");
    if (env && atof(env) > 0)
        seconds_per_test = atof(env);
    apr_initialize();
    apr_pool_create(&pool, NULL);

    cb_s3_object o = { .endpoint = "https://s3.us-east-1.amazonaws.com", .bucket = "env-bucket",
                       .key = "users/u1/photo 2024.jpg", .method = "GET" };
    const char *url = cb_s3_presign_url(pool, &cred, "us-east-1", &o, NOW, 900);
    const char *path = strchr(url + strlen("https://"), '/'), *qm = strchr(path, '?');
    verify_path = apr_pstrndup(pool, path, (size_t)(qm - path));
    verify_query = qm + 1;

    printf("sign_bench: s3_presign_per_sec=%.0f\n", run(pool, presign));
    printf("sign_bench: sigv4_verify_presigned_per_sec=%.0f\n", run(pool, verify));
    printf("sign_bench: cos_authorization_per_sec=%.0f\n", run(pool, cos_authorize));
    apr_pool_destroy(pool);
    apr_terminate();
    return 0;
}
