/*
 * containers.h: what the containers plugin's files share: the agent types
 * (agent_type.c), the container engine client over the Docker Engine API
 * v1.41 on a unix socket (engine.c), the exec stream demultiplexer
 * (frames.c), the registry in the database service (registry.c), the
 * reaper (reaper.c), the TestBase-style API's handlers (api.c,
 * api_body.c, execute.c) and the static driver (static_driver.c).
 */
#ifndef CB_CONTAINERS_H
#define CB_CONTAINERS_H

#include <stddef.h>
#include <stdint.h>

#include <apr_hash.h>
#include <apr_pools.h>
#include <apr_tables.h>

#include "cloudbase/cloudbase.h"
#include "cloudbase/db.h"
#include "cloudbase/http.h"
#include "cloudbase/json.h"

#define CT_ID_HEX 24                /* hex characters of a container id */
#define CT_LABEL_ENV "cloudbase.env"
#define CT_LABEL_OWNER "cloudbase.owner"
#define CT_LABEL_ID "cloudbase.container"

/* ---- agent_type.c */
typedef enum {
    CT_DRIVER_ENGINE = 0,  /* containers this gateway runs on the engine */
    CT_DRIVER_STATIC       /* a container already running elsewhere (static_driver.c) */
} ct_driver;

typedef struct ct_agent_type {
    const char *name;
    ct_driver driver;
    const char *url;                   /* static: the endpoint's base URL, no trailing '/' */
    const char *image;                 /* engine: the image (NULL for static) */
    const apr_array_header_t *command; /* of const char *: the agent's argv */
    int64_t memory_bytes;              /* 0: the engine's default */
    int64_t nano_cpus;                 /* 0: the engine's default */
    int host_network;                  /* 0: network none */
} ct_agent_type;

/* `NAME [driver=engine] image=... command=PROGRAM[,ARG...] [memory=SIZE]
 * [cpus=N] [network=none|host]` or `NAME driver=static url=http(s)://...`:
 * NULL and *out, or what to fix. The static URL's address is checked
 * against the outbound guard by ct_static_check_url (static_driver.c). */
const char *ct_agent_type_parse(apr_pool_t *p, const char *text, ct_agent_type *out);

/* ---- frames.c: the engine's multiplexed stdout/stderr stream */
#define CT_FRAME_STDOUT 1
#define CT_FRAME_STDERR 2
#define CT_FRAME_MAX (8 * 1024 * 1024)   /* a larger frame is refused */

typedef int (*ct_frame_fn)(void *baton, int stream, const char *data, size_t len);
typedef struct ct_frames {
    unsigned char header[8];
    size_t header_have;
    size_t remaining;  /* payload bytes still to come in the current frame */
    int stream;
    int failed;
    ct_frame_fn on_frame;
    void *baton;
} ct_frames;

void ct_frames_init(ct_frames *f, ct_frame_fn on_frame, void *baton);
/* Feeds bytes of any chunking; payload pieces go to on_frame as they
 * arrive (a frame may come in several pieces). 0, the callback's nonzero
 * result, or -1 for a malformed header (bad stream byte, frame too big). */
int ct_frames_feed(ct_frames *f, const char *data, size_t len);

/* Lines of the demultiplexed output, by stream: each complete line goes to
 * on_line at once (a line longer than CT_LINE_MAX in pieces); flush sends
 * what is left of unfinished lines. */
#define CT_LINE_MAX (64 * 1024)
typedef int (*ct_line_fn)(void *baton, int stream, const char *line, size_t len);
typedef struct ct_lines {
    apr_pool_t *pool;
    char *data[3];          /* by stream: 1 stdout, 2 stderr; made on first use */
    size_t len[3];
    ct_line_fn on_line;
    void *baton;
} ct_lines;
void ct_lines_init(ct_lines *l, apr_pool_t *p, ct_line_fn on_line, void *baton);
/* A ct_frame_fn whose baton is the ct_lines. */
int ct_lines_feed_frame(void *lines, int stream, const char *data, size_t len);
int ct_lines_flush(ct_lines *l);

