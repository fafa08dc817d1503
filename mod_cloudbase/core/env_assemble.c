/*
 * env_assemble.c: an environment from what a host read in its
 * configuration (cb_env_spec), the same for every host: Redis, the database, the rate
 * limits and their redis_down policies checked, each plugin instance copied
 * for this environment, then cb_env_build. The host only finds the
 * configuration (per virtual host in httpd).
 */
#include <apr_strings.h>

#include "cb_core.h"
#include "db_internal.h"
#include "ratelimit.h"

/* redis_down=closed without Redis would refuse every request. */
static const char *check_redis_down(apr_pool_t *p, const cb_env_spec *spec)
{
    for (int i = 0; spec->rate_rules && !spec->redis && i < spec->rate_rules->nelts; i++) {
        const cb_rl_rule *r = &APR_ARRAY_IDX(spec->rate_rules, i, cb_rl_rule);
        if (r->redis_down == CB_RL_DOWN_CLOSED)
            return apr_psprintf(p, "CloudBaseRateLimit %s: redis_down=closed needs "
                                "CloudBaseRedis in this server or virtual host (without it "
                                "every request would be refused)", r->text);
    }
    return NULL;
}

const char *cb_env_assemble(apr_pool_t *p, const cb_env_spec *spec, cb_env **out)
{
    cb_env *env = apr_pcalloc(p, sizeof(*env));
    const char *err;
    *out = NULL;
    env->id = spec->id;
    env->health_path = spec->health_path;
    env->allowlist = spec->allowlist;
    if ((err = check_redis_down(p, spec)))
        return err;
    env->redis = spec->redis ? cb_redis_create(p, spec->redis) : NULL;
    if (spec->db && (err = cb_db_create(p, spec->db, &env->db)))
        return apr_pstrcat(p, "CloudBaseDatabase: ", err, NULL);
    if (spec->rate_rules && spec->rate_rules->nelts) {
        if ((err = cb_ratelimit_check_rules(p, spec->rate_rules)))
            return err;
        if (!(env->ratelimit = cb_ratelimit_create(p, spec->rate_rules, spec->node_count)))
            return "CloudBaseRateLimit: the per-node counters could not be made in shared "
                   "memory; rate limits would go unenforced while Redis is down";
    }
    /* Each environment gets its own instances: state is per tenant. */
    env->instances = apr_array_make(p, spec->instances ? spec->instances->nelts : 1,
                                    sizeof(cb_instance *));
    for (int i = 0; spec->instances && i < spec->instances->nelts; i++) {
        cb_instance *copy = apr_pmemdup(p, APR_ARRAY_IDX(spec->instances, i, cb_instance *),
                                        sizeof(cb_instance));
        copy->state = NULL;
        copy->extra_routes = NULL;
        copy->created = 0;
        APR_ARRAY_PUSH(env->instances, cb_instance *) = copy;
    }
    if ((err = cb_env_build(env, p)))
        return err;
    *out = env;
    return NULL;
}
