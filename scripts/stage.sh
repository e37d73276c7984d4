# Sourced by the scripts that run timed stages: `stage NAME command...` runs
# the command and prints how long it took.
stage() {
  local name="$1"; shift
  local start=$SECONDS
  echo "=== [stage] $name"
  "$@"
  echo "=== [stage] $name took $((SECONDS - start)) s"
}