/* ---- tar.c: the engine's archive format, and workspace paths */
typedef enum { CT_TAR_FILE, CT_TAR_DIRECTORY, CT_TAR_OTHER } ct_tar_type;
typedef struct ct_tar_entry {
    const char *name;    /* as stored: "dir/", "dir/a.txt" */
    ct_tar_type type;
    int64_t size;
    const char *data;    /* size bytes, inside the archive */
} ct_tar_entry;
/* Nonzero stops the walk. */
typedef int (*ct_tar_entry_fn)(void *baton, const ct_tar_entry *entry);
/* Walks the entries of a tar archive: NULL, or what is malformed. */
const char *ct_tar_walk(apr_pool_t *p, const char *data, size_t len, ct_tar_entry_fn fn,
                        void *baton);
/* A tar archive of one regular file (name without '/', at most 99 bytes),
 * or NULL for a bad name. */
const char *ct_tar_one_file(apr_pool_t *p, const char *name, const char *data, size_t len,
                            int64_t mtime, size_t *out_len);
/* A client's path, confined to the workspace: /workspace or under it,
 * no . or .. segments, no control characters; repeated slashes folded.
 * NULL and *out (normalised), or what to fix. */
const char *ct_workspace_path(apr_pool_t *p, const char *text, const char **out);

/* ---- engine.c */
typedef struct ct_engine {
    const char *socket_path;
    int64_t timeout_ms;
} ct_engine;

typedef struct ct_engine_reply {
    long status;         /* 0: the engine could not be reached */
    const char *body;    /* NUL-terminated */
    size_t body_len;
    const char *error;   /* why the call failed, for the log */
} ct_engine_reply;

/* One call: method, API path (after /v1.41), optional JSON body. */
void ct_engine_call(const ct_engine *e, apr_pool_t *p, const char *method, const char *path,
                    const char *json_body, ct_engine_reply *out);
/* The same with a body of any type (an archive upload). */
void ct_engine_send(const ct_engine *e, apr_pool_t *p, const char *method, const char *path,
                    const char *content_type, const char *body, size_t body_len,
                    ct_engine_reply *out);
/* Creates and starts a container of type t, labelled with env, owner and
 * id, named cb-ENV-ID; *engine_id gets the engine's id. */
void ct_engine_run(const ct_engine *e, apr_pool_t *p, const ct_agent_type *t, const char *env,
                   const char *owner, const char *id, const char **engine_id,
                   ct_engine_reply *out);
/* The same with a host directory bound at /workspace (NULL: none). */
void ct_engine_run_bound(const ct_engine *e, apr_pool_t *p, const ct_agent_type *t,
                         const char *env, const char *owner, const char *id,
                         const char *workspace_dir, const char **engine_id, ct_engine_reply *out);
/* Removes the containers (engine ids) at once, killing what runs in them
 * (force): all the calls in flight together. */
void ct_engine_remove_now(const ct_engine *e, apr_pool_t *p, const apr_array_header_t *engine_ids);
/* Stops (Init makes it quick) and removes a container with its volumes. */
void ct_engine_remove(const ct_engine *e, apr_pool_t *p, const char *engine_id,
                      ct_engine_reply *out);
/* The last lines of a container's output, demultiplexed into plain text. */
void ct_engine_logs(const ct_engine *e, apr_pool_t *p, const char *engine_id, int lines,
                    const char **text, size_t *len, ct_engine_reply *out);
/* An exec of argv (env: "NAME=value" strings, may be NULL); *exec_id. */
void ct_engine_exec_create(const ct_engine *e, apr_pool_t *p, const char *engine_id,
                           const apr_array_header_t *argv, const apr_array_header_t *env,
                           const char **exec_id, ct_engine_reply *out);
