/*
 * schema.c: the auth plugin's tables in the database service, as numbered
 * migration steps (cloudbase/db.h). Shared by the plugin and the
 * cloudbase-user tool. Every row carries its environment, so several
 * environments can share one database; usernames are unique per
 * environment in lower case, API keys are found by (env, id) and by
 * (env, SHA-256 of the secret). Never edit a step that has shipped.
 */
#include "auth.h"

const cb_db_migration auth_migrations[] = {
    {1, "CREATE TABLE auth_users (env VARCHAR(64) NOT NULL, uid VARCHAR(64) NOT NULL, "
        "username VARCHAR(64) NOT NULL, username_lower VARCHAR(64) NOT NULL, "
        "password_hash TEXT NOT NULL, groups_json TEXT NOT NULL, created_at BIGINT NOT NULL, "
        "updated_at BIGINT NOT NULL, PRIMARY KEY (env, uid), UNIQUE (env, username_lower))"},
    {2, "CREATE TABLE auth_apikeys (env VARCHAR(64) NOT NULL, id VARCHAR(64) NOT NULL, "
        "secret_hash VARCHAR(64) NOT NULL, name TEXT NOT NULL, prefix VARCHAR(128) NOT NULL, "
        "scopes_json TEXT NOT NULL, created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, "
        "PRIMARY KEY (env, id), UNIQUE (env, secret_hash))"},
    {0, NULL}
};
