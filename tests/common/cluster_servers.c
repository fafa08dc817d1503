/*
 * cluster_servers.c: a real three-master Redis Cluster on loopback for tests
 * (see cluster_servers.h).
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cluster_servers.h"
#include "servers.h"

#define CLI_MAX_ARGS 128

/* A port whose cluster bus port (port + 10000) is free and valid too. */
static int free_cluster_port(const int *taken, int n)
{
    for (int attempt = 0; attempt < 500; attempt++) {
        int port = srv_free_port(), clash = 0;
        /* the bus port stays below the ephemeral range (32768 by default) too */
        if (port <= 0 || port + 10000 > 32767 || !srv_port_bindable(port + 10000))
            continue;
        for (int i = 0; i < n; i++)
            clash |= taken[i] == port || taken[i] + 10000 == port || taken[i] == port + 10000;
        if (!clash)
            return port;
    }
    return -1;
}

/* Runs argv, stdout into out (trimmed of trailing newlines). */
static int run_capture(char *const argv[], char *out, size_t size)
{
    int fds[2], status = -1;
    size_t used = 0;
    pid_t pid;
    if (pipe(fds) != 0)
        return -1;
    pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    for (;;) {
        char scratch[512];
        char *dest = used + 1 < size ? out + used : scratch;
        size_t room = used + 1 < size ? size - used - 1 : sizeof(scratch);
        ssize_t got = read(fds[0], dest, room);
        if (got <= 0)
            break;
        if (dest != scratch)
            used += (size_t)got;
    }
    close(fds[0]);
    if (size) {
        out[used] = '\0';
        while (used && (out[used - 1] == '\n' || out[used - 1] == '\r'))
            out[--used] = '\0';
    }
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int cli_argv(int port, char **args, int nargs, char *out, size_t size)
{
    char port_text[16];
    char *argv[CLI_MAX_ARGS + 4];
    if (nargs > CLI_MAX_ARGS)
        return -1;
    snprintf(port_text, sizeof(port_text), "%d", port);
    argv[0] = "redis-cli";
    argv[1] = "-p";
    argv[2] = port_text;
    for (int i = 0; i < nargs; i++)
        argv[3 + i] = args[i];
    argv[3 + nargs] = NULL;
    return run_capture(argv, out, size);
}

int srv_cluster_cli(const srv_cluster *c, int node, char *out, size_t size, ...)
{
    char *args[CLI_MAX_ARGS];
    int n = 0;
    va_list ap;
    va_start(ap, size);
    for (char *a; n < CLI_MAX_ARGS && (a = va_arg(ap, char *));)
        args[n++] = a;
    va_end(ap);
    return cli_argv(c->ports[node], args, n, out, size);
}

static pid_t start_node(const srv_cluster *c, int port)
{
    char port_text[16], conf[128], log[400];
    char *argv[] = {"redis-server", "--port", port_text, "--bind", "127.0.0.1",
                    "--save", "", "--appendonly", "no", "--dir", (char *)c->dir,
                    "--cluster-enabled", "yes", "--cluster-config-file", conf,
                    "--cluster-node-timeout", "2000",
                    "--cluster-require-full-coverage", "no", NULL};
    snprintf(port_text, sizeof(port_text), "%d", port);
    snprintf(conf, sizeof(conf), "nodes-%d.conf", port);
    snprintf(log, sizeof(log), "%s/redis-%d.log", c->dir, port);
    return srv_spawn(argv, log);
}

static int all_nodes_ok(const srv_cluster *c)
{
    char info[4096];
    for (int i = 0; i < SRV_CLUSTER_NODES; i++) {
        if (srv_cluster_cli(c, i, info, sizeof(info), "CLUSTER", "INFO", NULL) != 0 ||
            !strstr(info, "cluster_state:ok") || !strstr(info, "cluster_slots_assigned:16384"))
            return 0;
    }
    return 1;
}

int srv_cluster_start(srv_cluster *c)
{
    return srv_cluster_start_in(c, "/tmp");
}

int srv_cluster_start_in(srv_cluster *c, const char *parent)
{
    if (srv_cluster_launch_in(c, parent) != 0)
        return -1;
    return srv_cluster_form(c);
}

/* One try: three nodes on fresh ports, each listening within 5 s. */
static int launch_once(srv_cluster *c, const char *parent)
{
    memset(c, 0, sizeof(*c));
    if ((size_t)snprintf(c->dir, sizeof(c->dir), "%s/cb-cluster-XXXXXX", parent) >=
            sizeof(c->dir) || !mkdtemp(c->dir))
        return -1;
    for (int i = 0; i < SRV_CLUSTER_NODES; i++) {
        c->ports[i] = free_cluster_port(c->ports, i);
        if (c->ports[i] < 0)
            goto fail;
        c->pids[i] = start_node(c, c->ports[i]);
    }
    for (int i = 0; i < SRV_CLUSTER_NODES; i++)
        if (!srv_wait_port(c->ports[i], 5000))
            goto fail;
    return 0;
fail:
    for (int i = 0; i < SRV_CLUSTER_NODES; i++)
        if (c->ports[i] > 0)
            fprintf(stderr, "redis cluster node on port %d (bus %d) did not start\n",
                    c->ports[i], c->ports[i] + 10000);
    srv_cluster_stop(c);
    return -1;
}

int srv_cluster_launch_in(srv_cluster *c, const char *parent)
{
    /* A port checked free can still be taken before redis-server binds it
     * (by a concurrent test run): a node that does not come up is retried
     * on other ports rather than failing the test. */
    for (int attempt = 0; attempt < 3; attempt++)
        if (launch_once(c, parent) == 0)
            return 0;
    return -1;
}

int srv_cluster_form(srv_cluster *c)
{
    char out[8192], addr[SRV_CLUSTER_NODES][32];
    char *create[SRV_CLUSTER_NODES + 8];
    int n = 0;
    create[n++] = "redis-cli";
    create[n++] = "--cluster";
    create[n++] = "create";
    for (int i = 0; i < SRV_CLUSTER_NODES; i++) {
        snprintf(addr[i], sizeof(addr[i]), "127.0.0.1:%d", c->ports[i]);
        create[n++] = addr[i];
    }
    create[n++] = "--cluster-replicas";
    create[n++] = "0";
    create[n++] = "--cluster-yes";
    create[n] = NULL;
    if (run_capture(create, out, sizeof(out)) != 0) {
        fprintf(stderr, "redis-cli --cluster create failed:\n%s\n", out);
        goto fail;
    }
    for (int waited = 0; waited < 15000; waited += 50) {
        if (all_nodes_ok(c))
            return 0;
        usleep(50 * 1000);
    }
    fprintf(stderr, "the Redis Cluster did not reach cluster_state:ok\n");
fail:
    srv_cluster_stop(c);
    return -1;
}

void srv_cluster_kill_node(srv_cluster *c, int node)
{
    srv_stop(c->pids[node]);
    c->pids[node] = 0;
}

void srv_cluster_stop(srv_cluster *c)
{
    char command[400];
    for (int i = 0; i < SRV_CLUSTER_NODES; i++)
        srv_cluster_kill_node(c, i);
    if (c->dir[0] && strstr(c->dir, "/cb-cluster-") && !strchr(c->dir, '\'')) {
        snprintf(command, sizeof(command), "rm -rf '%s'", c->dir);
        if (system(command) != 0)
            fprintf(stderr, "could not remove %s\n", c->dir);
    }
    c->dir[0] = '\0';
}

int srv_cluster_flush(srv_cluster *c)
{
    char out[64];
    for (int i = 0; i < SRV_CLUSTER_NODES; i++)
        if (c->pids[i] &&
            (srv_cluster_cli(c, i, out, sizeof(out), "FLUSHALL", NULL) != 0 || strcmp(out, "OK")))
            return -1;
    return 0;
}

const char *srv_cluster_url(const srv_cluster *c, char *buf, size_t size)
{
    snprintf(buf, size, "redis-cluster://127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d",
             c->ports[0], c->ports[1], c->ports[2]);
    return buf;
}

/* From CLUSTER NODES as the first live node sees it: each line is "ID
 * IP:PORT@BUS FLAGS MASTER PING PONG EPOCH LINK SLOT..." where a SLOT is N
 * or LO-HI ("[...]" entries are migrations in flight). */
int srv_cluster_slot_owner(const srv_cluster *c, int slot)
{
    char out[8192];
    int asked = 0;
    while (asked < SRV_CLUSTER_NODES && !c->pids[asked])
        asked++;
    if (asked == SRV_CLUSTER_NODES ||
        srv_cluster_cli(c, asked, out, sizeof(out), "CLUSTER", "NODES", NULL) != 0)
        return -1;
    for (char *line_save = NULL, *line = strtok_r(out, "\n", &line_save); line;
         line = strtok_r(NULL, "\n", &line_save)) {
        char *save = NULL;
        int index = 0, port = -1;
        for (char *tok = strtok_r(line, " ", &save); tok; tok = strtok_r(NULL, " ", &save), index++) {
            int lo, hi;
            if (index == 1) {
                char *colon = strrchr(tok, ':');
                port = colon ? atoi(colon + 1) : -1;
            }
            if (index < 8 || tok[0] == '[')
                continue;
            if (sscanf(tok, "%d-%d", &lo, &hi) != 2) {
                if (sscanf(tok, "%d", &lo) != 1)
                    continue;
                hi = lo;
            }
            if (slot >= lo && slot <= hi) {
                for (int i = 0; i < SRV_CLUSTER_NODES; i++)
                    if (c->ports[i] == port)
                        return i;
                return -1;
            }
        }
    }
    return -1;
}

static int node_id(const srv_cluster *c, int node, char *id, size_t size)
{
    return srv_cluster_cli(c, node, id, size, "CLUSTER", "MYID", NULL) == 0 && id[0] ? 0 : -1;
}

int srv_cluster_migrate_slot(srv_cluster *c, int slot, int from, int to, int batch,
                             void (*between)(void *), void *arg)
{
    char from_id[64], to_id[64], slot_text[16], batch_text[16], port_text[16], out[8192];
    snprintf(slot_text, sizeof(slot_text), "%d", slot);
    snprintf(batch_text, sizeof(batch_text), "%d", batch);
    snprintf(port_text, sizeof(port_text), "%d", c->ports[to]);
    if (node_id(c, from, from_id, sizeof(from_id)) || node_id(c, to, to_id, sizeof(to_id)))
        return -1;
    if (srv_cluster_cli(c, to, out, sizeof(out), "CLUSTER", "SETSLOT", slot_text, "IMPORTING",
                        from_id, NULL) || strcmp(out, "OK") ||
        srv_cluster_cli(c, from, out, sizeof(out), "CLUSTER", "SETSLOT", slot_text, "MIGRATING",
                        to_id, NULL) || strcmp(out, "OK"))
        return -1;
    if (between)
        between(arg);
    for (;;) {
        char *args[CLI_MAX_ARGS];
        int n = 0;
        char *save = NULL;
        if (srv_cluster_cli(c, from, out, sizeof(out), "CLUSTER", "GETKEYSINSLOT", slot_text,
                            batch_text, NULL) != 0)
            return -1;
        if (!out[0])
            break;
        args[n++] = "MIGRATE";
        args[n++] = "127.0.0.1";
        args[n++] = port_text;
        args[n++] = "";
        args[n++] = "0";
        args[n++] = "5000";
        args[n++] = "KEYS";
        for (char *key = strtok_r(out, "\n", &save); key && n < CLI_MAX_ARGS;
             key = strtok_r(NULL, "\n", &save))
            args[n++] = key;
        {
            char result[256];
            if (cli_argv(c->ports[from], args, n, result, sizeof(result)) != 0 ||
                (strcmp(result, "OK") && strcmp(result, "NOKEY"))) {
                fprintf(stderr, "MIGRATE failed: %s\n", result);
                return -1;
            }
        }
        if (between)
            between(arg);
    }
    for (int i = 0; i < SRV_CLUSTER_NODES; i++) {
        int node = i == 0 ? to : i == 1 ? from : 3 - to - from;
        if (c->pids[node] &&
            (srv_cluster_cli(c, node, out, sizeof(out), "CLUSTER", "SETSLOT", slot_text, "NODE",
                             to_id, NULL) || strcmp(out, "OK")))
            return -1;
    }
    return 0;
}