/* Runs argv in the container to its end (output discarded); *exit_code. */
void ct_engine_exec_run(const ct_engine *e, apr_pool_t *p, const char *engine_id,
                        const apr_array_header_t *argv, int64_t *exit_code, ct_engine_reply *out);
/* The same with env ("NAME=value" strings, may be NULL). */
void ct_engine_exec_run_env(const ct_engine *e, apr_pool_t *p, const char *engine_id,
                            const apr_array_header_t *argv, const apr_array_header_t *env,
                            int64_t *exit_code, ct_engine_reply *out);
/* The engine's containers carrying label key=value, as a JSON array. */
void ct_engine_list(const ct_engine *e, apr_pool_t *p, const char *label, const char *value,
                    cb_json **containers, ct_engine_reply *out);

/* ---- registry.c: table cb_containers */
extern const cb_db_migration ct_migrations[];

typedef struct ct_record {
    const char *id;
    const char *owner;
    const char *agent_type;
    const char *engine_id;
    const char *status;
    const char *model;
    const char *reasoning_effort;
    const char *workspace;
    const char *region;
    int persist;
    int64_t timeout_ms;
    int64_t created_ms;
    const char *mcp_json;       /* the MCP servers, {name: server}, or NULL */
} ct_record;

apr_status_t ct_registry_insert(cb_db *db, apr_pool_t *p, const char *env, const ct_record *r);
/* APR_SUCCESS with *out, APR_NOTFOUND, or the database's error. */
apr_status_t ct_registry_get(cb_db *db, apr_pool_t *p, const char *env, const char *id,
                             ct_record *out);
apr_status_t ct_registry_list(cb_db *db, apr_pool_t *p, const char *env, const char *owner,
                              apr_array_header_t **out);
/* Stores r's model and reasoning effort. */
apr_status_t ct_registry_update_settings(cb_db *db, apr_pool_t *p, const char *env,
                                         const ct_record *r);
/* Records the engine's id and the status once the engine created it. */
apr_status_t ct_registry_set_engine(cb_db *db, apr_pool_t *p, const char *env, const char *id,
                                    const char *engine_id, const char *status);
/* Up to 100 non-persistent containers whose timeout passed by now_ms. */
apr_status_t ct_registry_expired(cb_db *db, apr_pool_t *p, const char *env, int64_t now_ms,
                                 apr_array_header_t **out);
/* Stores the MCP servers ({name: server} as JSON). */
apr_status_t ct_registry_set_mcp(cb_db *db, apr_pool_t *p, const char *env, const char *id,
                                 const char *mcp_json);
apr_status_t ct_registry_delete(cb_db *db, apr_pool_t *p, const char *env, const char *id);

/* ---- live_state.c: the live state in Redis (NULL redis: none) */
typedef struct ct_live {
    int known;                 /* Redis answered with a hash for the container */
    const char *status;        /* the last known status, or NULL */
    int64_t status_at, health_at, task_started_at, task_ended_at; /* ms; 0: never */
    int healthy;
    int64_t tasks_running;
} ct_live;
typedef struct ct_plugin ct_plugin;
void ct_live_init(void);
void ct_live_status(ct_plugin *ct, apr_pool_t *p, const ct_record *r, const char *status);
void ct_live_health(ct_plugin *ct, apr_pool_t *p, const ct_record *r, const char *status,
                    int healthy);
/* A task started (nonzero) or ended in r. */
void ct_live_task(ct_plugin *ct, apr_pool_t *p, const ct_record *r, int started);
void ct_live_removed(ct_plugin *ct, apr_pool_t *p, const char *id);
/* The live state of count records into out[] (zeroed when unknown): 1
 * when Redis answered, 0 when it could not (out all unknown). */
int ct_live_read(ct_plugin *ct, apr_pool_t *p, const ct_record *records, int count,
                 ct_live *out);
/* Sets o's status (when known), statusUpdatedAt, lastHealthCheck and
 * tasks (null when unknown). */
