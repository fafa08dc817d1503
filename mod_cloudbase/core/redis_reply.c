/*
 * redis_reply.c: the accessors of cb_redis_reply (cloudbase/redis.h).
 *
 * A cb_redis_reply is the hiredis reply itself seen through an incomplete
 * type: handing one out costs nothing, and only this file (and redis.c,
 * which makes them) knows what is inside. NULL reads as a nil reply.
 */
#include <apr_strings.h>
#include <hiredis.h>

#include "redis_reply.h"

const cb_redis_reply *cb_redis_reply_wrap(const redisReply *reply)
{
    return (const cb_redis_reply *)reply;
}

static const redisReply *unwrap(const cb_redis_reply *r)
{
    return (const redisReply *)r;
}

cb_redis_reply_type cb_redis_reply_kind(const cb_redis_reply *r)
{
    const redisReply *reply = unwrap(r);
    if (!reply)
        return CB_REDIS_REPLY_NIL;
    switch (reply->type) {
    case REDIS_REPLY_INTEGER: return CB_REDIS_REPLY_INTEGER;
    case REDIS_REPLY_STRING:  return CB_REDIS_REPLY_STRING;
    case REDIS_REPLY_STATUS:  return CB_REDIS_REPLY_STATUS;
    case REDIS_REPLY_ERROR:   return CB_REDIS_REPLY_ERROR;
    case REDIS_REPLY_ARRAY:   return CB_REDIS_REPLY_ARRAY;
    default:                  return CB_REDIS_REPLY_NIL;
    }
}

int64_t cb_redis_reply_integer(const cb_redis_reply *r)
{
    const redisReply *reply = unwrap(r);
    return reply && reply->type == REDIS_REPLY_INTEGER ? (int64_t)reply->integer : 0;
}

const char *cb_redis_reply_bytes(const cb_redis_reply *r, size_t *len)
{
    const redisReply *reply = unwrap(r);
    if (!reply || (reply->type != REDIS_REPLY_STRING && reply->type != REDIS_REPLY_STATUS &&
                   reply->type != REDIS_REPLY_ERROR)) {
        if (len)
            *len = 0;
        return NULL;
    }
    if (len)
        *len = reply->len;
    return reply->str;
}

const char *cb_redis_reply_strdup(apr_pool_t *p, const cb_redis_reply *r)
{
    const redisReply *reply = unwrap(r);
    if (!reply || reply->type != REDIS_REPLY_STRING)
        return NULL;
    return apr_pstrmemdup(p, reply->str, reply->len);
}

size_t cb_redis_reply_count(const cb_redis_reply *r)
{
    const redisReply *reply = unwrap(r);
    return reply && reply->type == REDIS_REPLY_ARRAY ? reply->elements : 0;
}

const cb_redis_reply *cb_redis_reply_element(const cb_redis_reply *r, size_t i)
{
    const redisReply *reply = unwrap(r);
    if (!reply || reply->type != REDIS_REPLY_ARRAY || i >= reply->elements)
        return NULL;
    return cb_redis_reply_wrap(reply->element[i]);
}

const char *cb_redis_reply_error(const cb_redis_reply *r)
{
    const redisReply *reply = unwrap(r);
    return reply && reply->type == REDIS_REPLY_ERROR ? reply->str : NULL;
}
