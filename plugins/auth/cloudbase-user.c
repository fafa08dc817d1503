/*
 * cloudbase-user.c: a command-line tool that creates users for the auth
 * plugin directly in its database, in exactly the plugin's format (the same
 * code: user_store.c, schema.c). The demo uses it to seed a demo user;
 * operators use it to create the first users without exposing the admin key.
 *
 *   cloudbase-user --database sqlite3:/var/lib/cloudbase/site.db --env demo \
 *                  create USERNAME [--groups a,b] [--scrypt-n N] < password-file
 *
 * The password is read from standard input (one line), never from the
 * command line, so it does not show up in `ps` or shell history.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "auth.h"
#include "cloudbase/values.h"
#include "db_internal.h"

static const char usage_text[] =
    "usage: cloudbase-user --database DSN --env ENV create USERNAME [--groups a,b]"
    " [--scrypt-n N] < password\n"
    "       cloudbase-user --help\n"
    "\n"
    "Creates a user of the auth plugin directly in its database.\n"
    "  --database DSN  the site's CloudBaseDatabase value, quoted as one argument\n"
    "                  (e.g. sqlite3:/var/lib/cloudbase/site.db or \"pgsql:host=... dbname=...\")\n"
    "  --redis URL     accepted for older scripts and ignored: users are no longer in Redis\n"
    "  --env ENV       the CloudBaseEnv of the site\n"
    "  --groups a,b    groups of the new user (comma-separated)\n"
    "  --scrypt-n N    scrypt cost, a power of two >= 1024 (default 16384; it is\n"
    "                  stored with the hash, so sign-in works whatever scrypt_n is)\n"
    "The password is one line on standard input, never an argument.\n"
    "Exit status: 0 created, 1 username taken or database unreachable, 2 usage error.\n";

/* A usage error: the text on stderr, exit status 2. */
static int usage(void)
{
    fputs(usage_text, stderr);
    return 2;
}

static const char *groups_json(apr_pool_t *p, const char *list)
{
    cb_json *array = cb_json_new_array(p);
    char *copy = apr_pstrdup(p, list ? list : ""), *state;
    for (char *g = apr_strtok(copy, ",", &state); g; g = apr_strtok(NULL, ",", &state))
        cb_json_append_string(array, g);
    return cb_json_dump(p, array);
}

int main(int argc, char **argv)
{
    apr_pool_t *p;
    const char *database = NULL, *env = NULL, *username = NULL, *groups = NULL, *err;
    int64_t scrypt_n = 16384;
    char password[512];
    cb_db_config cfg;
    auth_state st;
    auth_user user;
    apr_status_t rv;
    size_t len;
    int steps = 0;

    apr_initialize();
    atexit(apr_terminate);
    apr_pool_create(&p, NULL);
    memset(&st, 0, sizeof(st));
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return fputs(usage_text, stdout) == EOF ? 1 : 0;
        if (strcmp(argv[i], "--database") == 0 && i + 1 < argc)
            database = argv[++i];
        else if (strcmp(argv[i], "--redis") == 0 && i + 1 < argc)
            i++;
        else if (strcmp(argv[i], "--env") == 0 && i + 1 < argc)
            env = argv[++i];
        else if (strcmp(argv[i], "--groups") == 0 && i + 1 < argc)
            groups = argv[++i];
        else if (strcmp(argv[i], "--scrypt-n") == 0 && i + 1 < argc) {
            if (cb_parse_int(argv[++i], &scrypt_n) || scrypt_n < 1024 || (scrypt_n & (scrypt_n - 1)))
                return fprintf(stderr, "--scrypt-n must be a power of two >= 1024\n"), 2;
        } else if (strcmp(argv[i], "create") == 0 && i + 1 < argc)
            username = argv[++i];
        else
            return usage();
    }
    if (!database || !env || !username)
        return usage();
    if ((err = auth_username_problem(username)))
        return fprintf(stderr, "cloudbase-user: %s\n", err), 2;
    if (!fgets(password, sizeof(password), stdin))
        return fprintf(stderr, "cloudbase-user: no password on standard input\n"), 2;
    len = strcspn(password, "\r\n");
    password[len] = '\0';
    if (len < 8)
        return fprintf(stderr, "cloudbase-user: the password needs at least 8 characters\n"), 2;

    if ((err = cb_db_config_parse(p, database, &cfg)) || (err = cb_db_create(p, &cfg, &st.db)))
        return fprintf(stderr, "cloudbase-user: --database: %s\n", err), 2;
    st.env = env;
    st.scrypt.n = (uint64_t)scrypt_n;
    st.scrypt.r = 8;
    st.scrypt.p = 1;
    /* The plugin's own schema steps, applied here when the site has not
     * started yet (recorded, so the gateway skips them). */
    while (auth_migrations[steps].sql)
        steps++;
    cb_db_add_migrations(st.db, "auth", auth_migrations, steps);
    if ((err = cb_db_child_init(st.db, p)))
        return fprintf(stderr, "cloudbase-user: cannot prepare the database at %s%s%s\n",
                       cb_db_get_config(st.db)->display, ": ", err), 1;

    rv = auth_user_create(&st, p, username, password, groups_json(p, groups), &user);
    memset(password, 0, sizeof(password));
    if (rv == APR_EEXIST)
        return fprintf(stderr, "cloudbase-user: username '%s' is taken\n", username), 1;
    if (rv != APR_SUCCESS)
        return fprintf(stderr, "cloudbase-user: cannot write to the database at %s\n",
                       cb_db_get_config(st.db)->display), 1;
    printf("created user %s (uid %s) in environment %s\n", user.username, user.uid, env);
    return 0;
}
