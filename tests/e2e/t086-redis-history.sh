#!/usr/bin/env bash
# t086-redis-history: what the redis backend keeps beyond the official
# fields, as the file store does: with store_history the previous states
# (at most history_limit, oldest first) in kosyncd:user:<u>:history:<doc>;
# the latest position of every other device in kosyncd:user:<u>:devices:<doc>
# (the device that pushed last is not listed); metadata in
# kosyncd:user:<u>:meta:<doc>, kept by pushes without it.
. "$(dirname "$0")/lib.sh"

command -v redis-server >/dev/null || { echo "1..0 # SKIP no redis-server"; exit 0; }
ks_redis_start || { not_ok "redis started"; done_testing; }
ks_start --storage redis --redis-address "$KS_REDIS_ADDR" --redis-db "$KS_REDIS_DB" \
    --store-history --history-limit 2 || { not_ok "server started"; done_testing; }
K=$(md5 pw)
req POST /users/create '{"username":"u","password":"'"$K"'"}'
push() { req PUT /syncs/progress "$1" $(auth u "$K"); is "push $2" "$STATUS" 200; }
push '{"document":"d","progress":"a1","percentage":0.1,"device":"A","device_id":"IDA","metadata":{"title":"T","filename":"f.epub"}}' 1
push '{"document":"d","progress":"b1","percentage":0.2,"device":"B","device_id":"IDB"}' 2
push '{"document":"d","progress":"a2","percentage":0.3,"device":"A","device_id":"IDA"}' 3
push '{"document":"d","progress":"a3","percentage":0.4,"device":"A","device_id":"IDA","metadata":{"authors":"X"}}' 4
H=kosyncd:user:u:history:d
is "history keeps history_limit entries" "$(ks_redis_cli LLEN $H)" 2
like "history: oldest first" "$(ks_redis_cli LINDEX $H 0)" '"progress":"b1"'
like "history: newest last" "$(ks_redis_cli LINDEX $H 1)" '"progress":"a2"'
is "devices: only the other device" "$(ks_redis_cli HKEYS kosyncd:user:u:devices:d)" "id:IDB"
like "devices: its latest position" "$(ks_redis_cli HGET kosyncd:user:u:devices:d id:IDB)" '"progress":"b1"'
is "metadata merged across pushes" \
    "$(ks_redis_cli HMGET kosyncd:user:u:meta:d filename title authors | paste -sd' ')" "f.epub T X"
push '{"document":"d","progress":"b2","percentage":0.5,"device":"B","device_id":"IDB"}' 5
is "devices: the pusher leaves the list, the previous one joins" \
    "$(ks_redis_cli HKEYS kosyncd:user:u:devices:d)" "id:IDA"
req GET /syncs/progress/d "" $(auth u "$K")
like "the current state" "$BODY" '"progress":"b2","device":"B","device_id":"IDB"'
ks_stop
done_testing
