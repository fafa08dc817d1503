# shellcheck shell=bash
# demo-podman.sh: the demo's container engine, sourced by demo.sh: a Podman
# API service of its own in DIR/podman (runc, cgroupfs, no network
# namespace, vfs storage: what works on a stock Debian 12 machine, see
# docs/plugins/containers.md), an agent image made offline from
# busybox-static, a sample git repository for /invoke/stdout, and the
# containers plugin's configuration block. Without podman, runc or busybox
# the demo runs without containers.

DEMO_AGENT_IMAGE=localhost/cloudbase-demo-agent:latest

demo_podman() {   # dir podman-args... (exec: the caller's process becomes podman)
  local dir=$1
  shift
  CONTAINERS_CONF="$dir/podman/containers.conf" exec podman --root "$dir/podman/root" \
    --runroot "$dir/podman/run" --tmpdir "$dir/podman/tmp" --storage-driver vfs "$@"
}

# Starts the service: sets DEMO_ENGINE_SOCKET and DEMO_PODMAN_PID, or
# leaves them empty (and says why) when this machine cannot run it.
demo_podman_start() {   # dir
  local dir=$1 pd=$1/podman
  DEMO_PODMAN_PID= DEMO_ENGINE_SOCKET=
  if ! command -v podman >/dev/null || ! command -v runc >/dev/null || [[ ! -x /bin/busybox ]]; then
    echo "demo: podman, runc or busybox-static missing: no containers" >&2
    return 0
  fi
  mkdir -p "$pd/tmp" "$pd/rootfs/bin" "$pd/rootfs/tmp" "$pd/rootfs/workspace"
  chmod 711 "$pd"
  cat >"$pd/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
netns = "none"
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$pd/tmp"
volume_path = "$pd/volumes"
CONF
  cp /bin/busybox "$pd/rootfs/bin/busybox"
  for applet in sh echo cat sleep ls printf head tail wc env ps tr grep date; do
    ln -sf busybox "$pd/rootfs/bin/$applet"
  done
  tar -C "$pd/rootfs" -cf "$pd/rootfs.tar" .
  if ! (demo_podman "$dir" import "$pd/rootfs.tar" "$DEMO_AGENT_IMAGE") >"$pd/import.log" 2>&1; then
    echo "demo: podman could not import the agent image (see $pd/import.log): no containers" >&2
    return 0
  fi
  (demo_podman "$dir" system service --time=0 "unix://$pd/engine.sock") >"$pd/service.log" 2>&1 &
  DEMO_PODMAN_PID=$!
  for _ in $(seq 100); do
    if [[ -S $pd/engine.sock ]] && curl -fs --unix-socket "$pd/engine.sock" \
         http://d/v1.41/_ping >/dev/null 2>&1; then
      # demo only: httpd's children (www-data) talk to the engine; a site
      # gives its httpd user the engine's group instead
      chmod 666 "$pd/engine.sock"
      DEMO_ENGINE_SOCKET=$pd/engine.sock
      return 0
    fi
    sleep 0.1
  done
  echo "demo: the podman service did not answer (see $pd/service.log): no containers" >&2
  kill "$DEMO_PODMAN_PID" 2>/dev/null || true
  DEMO_PODMAN_PID=
}

# Removes the demo's containers, stops the service and the conmon
# processes of its storage root (Podman leaves them behind for a while).
demo_podman_stop() {   # dir
  local dir=$1 pid
  [[ -n ${DEMO_PODMAN_PID:-} ]] || return 0
  (demo_podman "$dir" rm --all --force --time 0) >/dev/null 2>&1 || true
  kill "$DEMO_PODMAN_PID" 2>/dev/null || true
  for pid in $(pgrep -x conmon 2>/dev/null); do
    if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$dir/podman/root"; then
      kill -9 "$pid" 2>/dev/null || true
    fi
  done
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
