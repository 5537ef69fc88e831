# Sourced by the ensure-*.sh scripts: `apt_install WHO PACKAGE...` installs Debian packages as root,
# or through a password-less sudo, and fails with the command to run otherwise.
apt_install() {
  local who=$1
  shift
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      sudo=(sudo -n)
    else
      echo "$who: this user cannot install packages; run as root: apt-get update && apt-get install -y $*" >&2
      exit 1
    fi
  fi
  echo "$who: installing the Debian package(s) $*"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update
  "${sudo[@]}" apt-get install -y --no-install-recommends "$@"
}
