#!/usr/bin/env bash
# Builds every pinned external binary from source through the Go module proxy,
# into a per-user cache outside the repository, keyed by name and version.
# Idempotent: a tool whose binaries are already in the cache is not rebuilt.
#
#   tools/build.sh            build everything missing
#   tools/build.sh NAME...    build only these tools (e.g. gitea)
#   tools/build.sh --print    print the bin directory of each tool and exit
#
# Cache root: $GITWARD_CACHE, else ${XDG_CACHE_HOME:-$HOME/.cache}/gitward.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../gitward/dev/versions.env
source "$here/../gitward/dev/versions.env"

cache=${GITWARD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gitward}
tools_dir="$cache/tools"
logs_dir="$cache/logs"
mkdir -p "$tools_dir" "$logs_dir"

export GOTOOLCHAIN=local
export GOFLAGS="-buildvcs=false -trimpath"
export CGO_ENABLED=0

say() { printf '[build-tools] %s\n' "$*" >&2; }

# build NAME VERSION BINARIES... -- COMMAND...
# Runs COMMAND with $out set to a fresh directory; on success the directory
# becomes $tools_dir/NAME-VERSION. A failure leaves the log and no directory.
build() {
  local name=$1 version=$2; shift 2
  local bins=()
  while [ "$1" != "--" ]; do bins+=("$1"); shift; done
  shift
  local dest="$tools_dir/$name-$version" log="$logs_dir/$name-$version.log"
  local missing=0 b
  for b in "${bins[@]}"; do [ -x "$dest/$b" ] || missing=1; done
  if [ $missing = 0 ]; then
    say "$name $version: cached"
    return 0
  fi
  say "$name $version: building ${bins[*]} (log: $log)"
  local start=$SECONDS
  out=$(mktemp -d "$tools_dir/.$name-$version.XXXXXX")
  if ! ( "$@" ) >"$log" 2>&1; then
    rm -rf "$out"
    say "$name $version: BUILD FAILED, see $log"
    # Leave a marker so `gitward dev up` can point at the log.
    printf '%s\n' "$log" >"$tools_dir/$name-$version.failed"
    return 1
  fi
  for b in "${bins[@]}"; do
    if [ ! -x "$out/$b" ]; then
      rm -rf "$out"
      say "$name $version: build produced no $b, see $log"
      printf '%s\n' "$log" >"$tools_dir/$name-$version.failed"
      return 1
    fi
  done
  chmod 755 "$out"
  rm -rf "$dest" "$tools_dir/$name-$version.failed"
  mv "$out" "$dest"
  say "$name $version: done in $((SECONDS - start))s"
}

# A throw-away module that requires MODULE@VERSION, for modules whose own
# go.mod uses replace directives (which `go install pkg@version` refuses).
wrapper() {
  local dir=$1; shift
  mkdir -p "$dir"
  printf 'module gitward.local/wrapper\n\ngo 1.25\n' >"$dir/go.mod"
  printf 'package wrapper\n' >"$dir/doc.go"
}

