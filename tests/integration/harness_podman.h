/*
 * harness_podman.h: a real Podman engine for the containers tests, inside
 * the test's temporary directory: its own containers.conf (runc, cgroupfs,
 * ulimits it accepts, no network namespace), storage and run root, a
 * busybox image imported offline, and `podman system service` serving the
 * Docker Engine API on a unix socket there. The machine's default podman
 * storage is never touched and nothing goes to the network.
 */
#ifndef CB_IT_HARNESS_PODMAN_H
#define CB_IT_HARNESS_PODMAN_H

#include <jansson.h>

#include "harness.h"

/* The image the harness imports (a busybox root file system). */
#define IT_PODMAN_IMAGE "localhost/cb-busybox:latest"

/* After it_setup: imports the image and starts the service; returns the
 * API socket's path (fails the test when the engine does not answer). */
const char *it_podman_start(void);
/* Removes every container, stops the service and every conmon it left
 * (by PID, found by the test's storage root). Call before it_teardown;
 * safe to call twice. */
void it_podman_stop(void);
/* For the registry's cleanup after a failed test: removes the containers
 * of the engine in test_dir (if it has one) and stops its conmons. */
void it_podman_cleanup_dir(const char *test_dir);
/* Freezes (SIGSTOP) or thaws (SIGCONT) the service: an engine that
 * accepts connections and never answers. */
void it_podman_pause(int paused);
/* Stops only the service (the socket goes away): for "engine down". */
void it_podman_stop_service(void);
/* A request to the engine itself (not through the gateway) to an API path
 * such as "/v1.41/containers/ID/json", with a JSON body or NULL. */
void it_podman_request(const char *method, const char *path, const char *json,
                       it_response *out);

#endif
