# Sourced by scripts: installs Debian packages that are missing, quietly and only once.
# Usage: ensure_packages pkg...   (runs apt-get as root, or through sudo when that works)

ensure_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo=(sudo -n)
    else
      echo "error: these Debian packages are needed and this user cannot install them: ${missing[*]}" >&2
      echo "       run as root: apt-get install ${missing[*]}" >&2
      return 1
    fi
  fi
  echo "installing: ${missing[*]}" >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