build_kubernetes() {
  local v=$KUBERNETES_VERSION minor staging
  minor=${v#v1.}
  staging="v0.$minor"
  local w; w=$(mktemp -d)
  wrapper "$w"
  cd "$w"
  # Point every staging module at its published v0.Y.Z twin.
  local gomod
  gomod=$(go mod download -json "k8s.io/kubernetes@$v" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')
  local m
  go mod edit -require="k8s.io/kubernetes@$v"
  for m in $(sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$gomod"); do
    go mod edit -replace="$m=$m@$staging"
  done
  cat >tools.go <<'GO'
//go:build tools

package wrapper

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
  go mod tidy -e
  local major=1 mi=${minor%%.*}
  local ld="-s -w -X k8s.io/component-base/version.gitVersion=$v -X k8s.io/component-base/version.gitMajor=$major -X k8s.io/component-base/version.gitMinor=$mi -X k8s.io/component-base/version.gitTreeState=clean -X k8s.io/client-go/pkg/version.gitVersion=$v -X k8s.io/client-go/pkg/version.gitMajor=$major -X k8s.io/client-go/pkg/version.gitMinor=$mi"
  go build -p 2 -ldflags "$ld" -o "$out/" \
    k8s.io/kubernetes/cmd/kube-apiserver \
    k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler \
    k8s.io/kubernetes/cmd/kubectl
  rm -rf "$w"
}

build_etcd() {
  local w; w=$(mktemp -d)
  wrapper "$w"
  cd "$w"
  cat >tools.go <<'GO'
//go:build tools

package wrapper

import _ "go.etcd.io/etcd/server/v3"
GO
  go mod edit -require="go.etcd.io/etcd/server/v3@$ETCD_VERSION"
  go mod tidy -e
  go build -ldflags "-s -w" -o "$out/etcd" go.etcd.io/etcd/server/v3
  rm -rf "$w"
}

build_kwok() {
  GOBIN="$out" go install -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION" \
    "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" "sigs.k8s.io/kwok/cmd/kwokctl@$KWOK_VERSION"
}

build_helm() {
  local major=${HELM_VERSION%%.*}
  GOBIN="$out" go install -ldflags "-s -w -X helm.sh/helm/$major/internal/version.version=$HELM_VERSION" \
    "helm.sh/helm/$major/cmd/helm@$HELM_VERSION"
}

# sops decrypts secrets in config repositories; age makes and holds its keys.
build_sops() {
  GOBIN="$out" go install -ldflags "-s -w" "github.com/getsops/sops/v3/cmd/sops@$SOPS_VERSION"
}

build_age() {
  GOBIN="$out" go install -ldflags "-s -w -X main.Version=$AGE_VERSION" \
    "filippo.io/age/cmd/age@$AGE_VERSION" "filippo.io/age/cmd/age-keygen@$AGE_VERSION"
}

# Gitea's go.mod has replace directives, so it is built inside a writable copy
# of its module directory. It needs cgo for SQLite. Without bindata it reads
# options/, templates/ and public/ from beside its binary (GITEA_CUSTOM and the
# static root point there), so they are kept in the tool's directory.
build_gitea() {
  local dir src
  dir=$(go mod download -json "code.gitea.io/gitea@$GITEA_VERSION" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')
  [ -d "$dir" ] || { echo "go mod download gave no directory for gitea $GITEA_VERSION"; return 1; }
  src=$(mktemp -d)
  cp -r "$dir/." "$src/"
  chmod -R u+w "$src"
  cd "$src"
  local tags="sqlite sqlite_unlock_notify"
  CGO_ENABLED=1 go build -p 2 -tags "$tags" \
    -ldflags "-s -w -X 'main.Version=${GITEA_VERSION#v}' -X 'main.Tags=$tags'" \
    -o "$out/gitea" .
  cp -r options templates public "$out/"
  rm -rf "$src"
}

if [ "${1:-}" = "--print" ]; then
  for t in "kubernetes-$KUBERNETES_VERSION" "etcd-$ETCD_VERSION" "kwok-$KWOK_VERSION" "helm-$HELM_VERSION" "gitea-$GITEA_VERSION" \
    "sops-$SOPS_VERSION" "age-$AGE_VERSION"; do
    echo "$tools_dir/$t"
  done
  exit 0
fi

command -v go >/dev/null || { say "go is not installed: the pinned tools are built from source with Go"; exit 1; }
# With names (e.g. `tools/build.sh gitea`), only those tools are built.
only=("$@")
sel() {
  [ ${#only[@]} -eq 0 ] && return 0
  local n
  for n in "${only[@]}"; do [ "$n" = "$1" ] && return 0; done
  return 1
}
status=0
sel helm && { build helm "$HELM_VERSION" helm -- build_helm || status=1; }
sel kwok && { build kwok "$KWOK_VERSION" kwok kwokctl -- build_kwok || status=1; }
sel etcd && { build etcd "$ETCD_VERSION" etcd -- build_etcd || status=1; }
sel kubernetes && { build kubernetes "$KUBERNETES_VERSION" kube-apiserver kube-controller-manager kube-scheduler kubectl -- build_kubernetes || status=1; }
sel gitea && { build gitea "$GITEA_VERSION" gitea -- build_gitea || status=1; }
sel sops && { build sops "$SOPS_VERSION" sops -- build_sops || status=1; }
sel age && { build age "$AGE_VERSION" age age-keygen -- build_age || status=1; }
exit $status
