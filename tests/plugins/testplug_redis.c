/*
 * testplug_redis.c: the test plugin's Redis round trips, the floors that
 * scripts/bench.sh measures the Redis-bound features against. With
 * redis_trip_path, the policy runs one trivial script (EVALSHA of
 * "return 1") before every request under that path: what one atomic
 * decision per call costs at the least, whatever the script does (the
 * wallet's metered call). POST /v1/test/redis-bytes answers, as JSON, the
 * value of cb:{ENV}:testplug:bytes read with one GET: what any answer that
 * has to be asked of Redis costs at the least (the model read cache's HIT).
 */
#include <string.h>

#include "cloudbase/cloudbase.h"
#include "cloudbase/redis.h"
#include "testplug_redis.h"

static cb_redis_script trivial_script;

void testplug_redis_init(void)
{
    cb_redis_script_init(&trivial_script, "return 1");
}

int testplug_redis_round_trip(cb_req *req)
{
    cb_redis *redis = cb_req_redis(req);
    const cb_redis_reply *reply;
    return redis && cb_redis_eval(redis, cb_req_pool(req), &trivial_script, 0, 0, NULL, NULL,
                                  &reply) == APR_SUCCESS &&
           cb_redis_reply_kind(reply) == CB_REDIS_REPLY_INTEGER;
}

cb_status testplug_redis_bytes_route(cb_req *req, void *state)
{
    cb_redis *redis = cb_req_redis(req);
    apr_pool_t *p = cb_req_pool(req);
    const char *argv[2];
    const cb_redis_reply *reply;
    const char *bytes;
    size_t len;
    (void)state;
    argv[0] = "GET";
    argv[1] = cb_redis_key(p, cb_req_env(req), "testplug", "bytes", NULL);
    if (!redis || cb_redis_command(redis, p, 2, argv, NULL, &reply) != APR_SUCCESS)
        return cb_req_send_error(req, 503, "SERVICE_UNAVAILABLE", "Redis cannot be reached");
    if (cb_redis_reply_kind(reply) != CB_REDIS_REPLY_STRING ||
        !(bytes = cb_redis_reply_bytes(reply, &len)))
        return cb_req_send_error(req, 404, "RESOURCE_NOT_FOUND", "no bytes are stored");
    cb_req_set_status(req, 200);
    cb_req_set_header(req, "Content-Type", "application/json; charset=utf-8");
    return cb_req_write(req, bytes, len);
}
