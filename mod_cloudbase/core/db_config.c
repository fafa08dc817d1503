/*
 * db_config.c: parses the CloudBaseDatabase line into a cb_db_config
 *   CloudBaseDatabase sqlite3:/var/lib/cloudbase/site.db [options]
 *   CloudBaseDatabase pgsql:host=10.0.0.5 dbname=site user=gw password=env:PGPASS [options]
 *   CloudBaseDatabase mysql:host=... dbname=... [options]
 * options: timeout= (statement), connect_timeout=, retry=, pool=. Also the
 * SQL placeholder translation ('?' to apr_dbd's %s). Both are fuzzed.
 */
#include <string.h>

#include <apr_strings.h>
#include <apr_tables.h>

#include "db_internal.h"
#include "cloudbase/values.h"

static void defaults(cb_db_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->statement_timeout_ms = 5000;
    cfg->connect_timeout_ms = 2000;
    cfg->retry_interval_ms = 1000;
    cfg->pool_size = 8;
}

/* Our options; 1 when word was one of them (err set on a bad value). */
static int parse_option(apr_pool_t *p, const char *word, cb_db_config *cfg, const char **err)
{
    const char *eq = strchr(word, '=');
    const char *key, *value;
    int64_t n;
    *err = NULL;
    if (!eq)
        return 0;
    key = apr_pstrmemdup(p, word, (apr_size_t)(eq - word));
    value = eq + 1;
    if (strcmp(key, "timeout") == 0 || strcmp(key, "connect_timeout") == 0 ||
        strcmp(key, "retry") == 0) {
        int64_t *slot = key[0] == 't' ? &cfg->statement_timeout_ms
                        : key[0] == 'c' ? &cfg->connect_timeout_ms : &cfg->retry_interval_ms;
        if ((*err = cb_parse_duration_ms(value, slot)))
            *err = apr_psprintf(p, "%s: %s", key, *err);
        else if (*slot <= 0 || *slot > 3600 * 1000)
            *err = apr_psprintf(p, "%s must be between 1ms and 1h", key);
        return 1;
    }
    if (strcmp(key, "pool") == 0) {
        if ((*err = cb_parse_int(value, &n)) || n < 1 || n > 256)
            *err = "pool must be between 1 and 256";
        else
            cfg->pool_size = (int)n;
        return 1;
    }
    return 0;
}

/* A libpq conninfo value, quoted when it needs to be. */
static const char *conninfo_value(apr_pool_t *p, const char *v)
{
    char *out, *o;
    if (*v && !strpbrk(v, " \t'\\"))
        return v;
    out = o = apr_palloc(p, 2 * strlen(v) + 3);
    *o++ = '\'';
    for (; *v; v++) {
        if (*v == '\'' || *v == '\\')
            *o++ = '\\';
        *o++ = *v;
    }
    *o++ = '\'';
    *o = '\0';
    return out;
}

/* pgsql and mysql: key=value words; ours are taken out, the rest passed on.
 * password= may be env:NAME or file:PATH. */
static const char *parse_keyvalues(apr_pool_t *p, char **words, cb_db_config *cfg,
                                   int is_pgsql)
{
    const char *params = "", *display = "", *err;
    int have_db = 0;
    for (int i = 0; words[i]; i++) {
        const char *w = words[i], *eq = strchr(w, '='), *key, *value;
        if (parse_option(p, w, cfg, &err)) {
            if (err)
                return err;
            continue;
        }
        if (!eq || eq == w)
            return apr_psprintf(p, "'%s' is not key=value (write e.g. host=127.0.0.1 "
                                "dbname=site)", is_pgsql ? w : "...");
        key = apr_pstrmemdup(p, w, (apr_size_t)(eq - w));
        if (strspn(key, "abcdefghijklmnopqrstuvwxyz_") != strlen(key))
            return apr_psprintf(p, "'%s' is not a connection key", key);
        value = eq + 1;
        if (strcmp(key, "password") == 0 || strcmp(key, "pass") == 0) {
            if ((err = cb_parse_secret(p, value, &value)))
                return apr_psprintf(p, "%s: %s", key, err);
        } else {
            display = apr_pstrcat(p, display, *display ? " " : "", key, "=", value, NULL);
        }
        if (strcmp(key, "dbname") == 0)
            have_db = 1;
        params = apr_pstrcat(p, params, *params ? " " : "", key, "=",
                             is_pgsql ? conninfo_value(p, value) : value, NULL);
    }
    if (!have_db)
        return "name the database: dbname=NAME";
    cfg->params = params;
    cfg->display = apr_pstrcat(p, cfg->driver, ":", display, NULL);
    return NULL;
}

