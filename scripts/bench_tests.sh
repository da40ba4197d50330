#!/usr/bin/env bash
# Run the app's FrappeTestCase suite in an existing Frappe v15 bench, against this checkout.
#
#   bash scripts/bench_tests.sh            # bench at $FRAPPE_BENCH (default /opt/fbench/frappe-bench)
#
# Without a bench there it prints one line and exits 0. It never builds or downloads Frappe.
# With one it:
#   1. copies this checkout to $FRAPPE_BENCH/ci/tuktuk_management (owned by the bench's owner) and
#      points apps/tuktuk_management at it (a symlink; a real directory there is left alone and
#      stops the run), lists the app in sites/apps.txt and pip-installs it into the bench env
#      (requirements.txt only: no C build);
#   2. starts the bench's redis_cache and redis_queue (config/redis_*.conf) if they do not answer,
#      and stops at exit the ones it started;
#   3. creates site $FRAPPE_SITE (default test.localhost) afresh, replacing one left by an earlier
#      run: the suite commits rows (bench subprocesses and jobs must see them), so a failed run
#      can leave rows behind that fail the next one. With FRAPPE_SITE_REUSE=1 an existing site is
#      reused and migrated instead (faster while iterating). MariaDB admin for new-site from
#      $FRAPPE_DB_ROOT_USER / $FRAPPE_DB_ROOT_PASSWORD; if unset, a throwaway admin account is
#      made through `mariadb -uroot` on 127.0.0.1 and dropped at exit. The site gets allow_tests,
#      time zone Africa/Nairobi and Administrator password $FRAPPE_ADMIN_PASSWORD (default admin);
#   4. runs `CI=1 bench --site SITE run-tests --app tuktuk_management` as the bench's owner.
# Exit status: that of run-tests (non-zero on any failure or error), or non-zero if a step fails.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The framework-free venv (scripts/setup.sh) stays out of the bench: its PYTHONPATH would make the
# bench import this checkout instead of its copy, and its bin/ would shadow the bench's tools.
if [ -n "${VIRTUAL_ENV:-}" ]; then
	PATH="$(printf '%s' "$PATH" | tr ':' '\n' | grep -vxF "$VIRTUAL_ENV/bin" | paste -sd: -)"
fi
unset PYTHONPATH PYTHONHOME VIRTUAL_ENV
BENCH="${FRAPPE_BENCH:-/opt/fbench/frappe-bench}"
SITE="${FRAPPE_SITE:-test.localhost}"
APP=tuktuk_management

if [ ! -f "$BENCH/apps/frappe/frappe/__init__.py" ] || [ ! -x "$BENCH/env/bin/python" ] \
	|| [ ! -f "$BENCH/sites/common_site_config.json" ]; then
	echo "== Frappe tests: no Frappe bench at $BENCH (set FRAPPE_BENCH to one), skipped"
	exit 0
fi
BENCH="$(cd "$BENCH" && pwd -P)"
frappe_version="$(sed -n 's/^__version__ = "\(.*\)"/\1/p' "$BENCH/apps/frappe/frappe/__init__.py")"
case "$frappe_version" in
15.*) ;;
*)
	echo "bench_tests: $BENCH has Frappe $frappe_version; this app targets v15" >&2
	exit 1
	;;
esac
echo "== Frappe tests: bench $BENCH (Frappe $frappe_version), site $SITE"

OWNER="$(stat -c %U "$BENCH")"
OWNER_HOME="$(getent passwd "$OWNER" | cut -d: -f6)"
PY="$BENCH/env/bin/python"

# Runs a command in the bench directory as the bench's owner (bench refuses root).
as_owner() {
	if [ "$(id -un)" = "$OWNER" ]; then
		(cd "$BENCH" && "$@")
	else
		(cd "$BENCH" && runuser -u "$OWNER" -- env HOME="$OWNER_HOME" USER="$OWNER" LOGNAME="$OWNER" PATH="$PATH" "$@")
	fi
}

