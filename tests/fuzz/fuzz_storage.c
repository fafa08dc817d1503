/*
 * fuzz_storage.c: libFuzzer target for the storage plugin's pure parsers
 * (plugins/storage/object_id.c, signature.c). Every input is an object id
 * (bare path or cloud://{env}.{bucket}/{path}, NULs included), a URL key and
 * an upload authorization header.
 *
 * Invariants: an accepted id has a bucket of letters, digits, '-' and '_'
 * (or "" for the default) and a path of 1..1024 bytes with no leading or
 * trailing '/', no backslash, NUL or control byte and no empty, "." or ".."
 * segment; its URL key holds only bytes encodeURI leaves alone and decodes
 * back to the same path. An accepted URL key decodes to a valid path whose
 * key is the input itself. An authorization is accepted only when it is
 * byte for byte the one st_sign_upload makes for its grant.
 */
#include <stdint.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "storage.h"

#define FUZZ_TARGET_NAME "fuzz_storage"
#include "fuzz_support.h"

static const char key[] = "fuzz-storage-signing-key-0123456789";

static int valid_path(const char *path, size_t len)
{
    if (len == 0 || len > ST_MAX_PATH || path[0] == '/' || path[len - 1] == '/')
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)path[i];
        if (c < 0x20 || c == 0x7f || c == '\\')
            return 0;
    }
    return !strstr(path, "//") && strcmp(path, ".") && strcmp(path, "..") &&
           strncmp(path, "./", 2) && strncmp(path, "../", 3) && !strstr(path, "/./") &&
           !strstr(path, "/../") &&
           !(len >= 2 && strcmp(path + len - 2, "/.") == 0) &&
           !(len >= 3 && strcmp(path + len - 3, "/..") == 0);
}

static int url_safe_key(const char *k)
{
    return strspn(k, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                     "-_.!~*'();:@&=+$,/") == strlen(k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = apr_pstrmemdup(iteration_pool, (const char *)data, size);
    st_object_id id;
    const char *path;
    st_upload_grant g = {.env = "demo", .bucket = "b", .path = "p", .length = 5,
                         .type = "text/plain"};
    if (!st_parse_object_id(iteration_pool, "demo", text, size, &id)) {
        const char *url_key = st_url_key(iteration_pool, id.path);
        require(valid_path(id.path, strlen(id.path)) && strlen(id.path) <= size,
                "an accepted id has an invalid path", text);
        require(strspn(id.bucket, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                  "0123456789-_") == strlen(id.bucket),
                "an accepted id has an invalid bucket", text);
        require(url_safe_key(url_key), "a URL key needs escaping", text);
        path = st_path_of_url_key(iteration_pool, url_key);
        require(path && strcmp(path, id.path) == 0, "a URL key does not decode back", text);
    }
    if ((path = st_path_of_url_key(iteration_pool, text))) {
        require(valid_path(path, strlen(path)), "a URL key decodes to an invalid path", text);
        require(strcmp(st_url_key(iteration_pool, path), text) == 0,
                "a URL key st_url_key would not make", text);
    }
    if (!st_verify_upload(iteration_pool, key, sizeof(key) - 1, text, &g, 0)) {
        const char *made = st_sign_upload(iteration_pool, key, sizeof(key) - 1, &g);
        require(made && strcmp(made, text) == 0, "a forged authorization was accepted", text);
    }
    apr_pool_clear(iteration_pool);
    return 0;
}
