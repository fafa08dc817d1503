/*
 * directives.c: the values of the gateway-wide directives that are not
 * parsed elsewhere in the core (CloudBaseEnv, CloudBaseHealthPath,
 * CloudBaseNodeCount). Host-neutral and without I/O, so the httpd adapter's
 * directive handlers stay thin and the parsing has a fuzz target
 * (tests/fuzz/fuzz_directives.c). CloudBaseRedis, CloudBaseSecureDomains
 * and CloudBaseRateLimit parse with redis.c, allowlist.c and
 * ratelimit_rule.c.
 */
#include <string.h>
#include <strings.h>

#include "cb_core.h"
#include "cloudbase/values.h"

#define ENV_ID_MAX 64
#define NODE_COUNT_MAX 10000

const char *cb_directive_env_id(const char *arg)
{
    for (const char *s = arg; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_'))
            return "CloudBaseEnv: an environment id uses letters, digits, '-' and '_' only";
    if (!*arg || strlen(arg) > ENV_ID_MAX)
        return "CloudBaseEnv: the environment id must be 1 to 64 characters";
    return NULL;
}

const char *cb_directive_health_path(const char *arg, const char **path)
{
    if (strcasecmp(arg, "off") == 0) {
        *path = "";
        return NULL;
    }
    if (arg[0] != '/' || strchr(arg, '{') || strchr(arg, '?'))
        return "CloudBaseHealthPath takes a literal path such as /health, or off";
    *path = arg;
    return NULL;
}

const char *cb_directive_node_count(const char *arg, int *count)
{
    int64_t n;
    if (cb_parse_int(arg, &n) || n < 1 || n > NODE_COUNT_MAX)
        return "CloudBaseNodeCount takes the number of gateway nodes sharing this Redis (1-10000)";
    *count = (int)n;
    return NULL;
}
