/*
 * fuzz_storage_bucket.c: libFuzzer target for the remote bucket settings
 * of the storage plugin (plugins/storage/remote.c): every input is a
 * bucket line (`NAME [path_style|virtual_host] backend=s3|cos key=value
 * ...`) read by cb_option_line_parse and st_remote_parse, an object path
 * for st_remote_key and a URL for st_remote_unescape. Inputs naming a
 * file: secret are skipped (a secret file would be read from disk).
 *
 * Invariants: an accepted line has an http(s) endpoint, a host without
 * '/', a region of lower-case letters, digits and '-', a bucket_name of
 * the backend's form (COS: NAME-APPID), an access key and a secret; a
 * virtual-hosted S3 host starts with the bucket name. A store key holds
 * only unreserved bytes and '/', and is prefix + path when the path is
 * made of those alone. st_remote_unescape never lengthens a URL and
 * leaves no %2F, %3B or %3D in it.
 */
#include <stdint.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "remote.h"

#define FUZZ_TARGET_NAME "fuzz_storage_bucket"
#include "fuzz_support.h"

static int only_of(const char *s, const char *set)
{
    return strspn(s, set) == strlen(s);
}

#define UNRESERVED "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~"

static void check_line(const char *text)
{
    cb_option_line line;
    st_remote *r;
    if (strstr(text, "file:") || cb_option_line_parse(iteration_pool, text, 1, 3, &line) ||
        st_remote_parse(iteration_pool, &line, &r))
        return;
    require(r != NULL, "accepted without a remote", text);
    require(!strncmp(r->endpoint, "http://", 7) || !strncmp(r->endpoint, "https://", 8),
            "an endpoint that is not http(s)", text);
    require(*r->host && !strchr(r->host, '/'), "a host with a '/'", text);
    require(*r->region && only_of(r->region, "abcdefghijklmnopqrstuvwxyz0123456789-"),
            "a bad region", text);
    require(r->access_key && *r->access_key && r->secret_key && *r->secret_key,
            "no credentials", text);
    if (r->kind == ST_REMOTE_COS) {
        const char *dash = strrchr(r->bucket_name, '-');
        require(dash && dash[1] && only_of(dash + 1, "0123456789"), "a COS bucket without APPID",
                text);
    } else {
        require(strlen(r->bucket_name) >= 3 && strlen(r->bucket_name) <= 63,
                "an S3 bucket name of a bad length", text);
        require(!r->virtual_hosted ||
                    (!strncmp(r->host, r->bucket_name, strlen(r->bucket_name)) &&
                     r->host[strlen(r->bucket_name)] == '.'),
                "a virtual-hosted host without the bucket", text);
    }
    {
        const char *key = st_remote_key(iteration_pool, r, text);
        require(only_of(key, UNRESERVED "/"), "a store key that needs escaping", text);
        if (text[0] != '~' && only_of(text, UNRESERVED "/"))
            require(!strcmp(key, apr_pstrcat(iteration_pool, r->prefix, text, NULL)),
                    "a plain path not kept as is", text);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = apr_pstrmemdup(iteration_pool, (const char *)data, size);
    const char *plain;
    static const st_remote bare = {.kind = ST_REMOTE_S3, .prefix = ""};
    check_line(text);
    plain = st_remote_unescape(iteration_pool, text);
    require(strlen(plain) <= strlen(text), "unescape lengthened a URL", text);
    require(!strstr(plain, "%2F") && !strstr(plain, "%3D") && !strstr(plain, "%2f") &&
                !strstr(plain, "%3d") && !strstr(plain, "%3B") && !strstr(plain, "%3b"),
            "an escape left", text);
    if (strlen(text) == size && size > 0) {
        const char *key = st_remote_key(iteration_pool, &bare, text);
        require(only_of(key, UNRESERVED "/"), "a store key that needs escaping", text);
    }
    apr_pool_clear(iteration_pool);
    return 0;
}
