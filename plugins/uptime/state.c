/*
 * state.c: the uptime state machine with anti-flapping. `retries` failures
 * in a row stay PENDING before the next makes the monitor DOWN; after DOWN,
 * `up_retries` successes in a row stay PENDING before the next makes it UP
 * again. Notifications are asked for only on confirmed transitions (to DOWN,
 * and to UP after DOWN) and, while DOWN, every `resend` checks. A pure
 * function of the state, the monitor's settings and the check's outcome.
 */
#include "uptime.h"

const char *up_status_name(up_status s)
{
    switch (s) {
    case UP_STATUS_UP: return "UP";
    case UP_STATUS_DOWN: return "DOWN";
    case UP_STATUS_MAINTENANCE: return "MAINTENANCE";
    default: return "PENDING";
    }
}

void up_state_init(up_state *s)
{
    s->status = UP_STATUS_PENDING;
    s->confirmed = UP_STATUS_PENDING;
    s->fails = s->oks = s->down_checks = 0;
    s->since_ms = 0;
}

static up_notify_kind step_success(up_state *s, const up_monitor *m, int64_t now_ms)
{
    s->oks++;
    s->fails = 0;
    if (s->confirmed == UP_STATUS_DOWN) {
        if (s->oks <= m->up_retries) {
            s->status = UP_STATUS_PENDING;
            return UP_NOTIFY_NONE;
        }
        s->status = s->confirmed = UP_STATUS_UP;
        s->since_ms = now_ms;
        return UP_NOTIFY_UP;
    }
    s->status = UP_STATUS_UP;
    if (s->confirmed != UP_STATUS_UP) {
        s->confirmed = UP_STATUS_UP; /* the first UP is not news */
        s->since_ms = now_ms;
    }
    return UP_NOTIFY_NONE;
}

static up_notify_kind step_failure(up_state *s, const up_monitor *m, int64_t now_ms)
{
    s->fails++;
    s->oks = 0;
    if (s->confirmed == UP_STATUS_DOWN) {
        s->status = UP_STATUS_DOWN;
        if (m->resend > 0 && ++s->down_checks >= m->resend) {
            s->down_checks = 0;
            return UP_NOTIFY_REMINDER;
        }
        return UP_NOTIFY_NONE;
    }
    if (s->fails <= m->retries) {
        s->status = UP_STATUS_PENDING;
        return UP_NOTIFY_NONE;
    }
    s->status = s->confirmed = UP_STATUS_DOWN;
    s->since_ms = now_ms;
    s->down_checks = 0;
    return UP_NOTIFY_DOWN;
}

up_notify_kind up_state_step(up_state *s, const up_monitor *m, int ok, int64_t now_ms)
{
    if (m->maintenance) {
        s->status = UP_STATUS_MAINTENANCE;
        return UP_NOTIFY_NONE;
    }
    return ok ? step_success(s, m, now_ms) : step_failure(s, m, now_ms);
}
