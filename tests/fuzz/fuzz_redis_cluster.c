/*
 * fuzz_redis_cluster.c: libFuzzer target for the Redis Cluster parsers
 * (core/redis_slot.c): redirect error replies, the redis-cluster:// node
 * list, and the key slot of a command.
 *
 * The input is taken whole as an error reply, as a node list, and (split at
 * NUL bytes) as a command's arguments. Invariants:
 *  - a MOVED / ASK result has a slot below 16384, a port from 1 to 65535,
 *    a NUL-terminated host within its buffer without spaces, and the text
 *    starts with its
 *    word; TRYAGAIN / CLUSTERDOWN results start with theirs;
 *  - an accepted node list has 1 to 64 nodes, each with a non-empty host
 *    holding no ',' and a port from 1 to 65535, and the list written back
 *    ("host:port,...", IPv6 hosts in brackets) parses to the same nodes;
 *  - a command's slot is -1 or below 16384, and on success every key of a
 *    key-per-argument command (DEL) hashes to it.
 */
#include <stdint.h>
#include <string.h>

#include <apr_strings.h>

#include "cb_core.h"
#include "redis_cluster.h"

#define FUZZ_TARGET_NAME "fuzz_redis_cluster"
#include "fuzz_support.h"

#define MAX_ARGS 16

static void check_redirect(const char *data, size_t size, const char *text)
{
    char host[64];
    int slot = -1, port = -1;
    memset(host, 'x', sizeof(host));
    switch (cb_redis_parse_redirect(data, size, &slot, host, sizeof(host), &port)) {
    case CB_REDIS_REDIRECT_MOVED:
    case CB_REDIS_REDIRECT_ASK:
        require(slot >= 0 && slot < CB_REDIS_SLOTS, "redirect slot out of range", text);
        require(port >= 1 && port <= 65535, "redirect port out of range", text);
        require(memchr(host, '\0', sizeof(host)) != NULL, "host not terminated", text);
        require(!strchr(host, ' '), "host with a space", text);
        require(strncmp(data, "MOVED ", 6) == 0 || strncmp(data, "ASK ", 4) == 0,
                "a redirect from other text", text);
        break;
    case CB_REDIS_REDIRECT_TRYAGAIN:
        require(size >= 8 && strncmp(data, "TRYAGAIN", 8) == 0, "TRYAGAIN from other text",
                text);
        break;
    case CB_REDIS_REDIRECT_CLUSTERDOWN:
        require(size >= 11 && strncmp(data, "CLUSTERDOWN", 11) == 0,
                "CLUSTERDOWN from other text", text);
        break;
    case CB_REDIS_REDIRECT_NONE:
        break;
    }
}

static void check_nodes(const char *text)
{
    cb_redis_node_addr *nodes, *again;
    int count, count_again;
    const char *list = "";
    if (cb_redis_parse_cluster_nodes(iteration_pool, text, &nodes, &count))
        return;
    require(count >= 1 && count <= 64, "node count out of range", text);
    for (int i = 0; i < count; i++) {
        require(*nodes[i].host && !strchr(nodes[i].host, ','), "bad host accepted", text);
        require(nodes[i].port >= 1 && nodes[i].port <= 65535, "bad port accepted", text);
        list = apr_psprintf(iteration_pool, "%s%s%s%s%s:%d", list, i ? "," : "",
                            strchr(nodes[i].host, ':') ? "[" : "", nodes[i].host,
                            strchr(nodes[i].host, ':') ? "]" : "", nodes[i].port);
    }
    require(cb_redis_parse_cluster_nodes(iteration_pool, list, &again, &count_again) == NULL,
            "written-back list refused", text);
    require(count_again == count, "written-back list has another length", text);
    for (int i = 0; i < count; i++)
        require(strcmp(again[i].host, nodes[i].host) == 0 && again[i].port == nodes[i].port,
                "written-back list differs", text);
}

static void check_command(const char *data, size_t size, const char *text)
{
    const char *argv[MAX_ARGS];
    size_t lens[MAX_ARGS];
    int argc = 0, slot = -2;
    size_t start = 0;
    for (size_t i = 0; i <= size && argc < MAX_ARGS; i++)
        if (i == size || data[i] == '\0') {
            argv[argc] = data + start;
            lens[argc++] = i - start;
            start = i + 1;
        }
    if (cb_redis_command_slot(argc, argv, lens, &slot) != APR_SUCCESS)
        return;
    require(slot >= -1 && slot < CB_REDIS_SLOTS, "command slot out of range", text);
    if (argc > 1 && lens[0] == 3 && strncmp(argv[0], "DEL", 3) == 0)
        for (int i = 1; i < argc; i++)
            require(cb_redis_key_slot(argv[i], lens[i]) == slot, "DEL keys in another slot",
                    text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = apr_pstrmemdup(iteration_pool, (const char *)data, size);
    check_redirect((const char *)data, size, text);
    check_nodes(text);
    check_command((const char *)data, size, text);
    apr_pool_clear(iteration_pool);
    return 0;
}
