# shellcheck shell=bash
# podman-local.sh: a throwaway Podman engine kept in one directory, sourced
# by the demo (scripts/demo-podman.sh) and the containers benchmark
# (scripts/bench-containers.sh); the integration tests do the same in C
# (tests/integration/harness_podman.c). What works on a stock Debian 12
# machine (docs/plugins/containers.md): runc, cgroupfs, explicit ulimits,
# no network namespace, vfs storage, and an image imported offline from a
# busybox-static root file system. Nothing touches the machine's default
# Podman storage.

# 0 when this machine has what it takes.
podman_local_available() {
  command -v podman >/dev/null && command -v runc >/dev/null && [[ -x /bin/busybox ]]
}

# Sets PODMAN_LOCAL to the podman command line for the engine in DIR
# (use "${PODMAN_LOCAL[@]}" ARGS...).
podman_local_use() {   # dir
  local d=$1
  PODMAN_LOCAL=(env "CONTAINERS_CONF=$d/containers.conf" podman --root "$d/root"
                --runroot "$d/run" --tmpdir "$d/tmp" --storage-driver vfs)
}

# DIR/containers.conf, a busybox root file system with a few applets (and
# each FILE in /bin), imported as IMAGE; sets PODMAN_LOCAL. 1 (with a
# message on stderr) when the import fails; podman's output is in
# DIR/podman-cli.log.
podman_local_prepare() {   # dir image [file...]
  local d=$1 image=$2 applet
  shift 2
  mkdir -p "$d/tmp" "$d/rootfs/bin" "$d/rootfs/tmp" "$d/rootfs/workspace"
  chmod 711 "$d"   # httpd's children (www-data) reach the socket through it
  cat >"$d/containers.conf" <<CONF
# written by scripts/podman-local.sh
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
netns = "none"
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$d/tmp"
volume_path = "$d/volumes"
CONF
  cp /bin/busybox "$d/rootfs/bin/busybox"
  for applet in sh echo cat sleep ls printf head tail wc env ps tr grep kill date; do
    ln -sf busybox "$d/rootfs/bin/$applet"
  done
  [[ $# -eq 0 ]] || cp "$@" "$d/rootfs/bin/"
  tar -C "$d/rootfs" -cf "$d/rootfs.tar" .
  podman_local_use "$d"
  if ! "${PODMAN_LOCAL[@]}" import "$d/rootfs.tar" "$image" >>"$d/podman-cli.log" 2>&1; then
    tail -n 5 "$d/podman-cli.log" >&2
    echo "podman could not import $image (see $d/podman-cli.log)" >&2
    return 1
  fi
}

# 0 once the API service answers on SOCKET (within 10 s), which is then
# opened to every local user: for the demo and the benchmark only, whose
# httpd children run as www-data (a site gives its httpd user the
# engine's group instead).
podman_local_wait() {   # socket
  local socket=$1 i answer
  for ((i = 0; i < 200; i++)); do
    answer=$(curl -s --max-time 2 --unix-socket "$socket" http://engine/v1.41/_ping 2>/dev/null) || true
    if [[ $answer == OK ]]; then
      chmod 666 "$socket"
      return 0
    fi
    sleep 0.05
  done
  return 1
}

# Kills the conmon processes of the engine in DIR (Podman leaves one per
# exec behind for five minutes), by PID.
podman_local_stop_conmons() {   # dir
  local pid storage_root=$1/root
  for pid in $(pgrep -x conmon 2>/dev/null); do
    grep -qF "$storage_root" "/proc/$pid/cmdline" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  done
  return 0
}
