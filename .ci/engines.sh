#!/usr/bin/env bash
# Starts the container engines the tests build with, and prints the variables
# that reach them, for `eval`:
#   - Docker Engine 20.10 (Debian's docker.io): classic builder and its
#     built-in BuildKit 0.8, which has no named contexts;
#   - buildkitd (moby/buildkit) behind a buildx remote builder: named contexts;
#   - the docker compose CLI plugin (docker/compose), beside buildx.
# Idempotent: installs, builds and starts only what is missing, and reuses
# engines already running. Progress goes to stderr; stdout is only the exports.
set -euo pipefail
cd "$(dirname "$0")/.."

buildkit_version=v0.34.2
buildx_version=v0.38.2
compose_version=v2.40.3
builder=imglock-test

bin="$PWD/.ci/bin"              # git-ignored, per clone: binaries and DOCKER_CONFIG
config="$bin/docker-config"     # buildx plugin and builder, out of ~/.docker
# Engine state lives outside the clone, one set per machine: the daemons are
# machine-wide root services every clone shares, root-owned overlay mounts
# must not sit inside a tree that gets deleted, and unix socket paths are
# limited to 108 bytes.
state=/var/lib/imglock-ci
run=/run/imglock-ci
docker_sock="$run/docker.sock"
buildkit_sock="$run/buildkitd.sock"

log() { echo "engines: $*" >&2; }

mkdir -p "$bin" "$config/cli-plugins" "$state" "$run"
# One setup at a time; fd 9 is closed for the daemons so they never hold it.
exec 9>"$run/lock"
flock 9

# Packages. runc is what buildkitd's OCI worker runs steps with: without it
# buildkitd exits with "failed to find runc binary".
if ! command -v dockerd >/dev/null || ! command -v runc >/dev/null; then
    log "installing docker.io and runc"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io runc >&2
fi

# docker.io brings a docker CLI 20.10 too (/usr/bin/docker); a CLI before 23
# builds with its own BuildKit client and never through a buildx builder.
cli=$(docker --version 2>/dev/null || true)
if [[ ! $cli =~ ^Docker\ version\ ([0-9]+)\. ]] || [ "${BASH_REMATCH[1]}" -lt 23 ]; then
    log "the docker CLI first on PATH ($(command -v docker): ${cli:-none}) is not 23 or later"
    exit 1
fi

