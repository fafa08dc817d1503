/* testplug_redis.h: the test plugin's Redis round trips (testplug_redis.c). */
#ifndef TESTPLUG_REDIS_H
#define TESTPLUG_REDIS_H

#include "cloudbase/cloudbase.h"

/* From create(): the trivial script's digest. */
void testplug_redis_init(void);
/* One EVALSHA of "return 1" on the request's Redis: 1 answered, 0 not. */
int testplug_redis_round_trip(cb_req *req);
/* POST /v1/test/redis-bytes: cb:{ENV}:testplug:bytes as a JSON answer. */
cb_status testplug_redis_bytes_route(cb_req *req, void *state);

#endif
