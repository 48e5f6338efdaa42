#!/bin/sh
# Runs Kong Manager's own Playwright specs against Portcullis, one folder at a time, one JSON report per folder.
# env: KM_TEST_API_URL (Admin API), KM_TEST_GUI_URL (served build); args: spec folders (services routes consumers plugins)
KM=${KM:-$HOME/kong-manager}
OUT=${OUT:-$PWD}
cd "$KM/tests/playwright" || exit 1
for d in "$@"; do
  KM_JSON_REPORT=$OUT/report-$d.json npx playwright test --config portcullis.config.ts "specs/$d/" > $OUT/run-$d.log 2>&1
  echo "$d rc=$?" >> $OUT/runs.txt
done