void ct_live_to_json(apr_pool_t *p, cb_json *o, const ct_live *l);

/* ---- invoke_body.c: POST /invoke/stdout's body */
#define CT_INVOKE_MAX_TASKS 16
typedef struct ct_invoke_task {
    const char *name;      /* task_name ("main" for messages) */
    const char *prompt;    /* the agent's input */
} ct_invoke_task;
typedef struct ct_invoke {
    const char *repo_url;      /* NULL: an empty workspace */
    const char *github_token;  /* NULL: none; only for the clone */
    const char *branch;        /* "main" unless given */
    int haiku;
    const char *thread_id;     /* NULL: a new thread */
    apr_array_header_t *tasks; /* of ct_invoke_task */
} ct_invoke;
/* NULL and *out, or what the client must fix. */
const char *ct_invoke_parse(apr_pool_t *p, const cb_json *body, ct_invoke *out);
/* 1-64 letters, digits, '-', '_' or '.', not starting with '.'. */
int ct_invoke_is_name(const char *s);

/* ---- clone.c: workspaces on the host and the git clone */
typedef struct ct_clone_spec {
    const char *git;          /* the git program */
    const char *url, *branch;
    const char *token;        /* NULL: none */
    const char *home;         /* git's HOME */
    int64_t timeout_ms;
    int (*stop)(void *baton); /* nonzero: give up (the client left) */
    void *stop_baton;
} ct_clone_spec;
/* BASE/ENV/OWNERHASH/THREAD. */
const char *ct_thread_dir(apr_pool_t *p, const char *base, const char *env, const char *owner,
                          const char *thread_id);
int ct_dir_exists(apr_pool_t *p, const char *dir);
/* Clones into dir (which must not exist): NULL, or what to tell the client
 * and *log_detail (git's message, token scrubbed). */
const char *ct_git_clone(apr_pool_t *p, const ct_clone_spec *c, const char *dir,
                         const char **log_detail);

/* ---- workspace_reaper.c: idle thread workspaces */
/* Holds the thread at thread_dir for the life of p (a shared lock; its
 * mtime set now and at the end): 1, or 0 when the thread is gone. */
int ct_thread_hold(apr_pool_t *p, const char *thread_dir);

/* ---- the plugin */
struct ct_plugin {
    apr_pool_t *pool;
    const char *env;
    ct_engine engine;
    apr_hash_t *types;           /* name -> ct_agent_type * */
    const char *default_type;    /* the first agent_type line */
    const char *invoke_type;     /* the first driver=engine one: /invoke/stdout's (or NULL) */
    cb_db *db;
    int orphans_reaped;          /* this process's reaper ran its start-up pass */
    const char *invoke_workspaces; /* /invoke/stdout's workspaces on the host ("": off) */
    const apr_array_header_t *repo_prefixes; /* of const char *: allowed repo_url starts */
    const char *git_program;
    int64_t clone_timeout_ms;
    const cb_cidr_list *allowed_private; /* ranges static endpoints may be in (NULL: none) */
    cb_http_client *http;        /* the static driver's calls (NULL: no static type) */
    cb_redis *redis;             /* the live state; NULL: none (live_state.c) */
    int64_t invoke_workspace_ttl_ms; /* idle thread workspaces removed after; 0: kept */
};

/* static_driver.c: agent types served by a container that already runs
 * (driver=static): registry rows only, calls to the type's URL. */
/* The url's host through the outbound guard (configtest): NULL, or why not. */
const char *ct_static_check_url(apr_pool_t *p, const ct_agent_type *t,
                                const cb_cidr_list *allowed_private);
/* r's agent type when it is a static one, else NULL. */
const ct_agent_type *ct_static_type(const ct_plugin *ct, const ct_record *r);
/* ct_own_container, and a static container refused (400) for `what` (an
 * operation that needs the engine: "files", "packages", ...). */
cb_status ct_own_engine_container(cb_req *req, const ct_plugin *ct, ct_record *r,
                                  const char *what);
