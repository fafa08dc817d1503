/*
 * harness_internal.h: what the integration harness's own files share
 * (harness.c, harness_processes.c); tests use harness.h.
 */
#ifndef CB_IT_HARNESS_INTERNAL_H
#define CB_IT_HARNESS_INTERNAL_H

#include <sys/types.h>

/* NAME inside the test directory (one of four rotating buffers). */
char *it_path_in_dir(const char *name);
/* The pid in the test directory's file pid_file; 0 when absent. */
pid_t it_read_pid(const char *pid_file);

#endif
