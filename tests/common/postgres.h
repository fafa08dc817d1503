/*
 * postgres.h: a throwaway PostgreSQL server for tests: initdb in a temp
 * dir, postgres on a free 127.0.0.1 port with its unix socket in that dir,
 * one database created; stopped and removed afterwards. As root the server
 * runs as the unprivileged "postgres" (or "nobody") user.
 */
#ifndef CB_TEST_POSTGRES_H
#define CB_TEST_POSTGRES_H

#include <sys/types.h>

typedef struct srv_pg {
    char dir[64];     /* temp dir: data/ and the socket */
    int port;
    pid_t pid;        /* the postmaster */
} srv_pg;

/* initdb, start, createdb "cbtest". 0 on success. */
int srv_pg_create(srv_pg *pg);
/* Starts the server again on the same port (after srv_pg_stop). 0 on success. */
int srv_pg_start(srv_pg *pg);
/* Immediate shutdown (SIGQUIT), waits for the postmaster to exit. */
void srv_pg_stop(srv_pg *pg);
/* Stops the server and removes the temp dir. */
void srv_pg_destroy(srv_pg *pg);
/* The CloudBaseDatabase line for the test database, plus extra options. */
const char *srv_pg_database_line(const srv_pg *pg, const char *options, char *buf,
                                 size_t size);

#endif
