/*
 * redis_reply.h: the core-internal link between hiredis replies and the
 * opaque cb_redis_reply that the public API hands out (redis_reply.c).
 */
#ifndef CB_REDIS_REPLY_H
#define CB_REDIS_REPLY_H

#include "cloudbase/redis.h"

struct redisReply;

/* The public view of a hiredis reply: the same object, never copied. */
const cb_redis_reply *cb_redis_reply_wrap(const struct redisReply *reply);

#endif
