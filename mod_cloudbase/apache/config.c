/*
 * config.c: mod_cloudbase's directives and the <CloudBasePlugin NAME> block.
 *
 * Every plugin option line is validated against the plugin's option table
 * while the file is read, so `apachectl configtest` reports an unknown
 * option, a wrong type or a missing required value with file, line and a fix.
 */
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "apr_strings.h"

#include "adapter.h"
#include "../core/ratelimit.h"

#ifndef CB_PLUGIN_DIR
#define CB_PLUGIN_DIR "/usr/lib/apache2/modules/cloudbase"
#endif

/* CloudBasePluginDir is server-wide: it must be known while the blocks of
 * virtual hosts are read. Reset before each configuration pass. */
static const char *plugin_dir = CB_PLUGIN_DIR;

void cb_config_reset(void)
{
    plugin_dir = CB_PLUGIN_DIR;
}

void *cb_create_server_conf(apr_pool_t *p, server_rec *s)
{
    cb_server_conf *c = apr_pcalloc(p, sizeof(*c));
    (void)s;
    cb_redis_config_defaults(&c->redis_cfg);
    c->instances = apr_array_make(p, 4, sizeof(cb_instance *));
    return c;
}

void *cb_merge_server_conf(apr_pool_t *p, void *base_v, void *add_v)
{
    cb_server_conf *base = base_v, *add = add_v;
    cb_server_conf *c = apr_pcalloc(p, sizeof(*c));
    c->env_id = add->env_id ? add->env_id : base->env_id;
    c->health_path = add->health_path ? add->health_path : base->health_path;
    c->redis_cfg = add->redis_set ? add->redis_cfg : base->redis_cfg;
    c->redis_set = add->redis_set || base->redis_set;
    c->db_cfg = add->db_set ? add->db_cfg : base->db_cfg;
    c->db_set = add->db_set || base->db_set;
    c->allowlist = add->allowlist ? add->allowlist : base->allowlist;
    c->rate_rules = add->rate_rules ? add->rate_rules : base->rate_rules;
    c->node_count = add->node_count ? add->node_count : base->node_count;
    /* The vhost's own blocks, plus the server's for plugins it does not name. */
    c->instances = apr_array_copy(p, add->instances);
    for (int i = 0; i < base->instances->nelts; i++) {
        cb_instance *inherited = APR_ARRAY_IDX(base->instances, i, cb_instance *);
        int overridden = 0;
        for (int j = 0; j < add->instances->nelts; j++)
            if (APR_ARRAY_IDX(add->instances, j, cb_instance *)->plugin == inherited->plugin)
                overridden = 1;
        if (!overridden)
            APR_ARRAY_PUSH(c->instances, cb_instance *) = inherited;
    }
    return c;
}

static const char *cmd_env(cmd_parms *cmd, void *dummy, const char *arg)
{
    cb_server_conf *c = cb_server_conf_get(cmd->server);
    const char *err = cb_directive_env_id(arg);
    (void)dummy;
    if (err)
        return err;
    c->env_id = arg;
    return NULL;
}

static const char *cmd_plugin_dir(cmd_parms *cmd, void *dummy, const char *arg)
{
    (void)dummy;
    if (cmd->server->is_virtual)
        return "CloudBasePluginDir is server-wide: move it out of <VirtualHost>";
    if (arg[0] != '/')
        return "CloudBasePluginDir needs an absolute path";
    plugin_dir = arg;
    return NULL;
}

static const char *cmd_health_path(cmd_parms *cmd, void *dummy, const char *arg)
{
    cb_server_conf *c = cb_server_conf_get(cmd->server);
    (void)dummy;
    return cb_directive_health_path(arg, &c->health_path);
}

static const char *cmd_redis(cmd_parms *cmd, void *dummy, const char *args)
{
    cb_server_conf *c = cb_server_conf_get(cmd->server);
    const char *word, *err;
    (void)dummy;
    cb_redis_config_defaults(&c->redis_cfg);
    word = ap_getword_conf(cmd->pool, &args);
    if (!*word)
        return "CloudBaseRedis needs an address: redis://127.0.0.1:6379/0 or unix:/path";
    if ((err = cb_redis_config_parse_url(cmd->pool, word, &c->redis_cfg)))
        return apr_pstrcat(cmd->pool, "CloudBaseRedis: ", err, NULL);
    while (*(word = ap_getword_conf(cmd->pool, &args)))
        if ((err = cb_redis_config_parse_option(cmd->pool, word, &c->redis_cfg)))
            return apr_pstrcat(cmd->pool, "CloudBaseRedis: ", err, NULL);
    c->redis_set = 1;
    return NULL;
}

