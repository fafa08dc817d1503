/*
 * redis_slot.c: the pure parts of Redis Cluster support (see
 * redis_cluster.h): CRC16 and key slots, the keys of a command, cluster
 * redirect replies, and the redis-cluster:// node list.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <apr_strings.h>

#include "cb_core.h"
#include "redis_cluster.h"

#define MAX_SEED_NODES 64

uint16_t cb_redis_crc16(const char *buf, size_t len)
{
    uint16_t crc = 0;
    for (size_t i = 0; i < len; i++) {
        crc ^= (uint16_t)((unsigned char)buf[i] << 8);
        for (int bit = 0; bit < 8; bit++)
            crc = (uint16_t)(crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1);
    }
    return crc;
}

int cb_redis_key_slot(const char *key, size_t len)
{
    const char *open = memchr(key, '{', len);
    if (open) {
        size_t after = (size_t)(open - key) + 1;
        const char *close = memchr(open + 1, '}', len - after);
        if (close && close > open + 1)
            return cb_redis_crc16(open + 1, (size_t)(close - open - 1)) & (CB_REDIS_SLOTS - 1);
    }
    return cb_redis_crc16(key, len) & (CB_REDIS_SLOTS - 1);
}

static int name_is(const char *name, size_t len, const char *const *list)
{
    for (; *list; list++)
        if (strlen(*list) == len && strncasecmp(name, *list, len) == 0)
            return 1;
    return 0;
}

static const char *const keyless_commands[] = {
    "PING", "INFO", "SCRIPT", "CLUSTER", "ECHO", "TIME", "DBSIZE", "FLUSHALL", "FLUSHDB",
    "CONFIG", "CLIENT", "COMMAND", "ASKING", "WAIT", "AUTH", "SELECT", "KEYS", "SCAN",
    "RANDOMKEY", "MULTI", "EXEC", "DISCARD", "PUBLISH", "FUNCTION", "MEMORY", "LASTSAVE",
    "ROLE", "READONLY", "READWRITE", "HELLO", "QUIT", NULL};
static const char *const all_keys_commands[] = {
    "DEL", "UNLINK", "EXISTS", "TOUCH", "MGET", "WATCH", NULL};
static const char *const pair_keys_commands[] = {"MSET", "MSETNX", NULL};
static const char *const script_commands[] = {
    "EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO", NULL};

static size_t arg_len(const char *const *argv, const size_t *argv_len, int i)
{
    return argv_len ? argv_len[i] : strlen(argv[i]);
}

apr_status_t cb_redis_command_slot(int argc, const char *const *argv, const size_t *argv_len,
                                   int *slot)
{
    size_t name_len;
    int first = 1, last = 1, step = 1;
    *slot = -1;
    if (argc < 1)
        return APR_EINVAL;
    name_len = arg_len(argv, argv_len, 0);
    if (name_is(argv[0], name_len, keyless_commands)) {
        return APR_SUCCESS;
    } else if (name_is(argv[0], name_len, script_commands)) {
        char count_text[12];
        size_t count_len;
        int64_t keys;
        if (argc < 3 || (count_len = arg_len(argv, argv_len, 2)) >= sizeof(count_text))
            return APR_EINVAL;
        memcpy(count_text, argv[2], count_len);
        count_text[count_len] = '\0';
        if (cb_parse_int(count_text, &keys) || keys < 0 || keys > argc - 3)
            return APR_EINVAL;
        first = 3;
        last = 2 + (int)keys;
    } else if (name_is(argv[0], name_len, all_keys_commands)) {
        last = argc - 1;
    } else if (name_is(argv[0], name_len, pair_keys_commands)) {
        last = argc - 1;
        step = 2;
    }
    for (int i = first; i <= last && i < argc; i += step) {
        int key_slot = cb_redis_key_slot(argv[i], arg_len(argv, argv_len, i));
        if (*slot >= 0 && key_slot != *slot)
            return CB_REDIS_ECROSSSLOT;
        *slot = key_slot;
    }
    return APR_SUCCESS;
}

/* "WORD SLOT HOST:PORT" after the word; 1 when well formed. */
static int parse_target(const char *text, size_t len, size_t word_len, int *slot, char *host,
                        size_t host_size, int *port)
{
    char buf[300], *colon, *end;
    long n;
    if (len <= word_len + 1 || len - word_len - 1 >= sizeof(buf) || text[word_len] != ' ')
        return 0;
    memcpy(buf, text + word_len + 1, len - word_len - 1);
    buf[len - word_len - 1] = '\0';
    if (!isdigit((unsigned char)buf[0]))
        return 0;
    n = strtol(buf, &end, 10);
    if (*end != ' ' || n < 0 || n >= CB_REDIS_SLOTS)
        return 0;
    *slot = (int)n;
    {
        const char *h = end + 1, *port_end;
        size_t h_len;
        colon = strrchr(h, ':');
        if (!colon || (size_t)(colon - h) >= host_size || !isdigit((unsigned char)colon[1]) ||
            memchr(h, ' ', (size_t)(colon - h)))
            return 0;
        n = strtol(colon + 1, (char **)&port_end, 10);
        if (*port_end != '\0' || n < 1 || n > 65535)
            return 0;
        *port = (int)n;
        h_len = (size_t)(colon - h);
        /* "[::1]:6379" or "::1:6379": brackets are not part of the host. */
        if (h_len >= 2 && h[0] == '[' && h[h_len - 1] == ']') {
            h++;
            h_len -= 2;
        }
        memcpy(host, h, h_len);
        host[h_len] = '\0';
    }
    return 1;
}

