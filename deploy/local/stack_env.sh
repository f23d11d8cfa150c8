# Sourced by the stack scripts: write one variable of <run>/stack.env without touching the others.
# Needs RUN_DIR set by the caller.

# Quote a value for a shell-sourceable line only when it needs it.
shell_quote() {
  if [[ $1 =~ ^[A-Za-z0-9_@%+=:,./-]*$ ]]; then
    printf '%s' "$1"
  else
    printf "'%s'" "${1//\'/\'\\\'\'}"
  fi
}

# set_stack_env NAME VALUE: replace only this variable's line in <run>/stack.env (under a lock,
# since PostgreSQL and Kafka may start at the same time).
set_stack_env() {
  local name=$1 value=$2 file="$RUN_DIR/stack.env" tmp
  (
    flock 9
    tmp=$(mktemp "$RUN_DIR/.stack.env.XXXXXX")
    if [[ -f $file ]]; then
      grep -v "^export $name=" "$file" >"$tmp" || true
    fi
    printf 'export %s=%s\n' "$name" "$(shell_quote "$value")" >>"$tmp"
    chmod 644 "$tmp"
    mv -f "$tmp" "$file"
  ) 9>"$RUN_DIR/.stack.env.lock"
}