# build MODULE VERSION PACKAGE...: builds from the module cache, inside the
# module itself (go install m@v refuses its exclude directives), into .ci/bin,
# with the version stamped in for has_version. VERSION_VAR names the variable
# that holds it, where the module keeps it elsewhere than MODULE/version;
# OUT, a file name other than the package's.
build() {
    local module=$1 version=$2
    shift 2
    log "building $module@$version"
    local dir
    dir=$(go mod download -json "$module@$version" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
    [ -n "$dir" ] || { log "no module directory for $module@$version"; return 1; }
    (cd "$dir" && GOWORK=off GOFLAGS=-mod=readonly go build -trimpath \
        -ldflags "-X ${VERSION_VAR:-$module/version.Version}=$version" -o "$bin/${OUT:-}" "$@")
}
# has_version MODULE VERSION COMMAND...: whether COMMAND prints that version
# (-trimpath keeps -ldflags out of `go version -m`).
has_version() {
    local module=$1 version=$2
    shift 2
    local out
    out=$("$@" 2>/dev/null) && grep -qE "$module $version( |\$)" <<<"$out"
}
has_version github.com/moby/buildkit "$buildkit_version" "$bin/buildkitd" --version &&
    [ -x "$bin/buildctl" ] ||
    build github.com/moby/buildkit "$buildkit_version" ./cmd/buildkitd ./cmd/buildctl
# The Dockerfile frontend as an image of its own, for tests of the
# "# syntax=" directive; static, since it runs in a container with no libc.
frontend="$bin/dockerfile-frontend-$buildkit_version"
if [ ! -x "$frontend" ]; then
    CGO_ENABLED=0 build github.com/moby/buildkit "$buildkit_version" ./frontend/dockerfile/cmd/dockerfile-frontend
    mv "$bin/dockerfile-frontend" "$frontend"
fi
has_version github.com/docker/buildx "$buildx_version" "$bin/buildx" version ||
    build github.com/docker/buildx "$buildx_version" ./cmd/buildx
ln -sfn "$bin/buildx" "$config/cli-plugins/docker-buildx"
# docker compose, as a CLI plugin beside buildx: `docker compose version`
# prints "Docker Compose version v2.40.3".
[[ $("$bin/docker-compose" version 2>/dev/null) == "Docker Compose version $compose_version" ]] ||
    VERSION_VAR=github.com/docker/compose/v2/internal.Version OUT=docker-compose \
        build github.com/docker/compose/v2 "$compose_version" ./cmd
ln -sfn "$bin/docker-compose" "$config/cli-plugins/docker-compose"

# alive PID: a zombie (the machine's init may be slow to reap) counts as dead.
alive() { [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status"; }

# wait_for WHAT PID CHECK...: until CHECK succeeds, or the process exits.
wait_for() {
    local what=$1 pid=$2
    shift 2
    for _ in $(seq 1 120); do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        if ! alive "$pid"; then
            log "$what exited at start"
            return 1
        fi
        sleep 0.5
    done
    log "$what did not answer within 60s"
    return 1
}

docker_up() { docker -H "unix://$docker_sock" version; }

# running NAME PIDFILE: prints the pid when the file names a live NAME (a pid
# file can outlive a reboot, and its number go to another process).
running() {
    local pid
    pid=$(cat "$2" 2>/dev/null) || return 1
    [ -n "$pid" ] && alive "$pid" && grep -qx "Name:[[:space:]]*$1" "/proc/$pid/status" && echo "$pid"
}

# start_dockerd DRIVER: the design's daemon, no bridge network and no
# firewall rules (builds only pull from loopback registries).
start_dockerd() {
    log "starting dockerd (storage driver $1)"
    setsid dockerd --bridge=none --iptables=false --ip6tables=false \
        --data-root "$state/docker" --exec-root "$run/docker" \
        -H "unix://$docker_sock" --pidfile "$run/docker.pid" \
        --storage-driver "$1" \
        </dev/null >>"$state/dockerd.log" 2>&1 9>&- &
    wait_for dockerd $! docker_up
}

if ! docker_up >/dev/null 2>&1; then
    if pid=$(running dockerd "$run/docker.pid"); then
        # Still starting: give it the time a start gets.
        wait_for dockerd "$pid" docker_up
    else
        # A fresh image store each start: dockerd builds FROM a tag it already
        # holds without asking the registry, and test registries' ports recur.
        # A killed dockerd leaves mounts behind, its data root's own among them.
        awk -v a="$state/docker" -v b="$run/docker" \
            '$2 == a || $2 == b || index($2, a "/") == 1 || index($2, b "/") == 1 { print $2 }' /proc/mounts |
            sort -r | xargs -r -n1 umount -l
        rm -rf "$state/docker" "$run/docker" "$run/docker.pid"
        : >"$state/dockerd.log"
        # overlay2 needs a kernel and backing filesystem that allow it; vfs
        # (full copies) works everywhere.
        start_dockerd overlay2 || start_dockerd vfs || {
            tail -n 30 "$state/dockerd.log" >&2
            exit 1
        }
    fi
fi

buildkit_up() { has_version github.com/moby/buildkit "$buildkit_version" "$bin/buildctl" --addr "unix://$buildkit_sock" debug info; }

if ! buildkit_up >/dev/null 2>&1; then
    # Another version left running by an earlier setup gives way.
    if pid=$(running buildkitd "$run/buildkitd.pid"); then
        log "stopping buildkitd $pid: not $buildkit_version, or not answering"
        kill "$pid"
        while alive "$pid"; do sleep 0.2; done
    fi
    log "starting buildkitd $buildkit_version"
    # Its own config file, so that a machine's /etc/buildkit/buildkitd.toml
    # has no say; loopback registries are plain HTTP without one (containerd's
    # MatchLocalhost). Host network: no CNI plugins, and no step needs one.
    [ -f "$state/buildkitd.toml" ] || echo "# Loopback registries need no entry: BuildKit speaks plain HTTP to them." >"$state/buildkitd.toml"
    setsid "$bin/buildkitd" --config "$state/buildkitd.toml" --root "$state/buildkit" \
        --addr "unix://$buildkit_sock" \
        --oci-worker=true --containerd-worker=false --oci-worker-net=host \
        </dev/null >"$state/buildkitd.log" 2>&1 9>&- &
    echo $! >"$run/buildkitd.pid"
    wait_for buildkitd $! buildkit_up || {
        tail -n 30 "$state/buildkitd.log" >&2
        exit 1
    }
fi

if ! DOCKER_CONFIG="$config" docker buildx inspect "$builder" >/dev/null 2>&1; then
    log "creating buildx builder $builder"
    DOCKER_CONFIG="$config" docker buildx create --name "$builder" --driver remote "unix://$buildkit_sock" >/dev/null
fi

printf 'export IMGLOCK_DOCKER_HOST=%q\n' "unix://$docker_sock"
printf 'export IMGLOCK_BUILDX_CONFIG=%q\n' "$config"
printf 'export IMGLOCK_BUILDX_BUILDER=%q\n' "$builder"
printf 'export IMGLOCK_DOCKERFILE_FRONTEND=%q\n' "$frontend"
