# demo-config.sh: the demo gateway's httpd configuration, in one place for
# scripts/demo.sh and for the integration tests that run it
# (tests/integration/it_demo.c: slowloris; it_quickstart.c: seed 000's quick
# start and the front page in Chromium). Source it, then
#
#   demo_httpd_conf DIR PORT REDIS_PORT FUNCTION_PORT CLOUDRUN_PORT AI_PORT \
#                   MODULE PLUGIN_DIR NODE_MODULES >DIR/httpd.conf
#
# DIR holds docroot/, jwt.key, admin.key, ai.key and storage.key, and gets the
# pid file and logs; DIR/data, writable by the workers, gets the SQLite
# database, and DIR/data/files and DIR/data/private (made by the caller,
# writable by the workers) the local buckets' files.
# FUNCTION_PORT serves the function add-two, CLOUDRUN_PORT the Cloud
# Run service helloworld (both @cloudbase/functions-framework), AI_PORT the
# sample OpenAI-compatible server (scripts/demo-sample-ai.py) behind the AI
# provider deepseek and the agent demo-agent. MODULE is mod_cloudbase.so;
# PLUGIN_DIR holds auth.so, functions.so, storage.so, model.so, uptime.so
# and wallet.so. NODE_MODULES is the pinned
# node_modules (tests/sdk) whose @cloudbase/js-sdk browser build the front
# page loads from /sdk/. Run as root, httpd's workers run as www-data.

# The repository, for the data model's schema (conf/demo/models/).
demo_config_top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

demo_httpd_conf() {
  local dir=$1 port=$2 redis_port=$3 function_port=$4 cloudrun_port=$5 ai_port=$6
  local module=$7 plugin_dir=$8 node_modules=$9
  local user_lines=""
  if [[ $(id -u) -eq 0 ]]; then
    user_lines=$'User www-data\nGroup www-data'
  fi
  cat <<CONF
# The demo's embedded configuration (see docs/configuration.md and, for the
# worker, timeout and limit settings, docs/production.md).
ServerRoot /etc/apache2
ServerName 127.0.0.1
PidFile $dir/httpd.pid
ErrorLog $dir/error.log
LogLevel warn
$user_lines
Listen 127.0.0.1:$port
LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
LoadModule mime_module /usr/lib/apache2/modules/mod_mime.so
LoadModule dir_module /usr/lib/apache2/modules/mod_dir.so
LoadModule alias_module /usr/lib/apache2/modules/mod_alias.so
LoadModule reqtimeout_module /usr/lib/apache2/modules/mod_reqtimeout.so
LoadModule proxy_module /usr/lib/apache2/modules/mod_proxy.so
LoadModule proxy_http_module /usr/lib/apache2/modules/mod_proxy_http.so
LoadModule cloudbase_module $module
TypesConfig /etc/mime.types
DocumentRoot $dir/docroot
DirectoryIndex index.html
<Directory $dir/docroot>
  Require all granted
</Directory>
# The official SDK's browser build and its dependencies, straight from the
# pinned npm packages (no CDN, no build step): see docroot/index.html.
AddType text/javascript .js .mjs
Alias /sdk/ $node_modules/
<Directory $node_modules>
  Require all granted
</Directory>

# Workers: a connection that is still sending its request holds a worker
# thread, so there are more workers than slow clients are likely to hold:
# 512 from the start (4 processes of 128 threads, kept while idle), up to
# 1024. mod_reqtimeout gives a worker back from a client that takes more
# than 10 s for its headers (20 s while it sends 500 bytes/s) or 20 s per
# body read. Without both, 450 slowloris connections stopped the demo.
StartServers 4
ServerLimit 8
ThreadLimit 128
ThreadsPerChild 128
MaxRequestWorkers 1024
MinSpareThreads 128
MaxSpareThreads 768
RequestReadTimeout handshake=5 header=10-20,MinRate=500 body=20,MinRate=500
# Bodies above 10 MiB are refused before any module reads them (the
# functions plugin caps its routes lower, at 6 MiB by default).
LimitRequestBody 10485760
ServerTokens Prod
ServerSignature Off

CloudBaseEnv demo
CloudBasePluginDir $plugin_dir
CloudBaseRedis redis://127.0.0.1:$redis_port connect_timeout=100ms timeout=250ms
CloudBaseSecureDomains http://localhost:$port
# The embedded database: plugins that keep SQL data need nothing else.
CloudBaseDatabase sqlite3:$dir/data/cloudbase.db
# Encoded slashes reach the gateway, which refuses them with a JSON error.
AllowEncodedSlashes NoDecode
# 60 function calls a minute per caller (user, else address).
CloudBaseRateLimit /v1/functions/ 60/1m by=user
<CloudBasePlugin auth>
  jwt_secret file:$dir/jwt.key
  admin_key file:$dir/admin.key
</CloudBasePlugin>
# Seed 000's quick start: the function add-two and the Cloud Run service
# helloworld run on @cloudbase/functions-framework; the AI provider deepseek
# and the agent demo-agent on a sample OpenAI-compatible server, whose key the
# gateway injects. Any signed-in caller (anonymous too) may call them.
<CloudBasePlugin functions>
  function add-two http://127.0.0.1:$function_port/ auth=any
  function add-two-paid http://127.0.0.1:$function_port/ auth=any
  cloudrun helloworld http://127.0.0.1:$cloudrun_port auth=any
  ai_provider deepseek http://127.0.0.1:$ai_port/v1 key=file:$dir/ai.key auth=any timeout=60s
  agent demo-agent http://127.0.0.1:$ai_port/v1/chat/completions key=file:$dir/ai.key auth=any timeout=60s
</CloudBasePlugin>
# The wallet (docs/plugins/wallet.md): add-two-paid is add-two at 1 VND a
# call, paid from the workspace's wallet (demo.sh tops it up with 5); the
# sixth call answers 402. GET /api/workspaces/demo/wallet shows the balance.
<CloudBasePlugin wallet>
  currency VND
  meter /v1/functions/add-two-paid 1/call
</CloudBasePlugin>
# Seed 000's storage snippet and the front page's storage panel: the local
# bucket files (embedded: a directory, metadata in the SQLite database),
# served by this httpd. Any signed-in caller uploads; everyone reads
# (READONLY), the uploader overwrites and deletes. In the bucket private
# only the uploader reads too. Objects up to 10 MiB (LimitRequestBody
# above), 100 MiB in all.
<CloudBasePlugin storage>
  signing_key file:$dir/storage.key
  bucket files backend=local dir=$dir/data/files default max_object=10m
  bucket private backend=local dir=$dir/data/private acl=PRIVATE max_object=10m
  env_quota 100m
</CloudBasePlugin>
# The data model post (docs/plugins/model.md): everyone reads, signed-in
# users write their own records. scripts/demo-seed-models.sh adds samples.
<CloudBasePlugin model>
  model post schema=file:$demo_config_top/conf/demo/models/post.json
</CloudBasePlugin>
# Uptime monitors (docs/plugins/uptime.md) and their status page at
# /status: the gateway's own /health (up) and the sample AI server's /flap
# (up 20 s, down 20 s: flapping). Both on loopback, hence allow_private.
<CloudBasePlugin uptime>
  allow_private 127.0.0.0/8
  status_title "Demo status"
  status_refresh 5s
  monitor gateway http://127.0.0.1:$port/health interval=5s
  monitor flapping http://127.0.0.1:$ai_port/flap interval=5s
</CloudBasePlugin>
CONF
}
