/*
 * servers.h: starting and stopping real helper processes (redis-server, the
 * test upstream) on free loopback ports, for the unit and integration tests.
 */
#ifndef CB_TEST_SERVERS_H
#define CB_TEST_SERVERS_H

#include <sys/types.h>

/* A TCP port on 127.0.0.1 that nobody listens on right now. */
int srv_free_port(void);
/* 1 when something accepts connections on 127.0.0.1:port. */
int srv_port_open(int port);
/* 1 when nothing holds port on 127.0.0.1 (a bind to it succeeds now). */
int srv_port_bindable(int port);
/* 1 once srv_port_open, within ms. */
int srv_wait_port(int port, int ms);
/* Runs argv in its own process group, output to log_path (or /dev/null). */
pid_t srv_spawn(char *const argv[], const char *log_path);
pid_t srv_start_redis(int port, const char *dir, const char *log_path);
pid_t srv_start_upstream(int port, const char *log_path);
/* SIGKILL (after SIGCONT, in case it was stopped) and reap. */
void srv_stop(pid_t pid);

#endif
