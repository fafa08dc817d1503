/*
 * parse.c: the auth plugin's parsers for values that arrive in requests or
 * from storage, one per kind: usernames, device ids, HTTP Basic
 * credentials, Bearer tokens, refresh tokens, API-key shapes, request
 * bodies and stored password hashes. Pure functions (no Redis, no I/O), so
 * each has a fuzz target (tests/fuzz/fuzz_auth.c, fuzz_auth_body.c).
 */
#include <ctype.h>
#include <string.h>

#include <apr_base64.h>
#include <apr_strings.h>

#include "apikey_service.h"
#include "auth.h"
#include "cloudbase/json.h"

#define DEVICE_ID_MAX 128
#define BASIC_MAX 1024

static int is_lower_hex(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

const char *auth_username_problem(const char *username)
{
    size_t len = username ? strlen(username) : 0;
    if (len < 2 || len > 48)
        return "username must be 2 to 48 characters";
    for (const char *c = username; *c; c++)
        if (!isalnum((unsigned char)*c) && !strchr("._@-", *c))
            return "username may contain letters, digits and . _ @ - only";
    return NULL;
}

int auth_device_id_ok(const char *id)
{
    size_t len = id ? strlen(id) : 0;
    if (len == 0 || len > DEVICE_ID_MAX)
        return 0;
    for (const char *c = id; *c; c++)
        if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
            return 0;
    return 1;
}

int auth_parse_basic(apr_pool_t *p, const char *header, const char **id, const char **secret)
{
    const char *encoded;
    char *decoded, *colon;
    size_t len;
    int decoded_len;
    if (!header || strncasecmp(header, "Basic ", 6) != 0)
        return 0;
    encoded = header + 6;
    while (*encoded == ' ')
        encoded++;
    len = strlen(encoded);
    if (len == 0 || len > BASIC_MAX)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)encoded[i]) && !strchr("+/=", encoded[i]))
            return 0;
    decoded = apr_palloc(p, (apr_size_t)apr_base64_decode_len(encoded) + 1);
    decoded_len = apr_base64_decode(decoded, encoded);
    decoded[decoded_len] = '\0';
    if ((int)strlen(decoded) != decoded_len || !(colon = strchr(decoded, ':')))
        return 0; /* embedded NUL or no separator */
    *colon = '\0';
    *id = decoded;
    *secret = colon + 1;
    return 1;
}

const char *auth_refresh_token_sid(apr_pool_t *p, const char *token)
{
    if (!token || strlen(token) != AUTH_ID_LENGTH + 1 + 64 || token[AUTH_ID_LENGTH] != '.' ||
        !is_lower_hex(token, AUTH_ID_LENGTH) || !is_lower_hex(token + AUTH_ID_LENGTH + 1, 64))
        return NULL;
    return apr_pstrmemdup(p, token, AUTH_ID_LENGTH);
}

int auth_apikey_prefix_ok(const char *word)
{
    return word && (strcmp(word, "cbk") == 0 || strcmp(word, "tb") == 0);
}

/* The key prefixes auth_apikey_shape accepts besides "cbk_ENV_" and "tb_ENV_". */
static const char *const other_prefixes[] = {AUTH_APIKEY_TOSE_PREFIX, NULL};

int auth_apikey_other_prefix(const char *text)
{
    for (int i = 0; other_prefixes[i]; i++)
        if (strncmp(text, other_prefixes[i], strlen(other_prefixes[i])) == 0)
            return (int)strlen(other_prefixes[i]);
    return 0;
}

int auth_apikey_shape(const auth_state *st, const char *text)
{
    size_t env_len = strlen(st->env), len = text ? strlen(text) : 0, head;
    size_t other = len ? (size_t)auth_apikey_other_prefix(text) : 0;
    if (other)
        return len == other + AUTH_KEY_RANDOM_HEX && is_lower_hex(text + other, AUTH_KEY_RANDOM_HEX);
    if (len > 4 && strncmp(text, "cbk_", 4) == 0)
        head = 4;
    else if (len > 3 && strncmp(text, "tb_", 3) == 0)
        head = 3;
    else
        return 0;
    if (len != head + env_len + 1 + AUTH_KEY_RANDOM_HEX ||
        strncmp(text + head, st->env, env_len) != 0 || text[head + env_len] != '_')
        return 0;
    return is_lower_hex(text + head + env_len + 1, AUTH_KEY_RANDOM_HEX);
}

const char *auth_bearer_token(const char *authorization)
{
    const char *token;
    if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
        return NULL;
    token = authorization + 7;
    while (*token == ' ')
        token++;
    return token;
}

cb_json *auth_stored_array(apr_pool_t *p, const char *text)
{
    cb_json *array = text ? cb_json_parse(p, text, strlen(text), NULL) : NULL;
    return cb_json_is_array(array) ? array : cb_json_new_array(p);
}

static int hex_bytes(const char *hex, size_t hex_len, unsigned char *out, size_t len)
{
    if (hex_len != 2 * len || !is_lower_hex(hex, hex_len))
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned hi = (unsigned)(isdigit((unsigned char)hex[2 * i]) ? hex[2 * i] - '0' : hex[2 * i] - 'a' + 10);
        unsigned lo = (unsigned)(isdigit((unsigned char)hex[2 * i + 1]) ? hex[2 * i + 1] - '0' : hex[2 * i + 1] - 'a' + 10);
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 1;
}

static int small_number(const char *s, size_t len, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (len == 0 || len > 10)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i]))
            return 0;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v == 0 || v > max)
        return 0;
    *out = v;
    return 1;
}

int auth_password_parse(apr_pool_t *p, const char *stored, auth_password_record *out)
{
    const char *field[6];
    size_t field_len[6];
    const char *s = stored;
    (void)p;
    if (!stored || strncmp(stored, "scrypt$", 7) != 0)
        return 0;
    for (int i = 0; i < 6; i++) {
        const char *end = strchr(s, '$');
        if (i == 5) {
            if (end)
                return 0;
            end = s + strlen(s);
        } else if (!end) {
            return 0;
        }
        field[i] = s;
        field_len[i] = (size_t)(end - s);
        s = end + 1;
    }
    /* Bounds keep a corrupted record from asking scrypt for huge work. */
    return small_number(field[1], field_len[1], 1u << 20, &out->params.n) &&
           out->params.n >= 2 && (out->params.n & (out->params.n - 1)) == 0 &&
           small_number(field[2], field_len[2], 32, &out->params.r) &&
           small_number(field[3], field_len[3], 16, &out->params.p) &&
           hex_bytes(field[4], field_len[4], out->salt, AUTH_SALT_BYTES) &&
           hex_bytes(field[5], field_len[5], out->hash, AUTH_HASH_BYTES);
}
