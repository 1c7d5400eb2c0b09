#!/usr/bin/env bash
# Installs moto's AWS API emulator (PyPI `moto[server]`, the `moto_server` command) into a venv of
# its own under the cache, keyed by version. The stack serves ECR's GetAuthorizationToken from it.
. "$(dirname "$0")/lib.sh"
name=moto; ver=$MOTO_VERSION; out=$(cache_dir $name "$ver")
if is_cached $name "$ver"; then log "$name $ver cached"; exit 0; fi
# Debian's interpreter, not whatever python3 a version manager puts first on PATH: the venv keeps
# a link to its interpreter, so it must be one that stays where it is.
python=/usr/bin/python3
# Debian splits venv and ensurepip out of python3 into python3-venv.
if ! { [ -x "$python" ] && "$python" -c 'import ensurepip, venv' 2>/dev/null; }; then
  if [ "$(id -u)" != 0 ]; then
    echo "[install] $name needs Python's venv; run: sudo apt-get install -y python3 python3-venv" >&2
    exit 1
  fi
  log "apt-get install python3 python3-venv"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 python3-venv >/dev/null
fi
log "installing $name $ver from PyPI"
rm -rf "$out"
"$python" -m venv "$out"
"$out/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$ver"
[ -x "$out/bin/moto_server" ] || { echo "[install] $name $ver installed no moto_server" >&2; exit 1; }
log "$name $ver: $("$out/bin/python" -c 'import moto; print(moto.__version__)') in $out"
mark_cached $name "$ver"
