/*
 * object_id.c: the storage plugin's pure parsers: object paths, the ids
 * the SDK sends (a bare path, or cloud://{env}.{bucket}/{path}), and the
 * URL key of a path, chosen so that encodeURI never changes a download URL,
 * and the flag words of the plugin's option lines (`default`, `admin`).
 * Fuzzed by tests/fuzz/fuzz_storage.c.
 */
#include <string.h>

#include <apr_strings.h>

#include "cloudbase/encoding.h"
#include "storage.h"

#define CLOUD_SCHEME "cloud://"

const char *st_path_problem(const char *path, size_t len)
{
    size_t seg_start = 0;
    if (len == 0)
        return "the object path is empty";
    if (len > ST_MAX_PATH)
        return "the object path is longer than 1024 bytes";
    if (path[0] == '/')
        return "the object path must not start with '/'";
    if (path[len - 1] == '/')
        return "the object path must not end with '/'";
    for (size_t i = 0; i <= len; i++) {
        unsigned char c = i < len ? (unsigned char)path[i] : '/';
        if (i < len && (c < 0x20 || c == 0x7f))
            return "the object path must not contain control characters or NUL";
        if (c == '\\')
            return "the object path must not contain a backslash";
        if (c == '/') {
            size_t seg = i - seg_start;
            if (seg == 0)
                return "the object path must not contain an empty segment ('//')";
            if ((seg == 1 && path[seg_start] == '.') ||
                (seg == 2 && path[seg_start] == '.' && path[seg_start + 1] == '.'))
                return "the object path must not contain '.' or '..' segments";
            seg_start = i + 1;
        }
    }
    return NULL;
}

static int bucket_name_ok(const char *s, size_t len)
{
    if (len == 0 || len > 63)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

const char *st_parse_object_id(apr_pool_t *p, const char *env, const char *text, size_t len,
                               st_object_id *out)
{
    const char *problem;
    size_t scheme_len = sizeof(CLOUD_SCHEME) - 1, env_len = strlen(env);
    memset(out, 0, sizeof(*out));
    if (!text)
        return "the object id is missing";
    if (len >= scheme_len && strncmp(text, CLOUD_SCHEME, scheme_len) == 0) {
        const char *host = text + scheme_len, *end = text + len, *slash;
        slash = memchr(host, '/', (size_t)(end - host));
        if (!slash)
            return "a cloud:// id needs a path after the bucket";
        if ((size_t)(slash - host) <= env_len + 1 || strncmp(host, env, env_len) != 0 ||
            host[env_len] != '.')
            return "the object id belongs to another environment";
        if (!bucket_name_ok(host + env_len + 1, (size_t)(slash - host) - env_len - 1))
            return "the object id names an invalid bucket";
        if ((problem = st_path_problem(slash + 1, (size_t)(end - slash - 1))))
            return problem;
        out->bucket = apr_pstrmemdup(p, host + env_len + 1, (size_t)(slash - host) - env_len - 1);
        out->path = apr_pstrmemdup(p, slash + 1, (size_t)(end - slash - 1));
        return NULL;
    }
    if (memchr(text, ':', len) && len >= 2 && memmem(text, len, "://", 3))
        return "the object id must be a path or a cloud:// id";
    if ((problem = st_path_problem(text, len)))
        return problem;
    out->bucket = "";
    out->path = apr_pstrmemdup(p, text, len);
    return NULL;
}

const char *st_cloud_id(apr_pool_t *p, const char *env, const char *bucket, const char *path)
{
    return apr_pstrcat(p, CLOUD_SCHEME, env, ".", bucket, "/", path, NULL);
}

/* Bytes encodeURI leaves alone, less '?' and '#' (which end a path) and
 * '%' (never in a key we make). */
static int url_safe(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           strchr("-_.!~*'();:@&=+$,/", c) != NULL;
}

const char *st_url_key(apr_pool_t *p, const char *path)
{
    size_t len = strlen(path);
    int plain = len > 0 && path[0] != '~';
    for (size_t i = 0; plain && i < len; i++)
        plain = url_safe((unsigned char)path[i]);
    if (plain)
        return path;
    return apr_pstrcat(p, "~", cb_base64url_encode(p, (const unsigned char *)path, len), NULL);
}

const char *st_path_of_url_key(apr_pool_t *p, const char *key)
{
    unsigned char *decoded;
    size_t len;
    if (!key || !*key)
        return NULL;
    if (key[0] != '~') {
        for (const char *c = key; *c; c++)
            if (!url_safe((unsigned char)*c))
                return NULL;
        return st_path_problem(key, strlen(key)) ? NULL : key;
    }
    if (cb_base64url_decode(p, key + 1, strlen(key + 1), &decoded, &len) != 0)
        return NULL;
    if (st_path_problem((const char *)decoded, len) ||
        strcmp(st_url_key(p, (const char *)decoded), key) != 0)
        return NULL;   /* only the one key st_url_key makes */
    return (const char *)decoded;
}

const char *st_without_flag_word(apr_pool_t *p, const char *text, const char *flag,
                                 int *found)
{
    char *copy = apr_pstrdup(p, text), *state = NULL, *word;
    const char *out = "";
    *found = 0;
    for (word = apr_strtok(copy, " \t", &state); word; word = apr_strtok(NULL, " \t", &state)) {
        if (strcmp(word, flag) == 0 && *out) {
            *found = 1;
            continue;
        }
        out = apr_pstrcat(p, out, *out ? " " : "", word, NULL);
    }
    return out;
}
