#!/usr/bin/env bash
# Builds the Penstock image from a release tarball: deploy/docker/build.sh TARBALL [TAG [ARGS...]]
#   deploy/docker/build.sh dist/penstock-1.2.0.tar.gz            # tags penstock:1.2.0
#   deploy/docker/build.sh dist/penstock-1.2.0.tar.gz registry.example/penstock:1.2.0
#   BUILDER=podman deploy/docker/build.sh dist/penstock-1.2.0.tar.gz penstock:1.2.0 --pull=never
# BUILDER=podman or BUILDER=buildah (buildah bud) work as well as docker; ARGS go to the builder.
set -euo pipefail
tarball=${1:?usage: build.sh path/to/penstock-VERSION.tar.gz [TAG]}
name=$(basename "$tarball")
[[ $name =~ ^penstock-(.+)\.tar\.gz$ ]] || { echo "build.sh: $name is not penstock-VERSION.tar.gz" >&2; exit 2; }
version=${BASH_REMATCH[1]}
tag=${2:-penstock:$version}
shift $(($# < 2 ? $# : 2))
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
builder=${BUILDER:-docker}
cmd=("$builder" build)
[ "$builder" = buildah ] && cmd=(buildah bud)
# podman and buildah write OCI images by default, which have no HEALTHCHECK: ask for Docker's.
[ "$builder" != docker ] && cmd+=(--format docker)
# The context is the tarball's directory; Dockerfile.dockerignore keeps everything else out.
exec "${cmd[@]}" -f "$here/Dockerfile" --build-arg "PENSTOCK_VERSION=$version" -t "$tag" "$@" \
  "$(cd "$(dirname "$tarball")" && pwd)"
