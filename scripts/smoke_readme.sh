#!/usr/bin/env bash
# The README's commands, verbatim, typed in a second shell while `make run` runs on the embedded
# PostgreSQL and Valkey (no DATABASE_URL / REDIS_URL anywhere); then a Ctrl-C must stop the whole
# stack quietly, leaving no process behind. `make smoke-embedded` runs it; PORT (default 8000)
# moves the web server, and the curl line with it, off a port that is taken.
#
# It uses var/ like `make run` does: the demo tenant gets an API key named "ci", an account
# "README smoke check" with one KPI value and one sale, and a user "readme_smoke". Re-runs change
# nothing more (the same files load as unchanged).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
PORT=${PORT:-8000}
unset DATABASE_URL REDIS_URL
scratch=$(mktemp -d)
stack=""

fail() {
    echo "smoke: FAILED: $*" >&2
    exit 1
}

stop_stack() {
    # The terminal's Ctrl-C: SIGINT to the whole process group of `make run`.
    kill -INT -- "-$stack" 2>/dev/null || return 0
    for _ in $(seq 120); do
        kill -0 "$stack" 2>/dev/null || break
        sleep 0.5
    done
    if kill -0 "$stack" 2>/dev/null; then
        kill -TERM -- "-$stack" 2>/dev/null || true
        fail "make run was still running 60 s after Ctrl-C"
    fi
    wait "$stack" || true
}

on_exit() {
    status=$?
    if [ -n "$stack" ] && kill -0 "$stack" 2>/dev/null; then
        stop_stack || true
    fi
    if [ "$status" -ne 0 ] && [ -f "$scratch/run.log" ]; then
        echo "smoke: the last lines of make run's output:" >&2
        tail -n 40 "$scratch/run.log" >&2
    fi
    rm -rf "$scratch"
}
trap on_exit EXIT

# Every process `make run` started but the PostgreSQL server, which pg_ctl detached from it.
stack_processes() {
    ps -eo pid=,ppid= | awk -v root="$stack" '
        { parent[$1] = $2 }
        END {
            for (pid in parent) {
                for (p = pid; p in parent && p != root && p > 1; p = parent[p]) {}
                if (p == root) print pid
            }
        }'
}

if curl -s -o /dev/null "http://localhost:$PORT/"; then
    fail "something already answers on port $PORT; stop it or run with PORT=<a free port>"
fi

echo "smoke: make run in the background (port $PORT)"
set -m # its own process group, as a terminal gives it
env -u MAKELEVEL -u MAKEFLAGS -u MFLAGS PORT="$PORT" make run </dev/null >"$scratch/run.log" 2>&1 &
stack=$!
set +m

for _ in $(seq 300); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://localhost:$PORT/api/ping/")" = 200 ] && break
    kill -0 "$stack" 2>/dev/null || fail "make run ended before serving"
    sleep 1
done
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://localhost:$PORT/api/ping/")" = 200 ] ||
    fail "make run did not serve http://localhost:$PORT/api/ping/ within 300 s"

# The second terminal: a directory holding the files the README names, with the checkout's
# .venv and manage.py, so that the README's lines run as they are written.
work="$scratch/second-terminal"
mkdir "$work"
ln -s "$REPO/.venv" "$REPO/manage.py" "$work/"
printf 'account,kpi,period,value\nACC-001,nps,2025-01,42\n' >"$work/kpis.csv"
printf 'username,email,role,initial_password\nreadme_smoke,readme-smoke@demo.example.com,viewer,Smoke-Check-2026!\n' >"$work/users.csv"
printf 'date,user_id,product_name,quantity,unit_price,total_amount,region,account\n2025-01-15,u-1,Seats,2,50.00,100.00,EMEA,README smoke check\n' >"$work/sales.csv"
cat >"$work/readme.sh" <<'EOF'
KEY=$(.venv/bin/python manage.py create_api_key --tenant demo --name ci)
curl -H "Authorization: Token $KEY" http://localhost:8000/api/v1/me/
.venv/bin/python manage.py import_data --tenant demo --kind kpis kpis.csv --dry-run
.venv/bin/python manage.py import_data --tenant demo --kind kpis kpis.csv
.venv/bin/python manage.py import_users --tenant demo users.csv
.venv/bin/python manage.py sync_sales --tenant demo --csv sales.csv
EOF
while IFS= read -r line; do
    grep -qF -- "${line/ --dry-run/ [--dry-run]}" README.md || fail "README.md no longer shows: $line"
done <"$work/readme.sh"
sed -i "s/localhost:8000/localhost:$PORT/" "$work/readme.sh"

echo "smoke: the README's commands from a second shell"
(cd "$work" && bash -euv readme.sh) >"$scratch/second.log" 2>&1 || {
    cat "$scratch/second.log" >&2
    fail "a README command failed (output above)"
}
cat "$scratch/second.log"
grep -q '"slug":"demo"' "$scratch/second.log" || fail "GET /api/v1/me/ with the new key did not answer for demo"
! grep -q Traceback "$scratch/second.log" || fail "a README command printed a traceback"

echo "smoke: Ctrl-C"
processes=$(stack_processes)
postmaster=$(head -n 1 var/postgres/postmaster.pid)
stop_stack
stack=""
! grep -E 'make(\[[0-9]+\])?: \*\*\*|Traceback' "$scratch/run.log" ||
    fail "make run did not end quietly on Ctrl-C (lines above)"
if grep -q "another devstack is using it" "$scratch/run.log"; then
    postmaster="" # rightly left running for the other launcher
fi
left=""
for pid in $processes $postmaster; do
    # A zombie (state Z) has ended and only waits for its parent to collect its status.
    case "$(ps -o stat= -p "$pid" || true)" in "" | Z*) ;; *) left="$left $pid" ;; esac
done
if [ -n "$left" ]; then
    ps -o pid,args -p "${left# }" >&2
    fail "processes left running after Ctrl-C:$left"
fi
[ -z "$(ls -A var/devstack 2>/dev/null)" ] || fail "var/devstack still records: $(ls var/devstack)"
echo "smoke: README commands passed; Ctrl-C stopped everything"
