#!/usr/bin/env bash
# t067-fault-loop-snapshot: t065's fault loop for the snapshot steps
# (SNAPSHOT: write and fsync of the temp file, at start-up, compaction and
# shutdown; RENAME: its rename over database.json) and for argon2's memory
# (MALLOC: registration and password hashing fail with a 502, never a
# wrong answer). See t065.
FI_POINTS="SNAPSHOT RENAME MALLOC" exec "$(dirname "$0")/t065-fault-loop.sh"
