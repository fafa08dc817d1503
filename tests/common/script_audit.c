/*
 * script_audit.c: checks through MONITOR that Redis scripts declare their
 * keys (see script_audit.h).
 *
 * A MONITOR line is "TIME [DB SOURCE] "ARG" "ARG" ...", SOURCE being the
 * client's address or "lua" for a command a script ran; arguments are
 * quoted with C-like escapes (\" \\ \n \r \t \a \b \xHH). An EVAL /
 * EVALSHA line comes before the lines of the commands its script runs.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include <hiredis.h>

#include "script_audit.h"

#define MAX_ARGS 256

struct srv_audit {
    redisContext *monitor;
    int port;
    char **declared;        /* the KEYS of the script being run */
    int declared_count;
};

srv_audit *srv_audit_start(int port)
{
    srv_audit *a = calloc(1, sizeof(*a));
    redisReply *reply;
    a->port = port;
    a->monitor = redisConnect("127.0.0.1", port);
    if (!a->monitor || a->monitor->err || !(reply = redisCommand(a->monitor, "MONITOR"))) {
        if (a->monitor)
            redisFree(a->monitor);
        free(a);
        return NULL;
    }
    freeReplyObject(reply);
    return a;
}

static int hex_value(char c)
{
    return isdigit((unsigned char)c) ? c - '0' : tolower((unsigned char)c) - 'a' + 10;
}

/* Splits the quoted arguments after "]" into args (malloc'd); returns the
 * count, and the source ("lua" or an address) in source. */
static int parse_line(const char *line, char *source, size_t source_size, char **args)
{
    const char *open = strchr(line, '['), *close = open ? strchr(open, ']') : NULL, *at;
    const char *space = open ? strchr(open, ' ') : NULL;
    int n = 0;
    if (!close || !space || space > close)
        return 0;
    snprintf(source, source_size, "%.*s", (int)(close - space - 1), space + 1);
    for (at = close + 1; *at && n < MAX_ARGS;) {
        char *arg;
        size_t len = 0;
        while (*at == ' ')
            at++;
        if (*at != '"')
            break;
        arg = malloc(strlen(at) + 1);
        for (at++; *at && *at != '"'; at++) {
            if (*at == '\\' && at[1]) {
                at++;
                switch (*at) {
                case 'n': arg[len++] = '\n'; break;
                case 'r': arg[len++] = '\r'; break;
                case 't': arg[len++] = '\t'; break;
                case 'a': arg[len++] = '\a'; break;
                case 'b': arg[len++] = '\b'; break;
                case 'x':
                    if (isxdigit((unsigned char)at[1]) && isxdigit((unsigned char)at[2])) {
                        arg[len++] = (char)(hex_value(at[1]) * 16 + hex_value(at[2]));
                        at += 2;
                        break;
                    }
                    /* fall through */
                default: arg[len++] = *at; break;
                }
            } else {
                arg[len++] = *at;
            }
        }
        arg[len] = '\0';
        args[n++] = arg;
        if (*at == '"')
            at++;
    }
    return n;
}

static void forget_declared(srv_audit *a)
{
    for (int i = 0; i < a->declared_count; i++)
        free(a->declared[i]);
    free(a->declared);
    a->declared = NULL;
    a->declared_count = 0;
}

static int is_declared(const srv_audit *a, const char *key)
{
    for (int i = 0; i < a->declared_count; i++)
        if (strcmp(a->declared[i], key) == 0)
            return 1;
    return 0;
}

/* Which arguments of a script's command are keys: none for TIME and the
 * like, all for DEL / EXISTS / UNLINK / MGET, else the first. */
static void key_range(char **args, int n, int *first, int *last)
{
    static const char *const keyless[] = {"TIME", "PING", "ECHO", NULL};
    static const char *const all[] = {"DEL", "UNLINK", "EXISTS", "MGET", "TOUCH", NULL};
    *first = 1;
    *last = n > 1 ? 1 : 0;
    for (int i = 0; keyless[i]; i++)
        if (strcasecmp(args[0], keyless[i]) == 0)
            *last = 0;
    for (int i = 0; all[i]; i++)
        if (strcasecmp(args[0], all[i]) == 0)
            *last = n - 1;
}

int srv_audit_finish(srv_audit *a, int *scripts, int *script_commands, char *why,
                     size_t why_size)
{
    char marker[64], source[128];
    int violations = 0, done = 0;
    struct timeval timeout = {5, 0};
    redisContext *other = redisConnect("127.0.0.1", a->port);
    *scripts = *script_commands = 0;
    why[0] = '\0';
    snprintf(marker, sizeof(marker), "script-audit-end-%p", (void *)a);
    if (!other || other->err) {
        snprintf(why, why_size, "cannot connect to send the marker");
        violations = -1;
    } else {
        redisReply *reply = redisCommand(other, "ECHO %s", marker);
        if (reply)
            freeReplyObject(reply);
    }
    if (other)
        redisFree(other);
    redisSetTimeout(a->monitor, timeout);
    while (violations >= 0 && !done) {
        redisReply *reply;
        char *args[MAX_ARGS];
        int n;
        if (redisGetReply(a->monitor, (void **)&reply) != REDIS_OK || !reply) {
            snprintf(why, why_size, "MONITOR ended before the marker");
            violations = -1;
            break;
        }
        n = reply->type == REDIS_REPLY_STATUS
                ? parse_line(reply->str, source, sizeof(source), args) : 0;
        freeReplyObject(reply);
        if (n == 2 && strcasecmp(args[0], "ECHO") == 0 && strcmp(args[1], marker) == 0)
            done = 1;
        else if (n >= 3 && (strncasecmp(args[0], "EVAL", 4) == 0)) {
            int keys = atoi(args[2]);
            forget_declared(a);
            (*scripts)++;
            a->declared = calloc((size_t)(keys > 0 ? keys : 1), sizeof(char *));
            for (int i = 0; i < keys && 3 + i < n; i++)
                a->declared[a->declared_count++] = strdup(args[3 + i]);
        } else if (n >= 1 && strcmp(source, "lua") == 0) {
            int first, last;
            (*script_commands)++;
            key_range(args, n, &first, &last);
            for (int i = first; i <= last && i < n; i++)
                if (!is_declared(a, args[i]) && violations++ == 0)
                    snprintf(why, why_size, "a script ran %s on %s, which is not in its KEYS",
                             args[0], args[i]);
        }
        for (int i = 0; i < n; i++)
            free(args[i]);
    }
    forget_declared(a);
    redisFree(a->monitor);
    free(a);
    return violations;
}
