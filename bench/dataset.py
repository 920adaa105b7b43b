"""dataset.py: generated databases for the benchmark.

A dataset is USERS users with DOCS documents each, written as a KOsync
database.json (schema 6, docs/protocol.md §7.2): the file any KOsync user would
bring. Names are bu<i>, keys are md5("password-bu<i>"), document ids are
md5("bu<i>-doc-<d>") (32 hex digits, like KOReader's), progress an XPointer,
timestamps in the past.

Keys. kosyncd stores argon2id hashes of keys and verifies each user's key
once (~17 ms of argon2 at its own cost parameters), then remembers it. A
real-cost hash per user would make warming up 50,000 users take minutes, so
the generated file already holds argon2id PHC strings with libsodium's
minimum cost (t=1, m=8 KiB; ~30 us each). kosyncd's migration leaves PHC
strings alone and verification reads the parameters from the string, so
the first request per user is cheap; steady-state requests never run
argon2 at all. Without libsodium the file holds plain md5 keys and kosyncd's
migration hashes them at full cost (slow, once: the migrated directory is
cached).

Each size is generated once under bench/out/datasets/ and reused.
"""
import ctypes
import ctypes.util
import hashlib
import json
import os

_sodium = None


def _lib():
    global _sodium
    if _sodium is None:
        name = ctypes.util.find_library("sodium")
        lib = ctypes.CDLL(name) if name else None
        if lib is not None and lib.sodium_init() >= 0:
            f = lib.crypto_pwhash_argon2id_str
            f.argtypes = [ctypes.c_char_p, ctypes.c_char_p,
                          ctypes.c_ulonglong, ctypes.c_ulonglong,
                          ctypes.c_size_t]
            f.restype = ctypes.c_int
            _sodium = lib
        else:
            _sodium = False
    return _sodium


def cheap_phc(key):
    """argon2id PHC string of key at minimum cost, or None."""
    lib = _lib()
    if not lib:
        return None
    out = ctypes.create_string_buffer(128)
    k = key.encode()
    if lib.crypto_pwhash_argon2id_str(out, k, len(k), 1, 8192) != 0:
        return None
    return out.value.decode()


def md5hex(s):
    return hashlib.md5(s.encode()).hexdigest()


def user(i, docs):
    name = "bu%d" % i
    return (name, md5hex("password-" + name),
            [md5hex("%s-doc-%d" % (name, d)) for d in range(docs)])


def users(nusers, docs):
    return [user(i, docs) for i in range(nusers)]


CONFIG = {
    "listen_address": ":8080",
    "disable_registration": False,
    "enable_debug_log": False,
    "store_history": False,
    "backup_encoding_type": "json",
    "backup_on_startup": False,
    "enable_webui": False,
}


def write_kosync(path, nusers, docs, phc=True):
    """Write a KOsync schema-6 database.json; returns whether the keys
    are cheap PHC strings."""
    tmp = path + ".tmp"
    cheap = phc and _lib()
    enc = json.JSONEncoder(separators=(",", ":"))
    with open(tmp, "w") as f:
        f.write('{"schema":6,"config":%s,"users":{' % enc.encode(CONFIG))
        for i in range(nusers):
            name, key, ids = user(i, docs)
            stored = cheap_phc(key) if cheap else key
            dd = []
            for d, doc in enumerate(ids):
                dd.append('%s:{"progress":"/body/DocFragment[%d]/body/div/'
                          'p[%d]/text().%d","percentage":%s,"device":"%s",'
                          '"device_id":"%s","document":"%s","timestamp":%d,'
                          '"pretty_name":""}' % (
                              enc.encode(doc), 1 + (i + d) % 40,
                              1 + (i * 7 + d) % 300, (i + d) % 97,
                              repr(((i * 31 + d * 17) % 10000) / 10000.0),
                              "Kobo Libra 2" if d % 2 else "Kindle",
                              md5hex("device-%d" % (d % 3)).upper(),
                              doc, 1700000000 + i * 10 + d))
            f.write('%s%s:{"username":%s,"password":%s,"documents":{%s},'
                    '"history":{}}' % ("," if i else "", enc.encode(name),
                                       enc.encode(name), enc.encode(stored),
                                       ",".join(dd)))
        f.write("}}\n")
    os.replace(tmp, path)
    return bool(cheap)