static const char *cmd_database(cmd_parms *cmd, void *dummy, const char *args)
{
    cb_server_conf *c = cb_server_conf_get(cmd->server);
    const char *err = cb_db_config_parse(cmd->pool, args, &c->db_cfg);
    (void)dummy;
    if (err)
        return apr_pstrcat(cmd->pool, "CloudBaseDatabase: ", err, NULL);
    c->db_set = 1;
    return NULL;
}

static const char *cmd_secure_domain(cmd_parms *cmd, void *dummy, const char *arg)
{
    cb_server_conf *c = cb_server_conf_get(cmd->server);
    const char *err;
    (void)dummy;
    if (!c->allowlist)
        c->allowlist = cb_allowlist_create(cmd->pool);
    if ((err = cb_allowlist_add(c->allowlist, cmd->pool, arg)))
        return apr_pstrcat(cmd->pool, "CloudBaseSecureDomains: ", err, NULL);
    return NULL;
}

static const char *cmd_rate_limit(cmd_parms *cmd, void *dummy, const char *args)
{
    cb_server_conf *c = cb_server_conf_get(cmd->server);
    cb_rl_rule rule;
    const char *err;
    (void)dummy;
    if ((err = cb_rl_rule_parse(cmd->pool, args, &rule)))
        return apr_pstrcat(cmd->pool, "CloudBaseRateLimit: ", err, NULL);
    if (!c->rate_rules)
        c->rate_rules = apr_array_make(cmd->pool, 4, sizeof(cb_rl_rule));
    APR_ARRAY_PUSH(c->rate_rules, cb_rl_rule) = rule;
    return NULL;
}

static const char *cmd_node_count(cmd_parms *cmd, void *dummy, const char *arg)
{
    cb_server_conf *c = cb_server_conf_get(cmd->server);
    (void)dummy;
    return cb_directive_node_count(arg, &c->node_count);
}

/* Applies the option lines of a <CloudBasePlugin NAME> block. httpd has
 * already parsed the block into a tree: each line is a child directive. */
static const char *cmd_plugin_block(cmd_parms *cmd, void *dummy, const char *arg)
{
    cb_server_conf *c = cb_server_conf_get(cmd->server);
    const char *end = strrchr(arg, '>');
    const char *name, *err;
    const char *open_file = cmd->directive->filename;
    int open_line = cmd->directive->line_num;
    cb_loaded_plugin *plugin;
    cb_instance *inst;
    (void)dummy;

    if (!end || end[1])
        return "<CloudBasePlugin> needs a closing '>': write <CloudBasePlugin NAME>";
    name = apr_pstrmemdup(cmd->pool, arg, (apr_size_t)(end - arg));
    name = ap_getword_conf(cmd->pool, &name);
    if (!*name)
        return "<CloudBasePlugin> needs a plugin name, e.g. <CloudBasePlugin auth>";
    if ((err = cb_plugin_load(cmd->pool, plugin_dir, name, &plugin)))
        return err;
    for (int i = 0; i < c->instances->nelts; i++)
        if (APR_ARRAY_IDX(c->instances, i, cb_instance *)->plugin == plugin)
            return apr_psprintf(cmd->pool, "plugin %s is configured twice in this server or "
                                "virtual host; merge the two blocks", name);
    inst = apr_pcalloc(cmd->pool, sizeof(*inst));
    inst->plugin = plugin;
    inst->options = cb_options_create(cmd->pool, plugin->desc->options);
    inst->config_file = open_file;
    inst->config_line = open_line;

    for (ap_directive_t *d = cmd->directive->first_child; d; d = d->next) {
        const char *rest = d->args ? d->args : "";
        const char *value;
        if (d->directive[0] == '<')
            return apr_psprintf(cmd->pool, "%s:%d: %s> cannot be nested in <CloudBasePlugin>",
                                d->filename, d->line_num, d->directive);
        if (cb_options_is_list(inst->options, d->directive)) {
            /* A list entry: the plugin parses the whole rest of the line. */
            if ((err = cb_options_set_at(inst->options, cmd->pool, d->directive,
                                         apr_pstrdup(cmd->pool, rest), d->filename,
                                         d->line_num)))
                return apr_psprintf(cmd->pool, "%s:%d: plugin %s: %s", d->filename,
                                    d->line_num, name, err);
            continue;
        }
        value = ap_getword_conf(cmd->pool, &rest);
        if (!*value)
            return apr_psprintf(cmd->pool, "%s:%d: plugin %s: option '%s' needs a value "
                                "(write '%s VALUE')", d->filename, d->line_num, name,
                                d->directive, d->directive);
        if (*rest)
            return apr_psprintf(cmd->pool, "%s:%d: plugin %s: option '%s' takes one value; "
                                "quote it if it contains spaces", d->filename, d->line_num,
                                name, d->directive);
        if ((err = cb_options_set(inst->options, cmd->pool, d->directive, value)))
            return apr_psprintf(cmd->pool, "%s:%d: plugin %s: %s", d->filename, d->line_num,
                                name, err);
    }
    if ((err = cb_options_finish(inst->options, cmd->pool)))
        return apr_psprintf(cmd->pool, "%s:%d: plugin %s: %s", open_file, open_line, name, err);
    APR_ARRAY_PUSH(c->instances, cb_instance *) = inst;
    return NULL;
}

