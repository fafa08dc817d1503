/*
 * agent_type.c: the `agent_type` lines of the containers plugin. The
 * engine driver (the default, `driver=engine`): `NAME image=IMAGE
 * command=PROGRAM[,ARG...] [memory=SIZE] [cpus=N] [network=none|host]`:
 * each agent type's image, the agent command a task runs (the task text is
 * appended as its last argument), resource limits and network. The static
 * driver: `NAME driver=static url=http(s)://HOST[:PORT][/PATH]`: a
 * container that already runs and serves /execute, /status and /logs
 * under that URL (static_driver.c). Parsed at configtest; no I/O.
 */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "cloudbase/values.h"
#include "containers.h"

#define MAX_NAME 48
#define MAX_CPUS 64

static int name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > MAX_NAME)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_'))
            return 0;
    return 1;
}

/* An image reference: printable, no spaces or quotes, at most 255. */
static int image_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 255)
        return 0;
    for (; *s; s++)
        if (*s <= ' ' || *s > '~' || *s == '"' || *s == '\'' || *s == '\\')
            return 0;
    return 1;
}

/* cpus as a decimal with up to three places ("0.5", "2") in nano-CPUs. */
static const char *parse_cpus(const char *text, int64_t *out)
{
    int64_t whole = 0, frac = 0, scale = 1000;
    const char *c = text;
    if (!*c)
        return "cpus=N: a number such as 0.5 or 2";
    for (; *c >= '0' && *c <= '9'; c++)
        if ((whole = whole * 10 + (*c - '0')) > MAX_CPUS)
            return "cpus=N: at most 64";
    if (*c == '.') {
        for (c++; *c >= '0' && *c <= '9' && scale > 1; c++) {
            scale /= 10;
            frac += (*c - '0') * scale;
        }
    }
    if (*c)
        return "cpus=N: a number such as 0.5 or 2 (at most three decimals)";
    *out = whole * 1000000000 + frac * 1000000;
    if (*out <= 0 || *out > (int64_t)MAX_CPUS * 1000000000)
        return "cpus=N: more than 0 and at most 64";
    return NULL;
}

/* The settings only one driver takes: the first one present, or NULL. */
static const char *first_present(const cb_option_line *line, const char *const *keys)
{
    for (int k = 0; keys[k]; k++)
        if (cb_option_line_get(line, keys[k]))
            return keys[k];
    return NULL;
}

/* driver=static: url=, an absolute http(s) URL without query or fragment. */
static const char *parse_static(apr_pool_t *p, const cb_option_line *line, ct_agent_type *out)
{
    static const char *const engine_only[] = {"image", "command", "memory", "cpus", "network",
                                              NULL};
    const char *v = cb_option_line_get(line, "url"), *err, *key;
    cb_url parsed;
    size_t len;
    if ((key = first_present(line, engine_only)))
        return apr_psprintf(p, "%s= belongs to driver=engine; driver=static serves a container "
                               "that already runs and takes only url=", key);
    if (!v || !*v)
        return "driver=static needs url=http(s)://HOST[:PORT][/PATH] (where the container "
               "serves /execute, /status and /logs)";
    for (const char *c = v; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == 0x7f || *c == '?' || *c == '#')
            return "url=: no spaces, control characters, query or fragment";
    if ((err = cb_parse_url(p, v, &parsed)))
        return apr_psprintf(p, "url=: not an absolute http(s) URL: %s", err);
    len = strlen(v);
    while (len > 0 && v[len - 1] == '/')
        len--;
    out->url = apr_pstrmemdup(p, v, len);
    return NULL;
}

const char *ct_agent_type_parse(apr_pool_t *p, const char *text, ct_agent_type *out)
{
    cb_option_line line;
    const char *err, *v;
    static const char *const known[] = {"driver", "image", "command", "memory", "cpus",
                                        "network", "url", NULL};
    memset(out, 0, sizeof(*out));
    if ((err = cb_option_line_parse(p, text, 1, 1, &line)))
        return err;
    out->name = line.words[0];
    if (!name_ok(out->name))
        return "an agent type's name is 1 to 48 letters, digits, '-' or '_'";
    for (int i = 0; i < line.setting_count; i++) {
        int found = 0;
        for (int k = 0; known[k]; k++)
            found |= strcmp(line.keys[i], known[k]) == 0;
        if (!found)
            return apr_psprintf(p, "unknown setting '%s' (driver, image, command, memory, cpus, "
                                   "network, url)", line.keys[i]);
    }
    if ((v = cb_option_line_get(&line, "driver")) && strcmp(v, "static") == 0) {
        out->driver = CT_DRIVER_STATIC;
        return parse_static(p, &line, out);
    }
    if (v && strcmp(v, "engine") != 0)
        return "driver=engine|static (engine: the default)";
    if (cb_option_line_get(&line, "url"))
        return "url= belongs to driver=static; driver=engine runs image= with command=";
    if (!(out->image = cb_option_line_get(&line, "image")) || !image_ok(out->image))
        return "image=IMAGE is required (a reference such as docker.io/library/node:20)";
    if (!(v = cb_option_line_get(&line, "command")) || !*v)
        return "command=PROGRAM[,ARG...] is required (the agent a task runs)";
    {
        apr_array_header_t *argv = apr_array_make(p, 4, sizeof(const char *));
        char *copy = apr_pstrdup(p, v), *state = NULL, *word;
        for (word = apr_strtok(copy, ",", &state); word; word = apr_strtok(NULL, ",", &state))
            APR_ARRAY_PUSH(argv, const char *) = word;
        if (argv->nelts == 0 || argv->nelts > 32)
            return "command=PROGRAM[,ARG...]: 1 to 32 comma-separated words";
        out->command = argv;
    }
    if ((v = cb_option_line_get(&line, "memory"))) {
        if ((err = cb_parse_size(v, &out->memory_bytes)))
            return apr_pstrcat(p, "memory: ", err, NULL);
        if (out->memory_bytes < 6 * 1024 * 1024)
            return "memory: at least 6m (the engine refuses less)";
    }
    if ((v = cb_option_line_get(&line, "cpus")) && (err = parse_cpus(v, &out->nano_cpus)))
        return err;
    if ((v = cb_option_line_get(&line, "network"))) {
        if (strcmp(v, "host") == 0)
            out->host_network = 1;
        else if (strcmp(v, "none") != 0)
            return "network=none|host";
    }
    return NULL;
}
