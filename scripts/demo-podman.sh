# shellcheck shell=bash
# demo-podman.sh: the demo's container engine, sourced by demo.sh: a Podman
# API service of its own in DIR/podman (scripts/podman-local.sh), an agent
# image made offline from busybox-static, a sample git repository for
# /invoke/stdout, and the containers plugin's configuration block. Without
# podman, runc or busybox the demo runs without containers.

DEMO_AGENT_IMAGE=localhost/cloudbase-demo-agent:latest
source "$(dirname "${BASH_SOURCE[0]}")/podman-local.sh"

# Starts the service: sets DEMO_ENGINE_SOCKET and DEMO_PODMAN_PID, or
# leaves them empty (and says why) when this machine cannot run it.
demo_podman_start() {   # dir
  local pd=$1/podman
  DEMO_PODMAN_PID= DEMO_ENGINE_SOCKET=
  if ! podman_local_available; then
    echo "demo: podman, runc or busybox-static missing: no containers" >&2
    return 0
  fi
  if ! podman_local_prepare "$pd" "$DEMO_AGENT_IMAGE"; then
    echo "demo: no containers" >&2
    return 0
  fi
  (exec "${PODMAN_LOCAL[@]}" system service --time=0 "unix://$pd/engine.sock") \
    >"$pd/service.log" 2>&1 &
  DEMO_PODMAN_PID=$!
  if podman_local_wait "$pd/engine.sock"; then
    DEMO_ENGINE_SOCKET=$pd/engine.sock
    return 0
  fi
  echo "demo: the podman service did not answer (see $pd/service.log): no containers" >&2
  kill "$DEMO_PODMAN_PID" 2>/dev/null || true
  DEMO_PODMAN_PID=
}

# Removes the demo's containers, stops the service and the conmon
# processes of its storage root.
demo_podman_stop() {   # dir
  [[ -n ${DEMO_PODMAN_PID:-} ]] || return 0
  "${PODMAN_LOCAL[@]}" rm --all --force --time 0 >/dev/null 2>&1 || true
  kill "$DEMO_PODMAN_PID" 2>/dev/null || true
  podman_local_stop_conmons "$1/podman"
  DEMO_PODMAN_PID=
}

# A bare repository DIR/repos/demo-app.git for /invoke/stdout to clone, and
# the workspaces directory, both the httpd user's.
demo_sample_repo() {   # dir
  local dir=$1
  mkdir -p "$dir/repos" "$dir/workspaces"
  git init -q -b main "$dir/repos/src"
  printf 'A sample app for the mod_cloudbase demo.\n' >"$dir/repos/src/README"
  git -C "$dir/repos/src" add README
  git -C "$dir/repos/src" -c user.name=demo -c user.email=demo@example.invalid commit -q -m first
  git clone -q --bare "$dir/repos/src" "$dir/repos/demo-app.git"
  if [[ $(id -u) -eq 0 ]]; then chown -R www-data:www-data "$dir/repos" "$dir/workspaces"; fi
}

# The containers plugin's block of httpd.conf (nothing without a socket).
demo_containers_conf() {   # dir socket
  local dir=$1 socket=$2
  [[ -n $socket ]] || return 0
  cat <<CONF
# Agent containers (docs/plugins/containers.md) on the demo's own Podman
# service: the agent type shell runs a task as a shell script in a busybox
# container; /invoke/stdout clones the sample repository $dir/repos/demo-app.git.
<CloudBasePlugin containers>
  engine_socket $socket
  agent_type shell image=$DEMO_AGENT_IMAGE command=/bin/sh,-c memory=64m cpus=0.5 network=none
  invoke_workspaces $dir/workspaces
  invoke_repo_prefix file://$dir/repos/
</CloudBasePlugin>
CONF
}
