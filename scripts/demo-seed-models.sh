#!/usr/bin/env bash
# demo-seed-models.sh: the demo's sample rows of the data model `post`,
# written through the gateway as the demo user (demo / demo-password), once:
# nothing is written when `post` already has records. Used by scripts/demo.sh
# and tests/integration/it_demo.c.
#
#   bash scripts/demo-seed-models.sh PORT
set -euo pipefail
port=${1:?usage: demo-seed-models.sh PORT}
gw="http://127.0.0.1:$port"
json_field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

token=$(curl -fsS -X POST "$gw/auth/v1/signin" -H 'x-device-id: demo-seed' \
  -H 'Content-Type: application/json' -d '{"username":"demo","password":"demo-password"}' |
  json_field access_token)
total=$(curl -fsS "$gw/v1/model/prod/post/list?pageSize=1&getCount=true" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["total"])')
if [[ "$total" != 0 ]]; then
  exit 0
fi
curl -fsS -X POST "$gw/v1/model/prod/post/createMany" -H "Authorization: Bearer $token" \
  -H 'Content-Type: application/json' --data-binary @- >/dev/null <<'ROWS'
{"data": [
  {"title": "Welcome to mod_cloudbase", "author": "demo", "views": 42, "tags": ["news"],
   "content": "CloudBase's HTTP API, served by Apache httpd."},
  {"title": "Data models over SQL", "author": "demo", "views": 7, "tags": ["models", "sql"],
   "content": "app.models.post.list() reads these rows from SQLite."},
  {"title": "A draft", "author": "demo", "views": 0, "published": false, "tags": [],
   "content": "Only its creator may change it."}
]}
ROWS
