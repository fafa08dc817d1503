/*
 * script_audit.h: checks that every Redis script declares the keys it
 * touches. A connection in MONITOR mode sees each EVAL / EVALSHA with its
 * KEYS and then, as "lua" lines, every command the script ran; the audit
 * fails when a script command names a key that was not in its KEYS (a
 * script that would break on a Redis Cluster while its slot migrates, or
 * touch another node's key).
 */
#ifndef CB_TEST_SCRIPT_AUDIT_H
#define CB_TEST_SCRIPT_AUDIT_H

#include <stddef.h>

typedef struct srv_audit srv_audit;

/* Starts monitoring the redis-server on 127.0.0.1:port; NULL on failure. */
srv_audit *srv_audit_start(int port);
/* Reads everything the server did up to now (it sends a marker command on
 * a second connection and reads until the marker comes back), checks it,
 * and stops monitoring. Returns the number of undeclared key uses; the
 * first is described in why. *scripts counts the scripts seen and
 * *script_commands the commands they ran. */
int srv_audit_finish(srv_audit *a, int *scripts, int *script_commands, char *why,
                     size_t why_size);

#endif