const char *cb_db_config_parse(apr_pool_t *p, const char *line, cb_db_config *cfg)
{
    char **words;
    const char *first, *rest, *err;
    defaults(cfg);
    if (apr_tokenize_to_argv(line, &words, p) != APR_SUCCESS || !words[0])
        return "needs a database: sqlite3:/var/lib/cloudbase/site.db or "
               "pgsql:host=HOST dbname=NAME";
    first = words[0];
    rest = strchr(first, ':');
    if (!rest)
        return "a database is DRIVER:PARAMETERS, e.g. sqlite3:/var/lib/cloudbase/site.db";
    cfg->driver = apr_pstrmemdup(p, first, (apr_size_t)(rest - first));
    rest++;
    if (strcmp(cfg->driver, "sqlite3") == 0 || strcmp(cfg->driver, "sqlite") == 0) {
        cfg->driver = "sqlite3";
        if (rest[0] != '/')
            return "sqlite3: needs an absolute file path, e.g. sqlite3:/var/lib/cloudbase/site.db";
        for (int i = 1; words[i]; i++) {
            if (!parse_option(p, words[i], cfg, &err))
                return apr_psprintf(p, "unknown option '%s': use timeout=, connect_timeout=, "
                                    "retry= or pool=", words[i]);
            if (err)
                return err;
        }
        cfg->params = rest;
        cfg->display = apr_pstrcat(p, "sqlite3:", rest, NULL);
        return NULL;
    }
    if (strcmp(cfg->driver, "pgsql") == 0 || strcmp(cfg->driver, "mysql") == 0) {
        /* The parameters may be quoted as one word with the driver. */
        apr_array_header_t *all = apr_array_make(p, 8, sizeof(char *));
        char **head;
        if (apr_tokenize_to_argv(rest, &head, p) != APR_SUCCESS)
            return "cannot read the connection parameters";
        for (int i = 0; head[i]; i++)
            APR_ARRAY_PUSH(all, char *) = head[i];
        for (int i = 1; words[i]; i++)
            APR_ARRAY_PUSH(all, char *) = words[i];
        APR_ARRAY_PUSH(all, char *) = NULL;
        return parse_keyvalues(p, (char **)all->elts, cfg, cfg->driver[0] == 'p');
    }
    return apr_psprintf(p, "unknown driver '%s': use sqlite3:, pgsql: or mysql:", cfg->driver);
}

const char *cb_db_sql_translate(apr_pool_t *p, const char *sql, int *nargs)
{
    apr_size_t len = strlen(sql);
    char *out = apr_palloc(p, 2 * len + 1), *o = out;
    char quote = 0;
    *nargs = 0;
    for (const char *s = sql; *s; s++) {
        if (quote) {
            if (*s == quote)
                quote = 0;   /* a doubled quote reopens at once: same result */
        } else if (*s == '\'' || *s == '"') {
            quote = *s;
        } else if (*s == '?') {
            *o++ = '%';
            *o++ = 's';
            (*nargs)++;
            continue;
        }
        if (*s == '%')
            *o++ = '%';
        *o++ = *s;
    }
    *o = '\0';
    return quote ? NULL : out;
}
