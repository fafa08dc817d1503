/*
 * svc_greeter.h: the service the test plugins svcpub (publishes it) and
 * svcuse (looks it up) share, as a real pair of plugins would share a
 * header. Version 2 added calls() at the end of version 1's struct.
 */
#ifndef SVC_GREETER_H
#define SVC_GREETER_H

#include "cloudbase/cloudbase.h"

#define SVC_GREETER_NAME "test.greeter"

typedef struct svc_greeter {
    /* Version 1. */
    const char *(*greet)(apr_pool_t *p, const char *name);
    /* Version 2. */
    int (*calls)(void);
} svc_greeter;

#endif
