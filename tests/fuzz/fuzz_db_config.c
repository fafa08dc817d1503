/*
 * fuzz_db_config.c: libFuzzer target for the CloudBaseDatabase line parser
 * and the '?' placeholder translation (core/db_config.c).
 *
 * Each input, as a NUL-terminated string, is parsed as a database line and
 * translated as SQL. Invariants:
 *  - a parsed line names one of the three drivers, has parameters, and its
 *    options are within their documented ranges; a refused one has a
 *    message;
 *  - the translation fails exactly when a quote is left open; otherwise it
 *    is the input with every '?' outside quotes replaced by %s (counted in
 *    nargs) and every '%' doubled, so apr_dbd reads back the same text.
 * Inputs with "file:" are skipped: a password may name a file to read.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <apr_pools.h>

#include "db_internal.h"

static apr_pool_t *pool;

static void check_config(const char *text)
{
    cb_db_config cfg;
    const char *err = cb_db_config_parse(pool, text, &cfg);
    if (err) {
        if (!*err)
            abort();
        return;
    }
    if (strcmp(cfg.driver, "sqlite3") && strcmp(cfg.driver, "pgsql") &&
        strcmp(cfg.driver, "mysql"))
        abort();
    if (!cfg.params || !cfg.display || cfg.pool_size < 1 || cfg.pool_size > 256 ||
        cfg.statement_timeout_ms < 1 || cfg.connect_timeout_ms < 1 || cfg.retry_interval_ms < 1)
        abort();
    if (strcmp(cfg.driver, "sqlite3") == 0 && cfg.params[0] != '/')
        abort();
}

static void check_translation(const char *sql)
{
    int nargs = -1, placeholders = 0;
    char quote = 0;
    const char *out = cb_db_sql_translate(pool, sql, &nargs);
    const char *o = out;
    for (const char *s = sql; *s; s++) {
        if (quote) {
            if (*s == quote)
                quote = 0;
        } else if (*s == '\'' || *s == '"') {
            quote = *s;
        } else if (*s == '?') {
            if (out) {
                if (strncmp(o, "%s", 2))
                    abort();
                o += 2;
            }
            placeholders++;
            continue;
        }
        if (!out)
            continue;
        if (*s == '%' && *o++ != '%')
            abort();
        if (*o++ != *s)
            abort();
    }
    if (!out != (quote != 0))
        abort();
    if (out && (*o || nargs != placeholders))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text;
    if (!pool) {
        apr_initialize();
        apr_pool_create(&pool, NULL);
    }
    text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    if (!strstr(text, "file:"))
        check_config(text);
    check_translation(text);
    apr_pool_clear(pool);
    free(text);
    return 0;
}