# bench_cmd [VAR=value ...] ARGS: `bench ARGS` from PATH if there is one, else what bench runs for
# site commands (Frappe's bench_helper in sites/, same arguments).
bench_cmd() {
	local envs=()
	while [ $# -gt 0 ] && [[ "$1" == [A-Z]*=* ]]; do
		envs+=("$1")
		shift
	done
	if command -v bench >/dev/null 2>&1; then
		as_owner env "${envs[@]}" bench "$@"
	else
		as_owner env "${envs[@]}" sh -c 'cd sites && exec ../env/bin/python -m frappe.utils.bench_helper frappe "$@"' sh "$@"
	fi
}

_started_redis=()
_tmp_admin=""
cleanup() {
	local conf
	for conf in "${_started_redis[@]}"; do
		as_owner "$PY" - "$conf" <<'EOF' || true
import sys, redis
port = next(int(l.split()[1]) for l in open(sys.argv[1]) if l.startswith("port "))
try:
	redis.Redis(host="127.0.0.1", port=port).shutdown(nosave=True)
except redis.exceptions.ConnectionError:
	pass  # shutdown closes the connection
EOF
	done
	if [ -n "$_tmp_admin" ]; then
		mariadb --protocol=tcp -h127.0.0.1 -P3306 -uroot -e "DROP USER IF EXISTS '$_tmp_admin'@'%'" || true
	fi
}
trap cleanup EXIT

# 1. This checkout, as a copy the owner owns, linked as apps/tuktuk_management.
dest="$BENCH/ci/$APP"
link="$BENCH/apps/$APP"
if [ -e "$link" ] && [ ! -L "$link" ]; then
	echo "bench_tests: $link is a directory, not a link: not replacing it" >&2
	exit 1
fi
as_owner mkdir -p "$BENCH/ci"
rm -rf "$dest"
mkdir -p "$dest"
tar -C "$ROOT" --exclude=./.venv --exclude=__pycache__ --exclude='*.egg-info' --exclude=./.pytest_cache \
	--exclude=./.hypothesis --exclude=./.ruff_cache --exclude=node_modules -cf - . | tar -C "$dest" -xf -
[ "$(id -un)" = "$OWNER" ] || chown -R "$OWNER:" "$dest"
as_owner ln -sfn "$dest" "$link"
if [ -d "$dest/$APP/public" ]; then
	as_owner ln -sfn "$dest/$APP/public" "$BENCH/sites/assets/$APP"
fi
as_owner "$PY" - "$BENCH/sites/apps.txt" "$APP" <<'EOF'
import sys
path, app = sys.argv[1:]
apps = open(path).read().split()
if app not in apps:
	apps.append(app)
	open(path, "w").write("\n".join(apps) + "\n")
EOF
echo "-- installing $APP into the bench env"
if command -v uv >/dev/null 2>&1; then
	as_owner uv pip install -q --python "$PY" -e "$link"
else
	as_owner "$PY" -m pip install -q -e "$link"
fi

imported="$(as_owner "$PY" -c 'import os, tuktuk_management; print(os.path.realpath(tuktuk_management.__file__))')"
case "$imported" in
"$dest"/*) ;;
*)
	echo "bench_tests: the bench imports $APP from $imported, not from $dest" >&2
	exit 1
	;;
esac

# 2. The bench's redis (CI starts with none of them running).
for name in redis_cache redis_queue; do
	conf="$BENCH/config/$name.conf"
	url="$(as_owner "$PY" -c 'import json, sys; print(json.load(open("sites/common_site_config.json"))[sys.argv[1]])' "$name")"
	if as_owner "$PY" -c 'import redis, sys; redis.from_url(sys.argv[1], socket_timeout=2).ping()' "$url" 2>/dev/null; then
		continue
	fi
	[ -f "$conf" ] || {
		echo "bench_tests: $url does not answer and $conf is missing" >&2
		exit 1
	}
	echo "-- starting $name ($url)"
	as_owner redis-server "$conf" --daemonize yes >/dev/null
	_started_redis+=("$conf")
	for _ in $(seq 1 50); do
		as_owner "$PY" -c 'import redis, sys; redis.from_url(sys.argv[1]).ping()' "$url" 2>/dev/null && break
		sleep 0.2
	done
done

# 3. The test site: create afresh, or (FRAPPE_SITE_REUSE=1) reuse and migrate.
if [ -f "$BENCH/sites/$SITE/site_config.json" ] && [ "${FRAPPE_SITE_REUSE:-0}" = 1 ]; then
	if ! bench_cmd --site "$SITE" list-apps 2>/dev/null | grep -q "^$APP"; then
		echo "-- installing $APP on $SITE"
		bench_cmd --site "$SITE" install-app "$APP"
	fi
	echo "-- migrating $SITE"
	bench_cmd --site "$SITE" migrate >/dev/null
else
	db_user="${FRAPPE_DB_ROOT_USER:-}"
	db_password="${FRAPPE_DB_ROOT_PASSWORD:-}"
	if [ -z "$db_user" ]; then
		# new-site will not take an admin account without a password: make a throwaway one.
		_tmp_admin="tuktuk_ci_$$"
		db_user="$_tmp_admin"
		db_password="$(head -c 18 /dev/urandom | base64 | tr -dc A-Za-z0-9)"
		mariadb --protocol=tcp -h127.0.0.1 -P3306 -uroot -e "CREATE USER '$db_user'@'%' IDENTIFIED BY '$db_password';
			GRANT ALL PRIVILEGES ON *.* TO '$db_user'@'%' WITH GRANT OPTION"
	fi
	echo "-- creating $SITE (fresh)"
	bench_cmd new-site "$SITE" --force --db-root-username "$db_user" --db-root-password "$db_password" \
		--mariadb-user-host-login-scope=% --admin-password "${FRAPPE_ADMIN_PASSWORD:-admin}" \
		--install-app "$APP" >/dev/null
	bench_cmd --site "$SITE" set-config allow_tests true
	bench_cmd --site "$SITE" set-config time_zone Africa/Nairobi
	bench_cmd --site "$SITE" execute frappe.db.set_single_value --args '["System Settings", "time_zone", "Africa/Nairobi"]'
	bench_cmd --site "$SITE" execute frappe.db.commit
fi
[ -f "$BENCH/sites/assets/assets.json" ] \
	|| echo "bench_tests: $BENCH/sites/assets/assets.json is missing (run 'bench build' in the bench): email rendering in the tests will fail" >&2

# 4. The suite. CI=1 makes run-tests exit non-zero on a failure or error.
echo "-- CI=1 bench --site $SITE run-tests --app $APP"
bench_cmd --site "$SITE" set-config allow_tests true >/dev/null
bench_cmd CI=1 --site "$SITE" run-tests --app "$APP"