const command_rec cb_directives[] = {
    AP_INIT_TAKE1("CloudBaseEnv", cmd_env, NULL, RSRC_CONF,
                  "The environment id of this server or virtual host; turns the gateway on"),
    AP_INIT_TAKE1("CloudBasePluginDir", cmd_plugin_dir, NULL, RSRC_CONF,
                  "Directory holding plugin NAME.so files"),
    AP_INIT_TAKE1("CloudBaseHealthPath", cmd_health_path, NULL, RSRC_CONF,
                  "Path of the readiness route (default /health), or off"),
    AP_INIT_RAW_ARGS("CloudBaseRedis", cmd_redis, NULL, RSRC_CONF,
                     "redis://HOST:PORT[/DB] or unix:/PATH, then connect_timeout=, timeout=, "
                     "retry=, pool=, password="),
    AP_INIT_RAW_ARGS("CloudBaseDatabase", cmd_database, NULL, RSRC_CONF,
                     "sqlite3:/PATH or pgsql:host=... dbname=..., then timeout=, "
                     "connect_timeout=, retry=, pool="),
    AP_INIT_ITERATE("CloudBaseSecureDomains", cmd_secure_domain, NULL, RSRC_CONF,
                    "Origins allowed to call the gateway: https://app.example.com, "
                    "https://*.example.com"),
    AP_INIT_RAW_ARGS("CloudBaseRateLimit", cmd_rate_limit, NULL, RSRC_CONF,
                     "PATH LIMIT/WINDOW [by=ip|user|key|route|env] [redis_down=local|open|closed]"),
    AP_INIT_TAKE1("CloudBaseNodeCount", cmd_node_count, NULL, RSRC_CONF,
                  "Gateway nodes sharing one Redis; local fallback limits are divided by it"),
    AP_INIT_RAW_ARGS("<CloudBasePlugin", cmd_plugin_block, NULL, RSRC_CONF,
                     "Loads and configures a plugin: <CloudBasePlugin NAME> ... </CloudBasePlugin>"),
    {NULL}
};

const char *cb_apache_build_envs(apr_pool_t *p, server_rec *main_server)
{
    for (server_rec *s = main_server; s; s = s->next) {
        cb_server_conf *c = cb_server_conf_get(s);
        cb_env_spec spec;
        cb_env *env;
        const char *err;
        if (!c->env_id) {
            if (c->instances->nelts)
                return apr_psprintf(p, "%s:%d: plugins are configured for %s:%d but it has no "
                                    "CloudBaseEnv; add 'CloudBaseEnv ID'",
                                    APR_ARRAY_IDX(c->instances, 0, cb_instance *)->config_file,
                                    APR_ARRAY_IDX(c->instances, 0, cb_instance *)->config_line,
                                    s->server_hostname ? s->server_hostname : "server",
                                    s->port);
            c->env = NULL;
            continue;
        }
        spec.id = c->env_id;
        spec.health_path = c->health_path ? c->health_path : CB_DEFAULT_HEALTH_PATH;
        spec.allowlist = c->allowlist;
        spec.redis = c->redis_set ? &c->redis_cfg : NULL;
        spec.db = c->db_set ? &c->db_cfg : NULL;
        spec.rate_rules = c->rate_rules;
        spec.node_count = c->node_count;
        spec.instances = c->instances;
        if ((err = cb_env_assemble(p, &spec, &env)))
            return err;
        c->env = env;
    }
    return NULL;
}
