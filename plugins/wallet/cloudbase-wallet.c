/*
 * cloudbase-wallet.c: a command-line tool for the wallet plugin's
 * reconciliation, with the plugin's own code (reconcile.c, ledger.c): it
 * proves that an environment's balance equals the sum of its ledger and
 * that the database's copy of the ledger agrees with Redis, naming every
 * difference.
 *
 *   cloudbase-wallet --redis redis://127.0.0.1:6379 --database sqlite3:/var/lib/cloudbase/site.db \
 *                    --env demo reconcile
 *
 * Prints the report as JSON on standard output. Exit status: 0 everything
 * agrees, 1 a difference (or Redis or the database unreachable), 2 usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "cloudbase/json.h"
#include "db_internal.h"
#include "wallet.h"

static const char usage_text[] =
    "usage: cloudbase-wallet --redis URL [--database DSN] --env ENV reconcile\n"
    "       cloudbase-wallet --help\n"
    "\n"
    "Checks the wallet of one environment: the balance equals the sum of the ledger,\n"
    "the entries chain, and the database's copy agrees with Redis entry by entry.\n"
    "  --redis URL     the site's CloudBaseRedis URL (redis://HOST:PORT/DB)\n"
    "  --database DSN  the site's CloudBaseDatabase value, quoted as one argument;\n"
    "                  without it only Redis is checked\n"
    "  --env ENV       the CloudBaseEnv of the site\n"
    "Prints the report as JSON. Exit status: 0 it agrees, 1 a difference or a store\n"
    "unreachable, 2 usage error.\n";

static int usage(void)
{
    fputs(usage_text, stderr);
    return 2;
}

int main(int argc, char **argv)
{
    apr_pool_t *p;
    const char *redis_url = NULL, *database = NULL, *err;
    int reconcile_asked = 0, steps = 0;
    cb_redis_config rcfg;
    wallet_plugin w;
    cb_json *report;

    apr_initialize();
    atexit(apr_terminate);
    apr_pool_create(&p, NULL);
    memset(&w, 0, sizeof(w));
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return fputs(usage_text, stdout) == EOF ? 1 : 0;
        if (strcmp(argv[i], "--redis") == 0 && i + 1 < argc)
            redis_url = argv[++i];
        else if (strcmp(argv[i], "--database") == 0 && i + 1 < argc)
            database = argv[++i];
        else if (strcmp(argv[i], "--env") == 0 && i + 1 < argc)
            w.env = argv[++i];
        else if (strcmp(argv[i], "reconcile") == 0)
            reconcile_asked = 1;
        else
            return usage();
    }
    if (!redis_url || !w.env || !reconcile_asked)
        return usage();
    cb_redis_config_defaults(&rcfg);
    rcfg.command_timeout_ms = 5000;
    if ((err = cb_redis_config_parse_url(p, redis_url, &rcfg)))
        return fprintf(stderr, "cloudbase-wallet: --redis: %s\n", err), 2;
    w.redis = cb_redis_create(p, &rcfg);
    w.pool = p;
    if (database) {
        cb_db_config cfg;
        if ((err = cb_db_config_parse(p, database, &cfg)) || (err = cb_db_create(p, &cfg, &w.db)))
            return fprintf(stderr, "cloudbase-wallet: --database: %s\n", err), 2;
        while (wallet_migrations[steps].sql)
            steps++;
        cb_db_add_migrations(w.db, "wallet", wallet_migrations, steps);
        if ((err = cb_db_child_init(w.db, p)))
            return fprintf(stderr, "cloudbase-wallet: cannot open the database at %s: %s\n",
                           cb_db_get_config(w.db)->display, err), 1;
    }
    if (wallet_reconcile(&w, p, &report) != WALLET_OK)
        return fprintf(stderr, "cloudbase-wallet: the ledger cannot be read: Redis%s is "
                       "unreachable\n", database ? " or the database" : ""), 1;
    printf("%s\n", cb_json_dump(p, report));
    {
        int ok = 0;
        cb_json_bool_value(cb_json_get(report, "ok"), &ok);
        return ok ? 0 : 1;
    }
}
