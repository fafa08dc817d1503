/*
 * servers.h: starting and stopping real helper processes (redis-server, the
 * test upstream) on free loopback ports for unit tests that need a peer.
 */
#ifndef CB_TEST_SERVERS_H
#define CB_TEST_SERVERS_H

#include <sys/types.h>

/* A TCP port on 127.0.0.1 that nobody listens on right now. */
int srv_free_port(void);
/* 1 once something accepts connections on 127.0.0.1:port, within ms. */
int srv_wait_port(int port, int ms);
pid_t srv_start_redis(int port, const char *dir);
pid_t srv_start_upstream(int port);
void srv_stop(pid_t pid);

#endif
