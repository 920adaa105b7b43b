/*
 * luascripts.h: the Redis backend's Lua scripts, one NUL-terminated string
 * each, from src/lua/<name>.lua (scripts/embed-lua writes their definitions
 * into a generated C file at build time; the file's comment lines are left
 * out). Each file says what the script takes (KEYS, ARGV) and returns.
 *
 * Layer core (src/LAYERS): a low-level primitive. It uses no other header of
 * kosyncd, so that any module may use it.
 */
#ifndef KOSYNCD_LUASCRIPTS_H
#define KOSYNCD_LUASCRIPTS_H

extern const char lua_put[];        /* a push */
extern const char lua_setkey[];     /* change an account's key */
extern const char lua_delete[];     /* delete an account, leave a tombstone */
extern const char lua_purge[];      /* delete a deleted account's keys */
extern const char lua_create[];     /* register an account */
extern const char lua_admins[];     /* retire the option admins */
extern const char lua_admin_get[];  /* is an account an administrator */
extern const char lua_devices[];    /* change device credentials */
extern const char lua_dev_list[];   /* list device credentials */
extern const char lua_dev_used[];   /* a device credential's use */
extern const char lua_dev_audit[];  /* a device credential's audit */
extern const char lua_events_get[]; /* an account's webhooks, feed token */
extern const char lua_events_set[]; /* replace one of them */
extern const char lua_feed_user[];  /* the account of a feed token */
extern const char lua_policy[];     /* an account's progress policy */
extern const char lua_pulled[];     /* a pull of a guard account */
extern const char lua_devnames[];   /* name or forget a device */
extern const char lua_devnames_list[]; /* an account's device names */

#endif
