#!/usr/bin/env bash
# t066-fault-loop-fsync: t065's fault loop for the Nth fsync/fdatasync
# (journal records and backups): each failure leaves the store consistent,
# the server serving, and no acknowledged write lost. See t065.
FI_POINTS=FSYNC exec "$(dirname "$0")/t065-fault-loop.sh"
