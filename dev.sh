#!/usr/bin/env bash
# One entry point for a fresh machine. Each command sets the environment up first (idempotent,
# ~1 min the first time, seconds after), then:
#   ./dev.sh demo    run the whole pipeline end to end on the embedded default and check it
#   ./dev.sh test    run every test (what CI runs)
#   ./dev.sh ui      serve the last demo: Dagster UI (http://127.0.0.1:3000), console (http://127.0.0.1:8090), ingestion
#   ./dev.sh setup   only set up: .venv/, the dbt manifest, the console's chart library, chromium + npm packages for tests/browser,
#                    PostgreSQL's server for tests/console
#   ./dev.sh lock    re-resolve requirements.lock after changing pyproject.toml
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3.11}
VENV=.venv

need() {
    command -v "$1" >/dev/null 2>&1 || { echo "error: $1 not found on PATH ($2)" >&2; exit 1; }
}

uv_bin() {
    if command -v uv >/dev/null 2>&1; then
        command -v uv
    else
        # uv installs the ~150 locked packages in ~30 s where pip takes minutes.
        "$PYTHON" -m pip install --quiet --disable-pip-version-check uv >&2
        "$PYTHON" -c 'import shutil, sys, sysconfig, os; print(shutil.which("uv") or os.path.join(sysconfig.get_path("scripts"), "uv"))'
    fi
}

setup() {
    need "$PYTHON" "Python 3.11 is required"
    need java "Spark needs Java 17 (Debian: apt-get install openjdk-17-jre-headless)"
    local uv
    uv=$(uv_bin)
    [ -x "$VENV/bin/python" ] || "$uv" venv --quiet --python "$PYTHON" "$VENV"
    "$uv" pip install --quiet --python "$VENV/bin/python" -r requirements.lock -e . --no-deps
    # dagster-dbt reads the dbt manifest when the definitions load; build it now.
    "$VENV/bin/dbt" parse --quiet --project-dir dbt_project --profiles-dir dbt_project
    # tests/browser runs the official web SDK in Chromium. Missing pieces only warn: the demo does
    # not need them, and that test fails saying what is missing.
    if ! command -v chromium >/dev/null 2>&1; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
            { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >/dev/null \
                || echo "warning: apt-get could not install chromium (needed by tests/browser)" >&2
        else
            echo "warning: chromium not found; tests/browser needs it (Debian: apt-get install chromium)" >&2
        fi
    fi
    # tests/console runs the console database on a throwaway PostgreSQL server too
    # (tests/console/postgres_fixture.py); Debian keeps initdb off PATH, in its versioned directory.
    # Missing, those tests skip, saying so.
    if ! command -v initdb >/dev/null 2>&1 && ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
            { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; } >/dev/null \
                || echo "warning: apt-get could not install postgresql (needed by tests/console)" >&2
        else
            echo "warning: PostgreSQL's initdb not found; tests/console skips its PostgreSQL cases (Debian: apt-get install postgresql)" >&2
        fi
    fi
    # The console's chart library (served by the console itself, no CDN) and the browser tests'
    # packages. A copy of the lock inside node_modules marks a finished install of exactly that
    # lock; deleting node_modules or changing the lock brings `npm ci` back, otherwise nothing runs.
    npm_install clickstream_console/frontend "the console's charts"
    npm_install tests/browser "tests/browser"
    mkdir -p clickstream_console/static/vendor
    [ -f clickstream_console/frontend/node_modules/echarts/dist/echarts.min.js ] \
        && cp -p clickstream_console/frontend/node_modules/echarts/dist/echarts.min.js clickstream_console/static/vendor/
}

npm_install() {
    local dir=$1 what=$2
    if ! command -v npm >/dev/null 2>&1; then
        echo "warning: npm not found; $what need(s) Node.js 20 and npm" >&2
    elif ! cmp -s "$dir/package-lock.json" "$dir/node_modules/.installed-package-lock.json"; then
        if npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error; then
            cp "$dir/package-lock.json" "$dir/node_modules/.installed-package-lock.json"
        else
            echo "warning: npm ci failed in $dir ($what)" >&2
        fi
    fi
}

export SPARK_LOCAL_IP=${SPARK_LOCAL_IP:-127.0.0.1}
export PYSPARK_PYTHON="$PWD/$VENV/bin/python"
export PATH="$PWD/$VENV/bin:$PATH"

case "${1:-}" in
    setup) setup ;;
    demo) shift; setup; exec "$VENV/bin/clickstream" demo "$@" ;;
    test) shift; setup; exec "$VENV/bin/python" -m pytest "$@" ;;
    ui)
        demo_dir=${DEMO_DIR:-var/demo}
        [ -f "$demo_dir/clickstream.yaml" ] || { echo "error: no demo in $demo_dir; run ./dev.sh demo first" >&2; exit 1; }
        export DAGSTER_HOME="$PWD/$demo_dir/dagster" CLICKSTREAM_CONFIG="$PWD/$demo_dir/clickstream.yaml"
        # The console and ingestion run beside the Dagster UI and stop with it (Ctrl-C).
        "$VENV/bin/clickstream" serve >"$demo_dir/ingestion-ui.log" 2>&1 &
        ingestion=$!
        "$VENV/bin/clickstream" console >"$demo_dir/console.log" 2>&1 &
        console=$!
        trap 'kill $ingestion $console 2>/dev/null; wait $ingestion $console 2>/dev/null' EXIT
        echo "console: http://127.0.0.1:8090 (admin@example.com, password in $demo_dir/console-admin.txt; log $demo_dir/console.log)"
        echo "ingestion: log in $demo_dir/ingestion-ui.log"
        "$VENV/bin/dagster" dev -w workspace.yaml ;;
    lock)
        uv=$(uv_bin)
        "$uv" pip compile --quiet --python-version 3.11 --extra dev pyproject.toml -o requirements.lock ;;
    *) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
