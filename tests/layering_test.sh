#!/bin/sh
# The dependency direction (DESIGN.md): protocol <- mux <- server, and
# protocol <- client; the client never includes mux or server. Fails, naming
# the line, on any project include that goes the other way.
set -u
root=${1:?usage: layering_test.sh SOURCE_ROOT}
cd "$root" || exit 2
status=0
check() {  # folder, the folders it may include
  dir=$1
  shift
  allowed=$(printf '%s|' "$@")
  allowed=${allowed%|}
  bad=$(grep -rnE '^#include "(protocol|mux|server|client|tests)/' "$dir" --include='*.h' --include='*.cc' |
    grep -vE "#include \"($allowed)/")
  if [ -n "$bad" ]; then
    printf '%s may include only %s:\n%s\n' "$dir/" "$*" "$bad"
    status=1
  fi
}
check protocol protocol
check mux protocol mux
check server protocol mux server
check client protocol client
exit $status