/* GET /status: the endpoint's status text and health; "unreachable" and
 * 0 when it does not answer 200, "unknown" when the answer is malformed. */
void ct_static_status(const ct_plugin *ct, apr_pool_t *p, const ct_agent_type *t,
                      const char **status, int *healthy);
/* GET .../health: {status, healthy} from GET /status. */
cb_status ct_static_health(cb_req *req, const ct_plugin *ct, const ct_agent_type *t);
/* GET .../logs: the endpoint's GET /logs?lines= as plain text. */
cb_status ct_static_logs(cb_req *req, const ct_plugin *ct, const ct_agent_type *t, int lines);
/* POST .../execute: the task to POST /execute, its events relayed as SSE. */
cb_status ct_static_execute(cb_req *req, const ct_plugin *ct, const ct_agent_type *t,
                            const ct_record *r, const char *task);

/* reaper.c: the background task (expired containers; orphans at start-up). */
void ct_reap(void *state, apr_pool_t *scratch);
/* workspace_reaper.c: removes the threads idle past invoke_workspace_ttl. */
void ct_reap_workspaces(ct_plugin *ct, apr_pool_t *p);

/* api.c */
cb_status ct_api_create(cb_req *req, void *state);
cb_status ct_api_get(cb_req *req, void *state);
cb_status ct_api_list(cb_req *req, void *state);
cb_status ct_api_delete(cb_req *req, void *state);
cb_status ct_api_patch(cb_req *req, void *state);
cb_status ct_api_health(cb_req *req, void *state);
cb_status ct_api_logs(cb_req *req, void *state);
/* The caller's container {id}: CB_OK and *r, or the answer (not found,
 * another owner's, registry down) was sent. */
cb_status ct_own_container(cb_req *req, ct_record *r);
/* files.c */
cb_status ct_api_files_list(cb_req *req, void *state);
cb_status ct_api_files_download(cb_req *req, void *state);
cb_status ct_api_files_put(cb_req *req, void *state);
cb_status ct_api_files_delete(cb_req *req, void *state);
/* mcp.c */
cb_status ct_api_mcp_add(cb_req *req, void *state);
cb_status ct_api_mcp_list(cb_req *req, void *state);
cb_status ct_api_mcp_delete(cb_req *req, void *state);
/* The container's MCP servers as the API shows them (no secrets). */
cb_json *ct_mcp_public_list(apr_pool_t *p, const ct_record *r);
/* A server object of the API: NULL and *name, or what to fix. */
const char *ct_mcp_server_parse(apr_pool_t *p, const cb_json *server, const char **name);
/* packages.c */
cb_status ct_api_packages(cb_req *req, void *state);
/* NULL when text is an npm package name ([@scope/]name[@version]), else
 * what is wrong. */
const char *ct_package_name_problem(const char *text);
/* invoke.c: POST /invoke/stdout */
cb_status ct_invoke_stdout(cb_req *req, void *state);
/* execute.c */
cb_status ct_api_execute(cb_req *req, void *state);
/* api_body.c: a container as the API shows it */
cb_json *ct_record_json(apr_pool_t *p, const ct_record *r);
/* The caller's owner key: its uid (a user's, or "key:ID" for an API key). */
const char *ct_owner(const cb_req *req);
/* The create body into r (agent type, workspace, region, model, effort,
 * persistence, timeout): NULL, or what the client must fix. */
const char *ct_parse_create_body(apr_pool_t *p, const cb_json *body, const char *default_type,
                                 ct_record *r);
/* The PATCH body ({model?, reasoningEffort?}, at least one) applied to r:
 * NULL, or what the client must fix. */
const char *ct_parse_patch_body(apr_pool_t *p, const cb_json *body, ct_record *r);
/* The error answers of the API (api.c). */
cb_status ct_send_engine_error(cb_req *req, const ct_engine_reply *reply, const char *doing);

#endif
