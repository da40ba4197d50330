#!/usr/bin/env bash
# Set up a fresh machine for the standalone runner and the framework-free tests:
#   - MariaDB on 127.0.0.1:3306 (root, no password), installed and started if absent;
#   - the client library and compiler mysqlclient builds against;
#   - a virtualenv (.venv, or $TUKTUK_VENV) with requirements-dev.txt (the app's requirements, the
#     `standalone` extra (mysqlclient) and the test tools).
# Idempotent: a second run changes nothing. Source it (`. scripts/setup.sh`) to keep the venv active.
set -euo pipefail

_tuktuk_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_tuktuk_venv="${TUKTUK_VENV:-$_tuktuk_root/.venv}"
_apt_updated=0

_sudo() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Waits for the dpkg lock (another installer may be running, e.g. unattended upgrades).
_apt_install() {
	if [ "$_apt_updated" -eq 0 ]; then
		_sudo apt-get -o DPkg::Lock::Timeout=900 update -qq
		_apt_updated=1
	fi
	DEBIAN_FRONTEND=noninteractive _sudo apt-get -o DPkg::Lock::Timeout=900 install -y -qq "$@" >/dev/null
}

_db_ping() { mariadb-admin --protocol=tcp -h127.0.0.1 -P3306 -uroot ping >/dev/null 2>&1; }

_ensure_mariadb() {
	if _db_ping; then return 0; fi
	if ! command -v mariadbd >/dev/null 2>&1 && [ ! -x /usr/sbin/mariadbd ]; then
		echo "setup: installing MariaDB server" >&2
		_apt_install mariadb-server mariadb-client
	fi
	echo "setup: starting MariaDB" >&2
	_sudo mkdir -p /run/mysqld && _sudo chown mysql:mysql /run/mysqld 2>/dev/null || true
	_sudo start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
	for _ in $(seq 1 60); do
		if _db_ping; then return 0; fi
		# A fresh Debian install authenticates root by unix socket only: allow TCP root with no password.
		if _sudo mariadb -uroot -e "select 1" >/dev/null 2>&1; then
			_sudo mariadb -uroot -e "alter user 'root'@'localhost' identified via mysql_native_password using password('') or unix_socket" >/dev/null 2>&1 || true
		fi
		sleep 1
	done
	echo "setup: MariaDB did not answer on 127.0.0.1:3306 within 60 s" >&2
	return 1
}

_ensure_build_deps() {
	local missing=()
	command -v gcc >/dev/null 2>&1 || missing+=(gcc)
	command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
	pkg-config --exists libmariadb 2>/dev/null || pkg-config --exists mariadb 2>/dev/null || missing+=(libmariadb-dev)
	command -v mariadb-admin >/dev/null 2>&1 || missing+=(mariadb-client)
	python3 -c "import venv, ensurepip" 2>/dev/null || missing+=(python3-venv)
	if [ ${#missing[@]} -gt 0 ]; then
		echo "setup: installing ${missing[*]}" >&2
		_apt_install "${missing[@]}"
	fi
}

_ensure_venv() {
	if [ ! -x "$_tuktuk_venv/bin/python" ]; then
		python3 -m venv "$_tuktuk_venv"
	fi
	# shellcheck disable=SC1091
	. "$_tuktuk_venv/bin/activate"
	local stamp="$_tuktuk_venv/.requirements.sha"
	local want
	want="$(cat "$_tuktuk_root"/requirements.txt "$_tuktuk_root"/requirements-standalone.txt "$_tuktuk_root"/requirements-dev.txt | sha256sum | cut -d' ' -f1)"
	if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
		python -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
		python -m pip install -q --disable-pip-version-check -r "$_tuktuk_root/requirements-dev.txt"
		echo "$want" >"$stamp"
	fi
}

_ensure_build_deps
_ensure_mariadb
_ensure_venv
export PYTHONPATH="$_tuktuk_root${PYTHONPATH:+:$PYTHONPATH}"
