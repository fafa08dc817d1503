/*
 * ct_stamp.c: the task of the containers_sse benchmark (scripts/bench-containers.sh).
 * Built statically and copied into the benchmark's busybox image, it runs in
 * the container as an exec: it waits until a start time, then prints COUNT
 * lines "SEQ MICROS" every INTERVAL_MS milliseconds, MICROS being the
 * wall-clock time (CLOCK_REALTIME, the host's clock) at which the line was
 * written. The client subtracts it from the line's arrival time, so the
 * latency of each event is known whichever path (gateway SSE or the engine's
 * own attach stream) carried it.
 *
 * Usage: ct_stamp COUNT INTERVAL_MS START_MICROS [LINGER_MS]
 * LINGER_MS: how long to stay after the last line before exiting (0).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static long long now_micros(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Sleeps until the wall-clock time `micros` (at once if it has passed). */
static void sleep_until(long long micros)
{
    for (;;) {
        long long left = micros - now_micros();
        struct timespec ts;
        if (left <= 0)
            return;
        ts.tv_sec = (time_t)(left / 1000000);
        ts.tv_nsec = (long)(left % 1000000) * 1000;
        if (nanosleep(&ts, NULL) == 0 || errno != EINTR)
            return;
    }
}

int main(int argc, char **argv)
{
    long count, interval_ms, linger_ms = 0;
    long long start;
    if (argc < 4 || argc > 5 || (count = atol(argv[1])) <= 0 ||
        (interval_ms = atol(argv[2])) <= 0 || (start = atoll(argv[3])) <= 0 ||
        (argc == 5 && (linger_ms = atol(argv[4])) < 0)) {
        fprintf(stderr, "usage: ct_stamp COUNT INTERVAL_MS START_MICROS [LINGER_MS]\n");
        return 2;
    }
    for (long i = 0; i < count; i++) {
        char line[64];
        int len;
        sleep_until(start + (long long)i * interval_ms * 1000);
        len = snprintf(line, sizeof(line), "%ld %lld\n", i, now_micros());
        /* one write per line: the engine frames it at once */
        if (write(STDOUT_FILENO, line, (size_t)len) != len)
            return 1;
    }
    sleep_until(now_micros() + (long long)linger_ms * 1000);
    return 0;
}
