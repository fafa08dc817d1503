/*
 * fuzz_redis_info.c: libFuzzer target for the parser of Redis INFO answers
 * that /health's durability warnings read (core/redis_durability.c).
 *
 * Each input, as a NUL-terminated string, is parsed with cb_redis_info_parse.
 * Invariants, checked against a plain reference reading of the same text:
 *  - the policy is NUL-terminated within its buffer and holds no CR or LF;
 *  - known is set exactly when both "aof_enabled:" and "maxmemory_policy:"
 *    start a line, and then the policy is a prefix of the text after the
 *    first "maxmemory_policy:" line start;
 *  - aof_enabled is set only when the first aof_enabled line says "1".
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cb_core.h"

/* The first line of text that starts with name and ':', or NULL; lines are
 * separated by any run of CR and LF. */
static const char *reference_line(const char *text, const char *name)
{
    size_t name_len = strlen(name);
    const char *line = text + strspn(text, "\r\n");
    while (*line) {
        size_t len = strcspn(line, "\r\n");
        if (len > name_len && strncmp(line, name, name_len) == 0 && line[name_len] == ':')
            return line + name_len + 1;
        line += len;
        line += strspn(line, "\r\n");
    }
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    const char *aof, *policy;
    cb_redis_info info;
    size_t policy_len;
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    memset(&info, 0x55, sizeof(info));
    cb_redis_info_parse(text, &info);

    policy_len = strnlen(info.eviction_policy, sizeof(info.eviction_policy));
    if (policy_len == sizeof(info.eviction_policy))
        abort();
    if (strpbrk(info.eviction_policy, "\r\n"))
        abort();
    aof = reference_line(text, "aof_enabled");
    policy = reference_line(text, "maxmemory_policy");
    if (info.known != (aof != NULL && policy != NULL))
        abort();
    if (info.known && strncmp(policy, info.eviction_policy, policy_len) != 0)
        abort();
    if (!info.known && (info.aof_enabled || policy_len))
        abort();
    if (info.aof_enabled && !(aof[0] == '1' && (aof[1] == '\0' || aof[1] == '\r' ||
                                                aof[1] == '\n')))
        abort();
    free(text);
    return 0;
}