cb_redis_redirect cb_redis_parse_redirect(const char *text, size_t len, int *slot, char *host,
                                          size_t host_size, int *port)
{
    if (len >= 6 && strncmp(text, "MOVED ", 6) == 0)
        return parse_target(text, len, 5, slot, host, host_size, port) ? CB_REDIS_REDIRECT_MOVED
                                                                       : CB_REDIS_REDIRECT_NONE;
    if (len >= 4 && strncmp(text, "ASK ", 4) == 0)
        return parse_target(text, len, 3, slot, host, host_size, port) ? CB_REDIS_REDIRECT_ASK
                                                                       : CB_REDIS_REDIRECT_NONE;
    if (len >= 8 && strncmp(text, "TRYAGAIN", 8) == 0)
        return CB_REDIS_REDIRECT_TRYAGAIN;
    if (len >= 11 && strncmp(text, "CLUSTERDOWN", 11) == 0)
        return CB_REDIS_REDIRECT_CLUSTERDOWN;
    return CB_REDIS_REDIRECT_NONE;
}

static const char *parse_node(apr_pool_t *p, const char *item, cb_redis_node_addr *out)
{
    const char *colon, *host_end = item;
    int64_t port;
    if (*item == '[') {
        host_end = strchr(item, ']');
        if (!host_end || host_end[1] != ':')
            return apr_psprintf(p, "'%s' is not HOST:PORT ([IPV6]:PORT for IPv6)", item);
        out->host = apr_pstrmemdup(p, item + 1, (size_t)(host_end - item - 1));
        colon = host_end + 1;
    } else {
        colon = strchr(item, ':');
        if (!colon || strchr(colon + 1, ':'))
            return apr_psprintf(p, "'%s' is not HOST:PORT (the port is required; IPv6 "
                                   "addresses go in brackets)", item);
        out->host = apr_pstrmemdup(p, item, (size_t)(colon - item));
    }
    if (!*out->host)
        return apr_psprintf(p, "'%s' has no host", item);
    for (const char *c = out->host; *c; c++)
        if (!(isalnum((unsigned char)*c) || *c == '.' || *c == '-' || *c == '_' || *c == ':'))
            return apr_psprintf(p, "'%s': the host has a character a host name cannot have",
                                item);
    if (cb_parse_int(colon + 1, &port) || port < 1 || port > 65535)
        return apr_psprintf(p, "'%s': the port must be a number from 1 to 65535", item);
    out->port = (int)port;
    return NULL;
}

const char *cb_redis_parse_cluster_nodes(apr_pool_t *p, const char *list,
                                         cb_redis_node_addr **nodes, int *count)
{
    char *copy = apr_pstrdup(p, list), *save = NULL;
    int n = 0;
    *nodes = apr_pcalloc(p, sizeof(**nodes) * MAX_SEED_NODES);
    *count = 0;
    if (!*list || list[strlen(list) - 1] == ',' || *list == ',' || strstr(list, ",,"))
        return "a cluster address lists nodes separated by single commas, e.g. "
               "redis-cluster://10.0.0.1:6379,10.0.0.2:6379";
    for (char *item = apr_strtok(copy, ",", &save); item; item = apr_strtok(NULL, ",", &save)) {
        const char *err;
        if (n == MAX_SEED_NODES)
            return "a cluster address lists at most 64 nodes (a few are enough: the client "
                   "learns the rest from the cluster)";
        if ((err = parse_node(p, item, &(*nodes)[n])))
            return err;
        n++;
    }
    *count = n;
    return NULL;
}
