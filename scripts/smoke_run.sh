#!/usr/bin/env bash
# Smoke test of the README's first command (`make run`), from a virtualenv with only
# requirements.txt in it (so a runtime dependency that only the test extras bring is caught):
# migrate, seed the demo, start web, worker, beat and the demo targets on spare ports, check that
# the sign-in page, /healthz and the stylesheet answer and the worker and beat are up, then stop them all with Ctrl-C (SIGINT).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=var/smoke-venv
if [ ! -x "$VENV/bin/python" ] || [ requirements.txt -nt "$VENV/.installed" ]; then
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    { "$VENV/bin/pip" install -q --upgrade pip && "$VENV/bin/pip" install -q -r requirements.txt; } \
        2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
    touch "$VENV/.installed"
fi

run_dir=$(mktemp -d)
log="$run_dir/run.log"
export PORTAL_VAR_DIR="$run_dir" PORTAL_BIND=127.0.0.1:18000 DEBUG=true
export DEMO_SCIM_URL=http://127.0.0.1:18081/v2 DEMO_GOTO_PORT=18082
export CELERY_TASK_DEFAULT_QUEUE="smoke-$$-$RANDOM"
unset DATABASE_URL CELERY_BROKER_URL REDIS_URL

"$VENV/bin/python" manage.py migrate --noinput -v 0
"$VENV/bin/python" manage.py seed_demo > /dev/null
setsid "$VENV/bin/python" scripts/run_portal.py > "$log" 2>&1 &
pid=$!

stop() { kill -INT "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
trap stop EXIT

ok=""
for _ in $(seq 120); do
    if ! kill -0 "$pid" 2>/dev/null; then break; fi
    code=$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:18000/accounts/login/ || true)
    health=$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:18000/healthz || true)
    css=$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:18000/static/css/portal.css || true)
    if [ "$code" = 200 ] && [ "$health" = 200 ] && [ "$css" = 200 ] && grep -q "ready" "$log" && grep -q "beat: Starting" "$log" \
        && grep -q "Serving SCIM" "$log" && grep -q "Fake GoTo API" "$log"; then
        ok=yes
        break
    fi
    sleep 0.5
done
if [ -z "$ok" ]; then
    echo "smoke run: the portal's processes did not all come up; their output:" >&2
    cat "$log" >&2
    exit 1
fi
stop
trap - EXIT
if pgrep -f "$run_dir" > /dev/null; then
    echo "smoke run: processes were left running after Ctrl-C" >&2
    exit 1
fi
echo "smoke run: web, worker, beat and demo targets came up from requirements.txt alone and stopped on Ctrl-C"
