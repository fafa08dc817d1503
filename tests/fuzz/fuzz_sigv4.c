/*
 * fuzz_sigv4.c: libFuzzer target for the SigV4 verifier's parsers
 * (core/sigv4_verify.c: Authorization header, presigned query, credential
 * scope, X-Amz-Date, signed header list) and the signers (core/sigv4.c,
 * core/cos_sign.c) on arbitrary keys.
 *
 * The input is split at newlines into: method, path, query, Authorization,
 * x-amz-date, x-amz-content-sha256, and an object key. Invariants:
 *  - cb_sigv4_verify returns one of its statuses and never crashes, whatever
 *    the fields hold; OK only with the access key the lookup knows;
 *  - a URL cb_s3_presign_url makes for the key (path-style and virtual-
 *    hosted) verifies as OK, and as BAD_SIGNATURE with one more parameter
 *    (the input's query as its value) or for another object;
 *  - cb_cos_authorization accepts any key and query value.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_tables.h>

#include "cloudbase/encoding.h"
#include "cloudbase/sign.h"

#define FUZZ_TARGET_NAME "fuzz_sigv4"
#include "fuzz_support.h"

#define NOW 1700000000

/* The input being run, for require()'s report. */
static const char *current_input = "";

static const char *lookup(void *ctx, const char *access_key)
{
    (void)ctx;
    return !strcmp(access_key, "AKIDFUZZ") ? "fuzz-secret" : NULL;
}

static cb_sigv4_status verify(apr_pool_t *p, const char *method, const char *path, const char *query,
                              apr_table_t *h, cb_sigv4_verified *v)
{
    cb_sigv4_incoming in = { .method = method, .path = path, .query = query, .headers = h, .service = "s3",
                             .region = "us-east-1", .now = NOW, .secret = lookup };
    cb_sigv4_status st = cb_sigv4_verify(p, &in, v);
    require(st >= CB_SIGV4_OK && st <= CB_SIGV4_SKEWED, "status in range", current_input);
    require(cb_sigv4_status_s3_code(st) && cb_sigv4_status_message(st), "status has a code and a message",
            current_input);
    if (st == CB_SIGV4_OK)
        require(v->access_key && !strcmp(v->access_key, "AKIDFUZZ"), "OK only for the known key", current_input);
    return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = iteration_pool;
    char *text = apr_pstrmemdup(p, (const char *)data, size), *fields[7] = { 0 };
    current_input = apr_pstrmemdup(p, (const char *)data, size);
    size_t n = 0;
    for (char *s = text; n < 7;) {
        fields[n++] = s;
        char *nl = strchr(s, '\n');
        if (!nl)
            break;
        *nl = '\0';
        s = nl + 1;
    }
    for (size_t i = n; i < 7; i++)
        fields[i] = "";

    apr_table_t *h = apr_table_make(p, 4);
    apr_table_set(h, "Host", "127.0.0.1:9000");
    if (*fields[3])
        apr_table_set(h, "Authorization", fields[3]);
    if (*fields[4])
        apr_table_set(h, "X-Amz-Date", fields[4]);
    if (*fields[5])
        apr_table_set(h, "X-Amz-Content-Sha256", fields[5]);
    cb_sigv4_verified v;
    verify(p, fields[0], fields[1], fields[2], h, &v);

    /* Round trip of a URL for the key, then the same URL tampered with. */
    cb_sigv4_credentials cred = { "AKIDFUZZ", "fuzz-secret", NULL };
    for (int virtual_hosted = 0; virtual_hosted < 2; virtual_hosted++) {
        cb_s3_object o = { .endpoint = "http://127.0.0.1:9000", .bucket = "bkt", .key = fields[6],
                           .virtual_hosted = virtual_hosted, .method = "GET" };
        const char *url = cb_s3_presign_url(p, &cred, "us-east-1", &o, NOW, 900);
        require(url != NULL, "any key presigns", current_input);
        const char *rest = url + strlen("http://"), *slash = strchr(rest, '/'), *qm = strchr(slash, '?');
        apr_table_t *uh = apr_table_make(p, 1);
        apr_table_set(uh, "Host", apr_pstrmemdup(p, rest, (size_t)(slash - rest)));
        const char *path = apr_pstrmemdup(p, slash, (size_t)(qm - slash));
        require(verify(p, "GET", path, qm + 1, uh, &v) == CB_SIGV4_OK, "a presigned URL verifies",
                current_input);
        const char *extra = cb_percent_encode(p, fields[2], strlen(fields[2]), 0);
        require(verify(p, "GET", path, apr_pstrcat(p, qm + 1, "&zz=", extra, NULL), uh, &v) ==
                    CB_SIGV4_BAD_SIGNATURE, "an added parameter breaks the signature", current_input);
        if (strcmp(fields[6], "other"))
            require(verify(p, "GET", virtual_hosted ? "/other" : "/bkt/other", qm + 1, uh, &v) ==
                        CB_SIGV4_BAD_SIGNATURE, "the URL does not verify for another object", current_input);
    }
    cb_sign_pair q[] = { { "prefix", fields[2] } };
    cb_cos_request r = { .secret_id = "id", .secret_key = "key", .method = "get", .key = fields[6],
                         .query = q, .n_query = 1, .start = NOW, .end = NOW + 1 };
    require(cb_cos_authorization(p, &r) != NULL, "any key gets a COS authorization", current_input);
    apr_pool_clear(iteration_pool);
    return 0;
}
