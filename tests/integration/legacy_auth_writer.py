#!/usr/bin/env python3
"""legacy_auth_writer.py: test-only writer of the auth plugin's old
Redis-only layout (before users and API keys moved to the database), so the
start-up import can be tested: two users and one API key, written with
redis-cli exactly as the old users.c and apikeys.c wrote them.

usage: legacy_auth_writer.py REDIS_PORT ENV
Prints "UID_OF_ALICE KEY_SECRET KEY_ID".
"""
import hashlib
import os
import subprocess
import sys
import time

port, env = sys.argv[1], sys.argv[2]


def redis(*args):
    subprocess.run(["redis-cli", "-p", port] + list(args), check=True,
                   stdout=subprocess.DEVNULL)


def key(kind, ident):
    return "cb:{%s}:%s:%s" % (env, kind, ident)


def scrypt_hash(password):
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=1024, r=8, p=1, dklen=32)
    return "scrypt$1024$8$1$%s$%s" % (salt.hex(), digest.hex())


now = str(int(time.time()))
uids = {}
for username, password in (("alice", "alice password 1"), ("Bob", "bob password 1")):
    uid = os.urandom(16).hex()
    uids[username] = uid
    redis("SET", key("username", username.lower()), uid)
    redis("HSET", key("user", uid), "uid", uid, "username", username,
          "password", scrypt_hash(password), "groups", '["staff"]',
          "created", now, "updated", now)

secret = "cbk_%s_%s" % (env, os.urandom(16).hex())
secret_hash = hashlib.sha256(secret.encode()).hexdigest()
key_id = os.urandom(16).hex()
redis("HSET", key("apikey", secret_hash), "id", key_id, "name", "old-key",
      "prefix", secret[:len("cbk_%s_" % env) + 4], "scopes", '["read"]',
      "created", now, "expires", "0")
redis("HSET", key("apikeys", "index"), key_id, secret_hash)
print(uids["alice"], secret, key_id)
