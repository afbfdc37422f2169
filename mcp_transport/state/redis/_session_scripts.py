"""The session store's Lua scripts: each store operation is one script, so one round trip
and one atomic step whichever worker runs it.

A session is a hash ``{prefix}session:{id}``: one field per record field (short key, JSON
value: see ``state/records.py``), ``n`` its revision (changed by every create and update, so a
worker that cached the record reads it again only when it changed) and a field ``b:{worker}``
per worker that holds it busy (the worker's sequence number of its latest acquire: the worker
counts its own requests and clears the mark once it has none left, see ``_sessions.py``).
``{prefix}sessions`` (sorted set, id -> last_active, ``inf`` while busy) indexes every
session, for the cap and idle expiry; ``{prefix}sessions:unready`` (id -> created) the ones
not yet ready, for the init timeout; ``{prefix}busy:{worker}`` (set) the sessions a worker
holds busy, so its marks can be cleared when it dies.

The GET-holder index, kept by every script that writes or drops the record's ``h`` field:
``{prefix}held:{worker}`` (set) the sessions whose ``h`` names that worker,
``{prefix}unheld`` (set) those whose ``h`` is null, ``{prefix}holders`` (set) the workers
with a non-empty held set. It lets a notification's broadcast find the sessions whose holder
cannot hear it by looking at each holder once, never at every session (``_cluster.py``).

An idle session's hash has a TTL (idle timeout + grace); a busy one has none (PERSIST), so a
request or GET stream longer than the idle timeout never loses its session. Scripts take the
time from their caller (wall clock, the same value goes into the record).
"""

from __future__ import annotations

__all__ = ["ACQUIRE", "CREATE", "EXPIRE", "RELEASE", "RELEASE_WORKER", "REMOVE", "UPDATE"]

# Busy marks are hash fields "b:<worker>". settle(): once a session has none left it gets
# its TTL back and its idle time counts from ``now`` in the index.
_COMMON = """
local function busy(flat)
  for i = 1, #flat, 2 do
    if string.sub(flat[i], 1, 2) == 'b:' then return true end
  end
  return false
end
local function settle(key, index, id, now, ttl)
  if busy(redis.call('HGETALL', key)) then return end
  redis.call('PEXPIRE', key, ttl)
  redis.call('ZADD', index, now, id)
end
local function forget(index, unready, id)
  redis.call('ZREM', index, id)
  redis.call('ZREM', unready, id)
end
local function field(flat, name)
  for i = 1, #flat, 2 do
    if flat[i] == name then return flat[i + 1] end
  end
  return nil
end
-- The holder index entry of a session whose h field is h (JSON: a worker id or null).
local function held(P, h)
  local w = cjson.decode(h)
  if type(w) == 'string' then return P .. 'held:' .. w, w end
  return P .. 'unheld', nil
end
local function hold(P, id, h)
  if not h then return end
  local set, w = held(P, h)
  redis.call('SADD', set, id)
  if w then redis.call('SADD', P .. 'holders', w) end
end
local function leave(P, id, w)
  local set = P .. 'held:' .. w
  redis.call('SREM', set, id)
  if redis.call('EXISTS', set) == 0 then redis.call('SREM', P .. 'holders', w) end
end
local function unhold(P, id, h)
  if not h then return end
  local set, w = held(P, h)
  if w then leave(P, id, w) else redis.call('SREM', set, id) end
end
-- A session whose hash Redis already expired (its h is unknown): out of every holder set.
local function unhold_gone(P, id)
  for _, w in ipairs(redis.call('SMEMBERS', P .. 'holders')) do leave(P, id, w) end
  redis.call('SREM', P .. 'unheld', id)
end
"""

# KEYS hash, index, unready; ARGV id, limit, now, ttl_ms, prefix, stale_before, ready, then
# field/value pairs (the revision ``n`` among them). 1 created, 0 full, -1 id taken. At the
# cap, index entries whose hash Redis already expired (idle past the TTL, no sweeper ran) are
# dropped before refusing.
_CREATE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[2]) then
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[6])) do
    if redis.call('EXISTS', ARGV[5] .. 'session:' .. id) == 0 then
      forget(KEYS[2], KEYS[3], id)
      unhold_gone(ARGV[5], id)
    end
  end
  if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[2]) then return 0 end
end
redis.call('HSET', KEYS[1], unpack(ARGV, 8))
hold(ARGV[5], ARGV[1], field({unpack(ARGV, 8)}, 'h'))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
if ARGV[7] ~= '1' then redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1]) end
return 1
"""
CREATE = _COMMON + _CREATE

# KEYS hash, index, unready, this worker's busy set; ARGV id, worker, now, seq, the revision
# the worker has cached ('' if none). Marks the session busy with ``seq``; returns nil for an
# unknown session, 1 if the cached revision is still the record's (nothing else to send),
# else the whole record (HGETALL). Idempotent: the pipeline sends it again on a lost connection.
_ACQUIRE = """
if redis.call('EXISTS', KEYS[1]) == 0 then forget(KEYS[2], KEYS[3], ARGV[1]); return false end
redis.call('HSET', KEYS[1], 'b:' .. ARGV[2], ARGV[4], 't', ARGV[3])
redis.call('PERSIST', KEYS[1])
redis.call('ZADD', KEYS[2], 'inf', ARGV[1])
redis.call('SADD', KEYS[4], ARGV[1])
if ARGV[5] ~= '' and redis.call('HGET', KEYS[1], 'n') == ARGV[5] then return 1 end
return redis.call('HGETALL', KEYS[1])
"""
ACQUIRE = _COMMON + _ACQUIRE

# KEYS index, this worker's busy set; ARGV prefix, worker, ttl_ms, then (id, seq, released_at)
# for each session this worker has stopped working on. Its mark goes unless an acquire later
# than ``seq`` (sent after the worker's last release) set it again; the last mark to go gives
# the session its TTL back and its idle time counts from its last activity on any worker.
_RELEASE = """
local mark = 'b:' .. ARGV[2]
for i = 4, #ARGV, 3 do
  local id = ARGV[i]
  local key = ARGV[1] .. 'session:' .. id
  local seq = redis.call('HGET', key, mark)
  if seq and tonumber(seq) <= tonumber(ARGV[i + 1]) then
    redis.call('HDEL', key, mark)
    redis.call('SREM', KEYS[2], id)
    local t = redis.call('HGET', key, 't')  -- another worker may have been active later
    if not t or tonumber(t) < tonumber(ARGV[i + 2]) then
      t = ARGV[i + 2]
      redis.call('HSET', key, 't', t)
    end
    settle(key, KEYS[1], id, t, ARGV[3])
  elseif not seq then
    redis.call('SREM', KEYS[2], id)  -- removed meanwhile (or its mark already went)
  end
end
return 1
"""
RELEASE = _COMMON + _RELEASE

# KEYS hash, unready; ARGV id, prefix, number of expected pairs, the expected field/value
# pairs, then the changes. The record after the change; nil if the session is unknown, 0 if
# a field did not hold its expected value. A change moves the revision on. A hash keeps its
# TTL through HSET.
_UPDATE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local n = tonumber(ARGV[3])
for i = 4, 3 + 2 * n, 2 do
  if redis.call('HGET', KEYS[1], ARGV[i]) ~= ARGV[i + 1] then return 0 end
end
local first = 4 + 2 * n
if #ARGV >= first then
  local changes = {unpack(ARGV, first)}
  local h = field(changes, 'h')
  local old = h and redis.call('HGET', KEYS[1], 'h')
  redis.call('HSET', KEYS[1], unpack(changes))
  if h and h ~= old then
    unhold(ARGV[2], ARGV[1], old or nil)
    hold(ARGV[2], ARGV[1], h)
  end
  redis.call('HINCRBY', KEYS[1], 'n', 1)
end
if redis.call('HGET', KEYS[1], 'r') == 'true' then redis.call('ZREM', KEYS[2], ARGV[1]) end
return redis.call('HGETALL', KEYS[1])
"""
UPDATE = _COMMON + _UPDATE

# KEYS hash, index, unready; ARGV id, prefix. The record as it was, or nil.
_REMOVE = """
local flat = redis.call('HGETALL', KEYS[1])
forget(KEYS[2], KEYS[3], ARGV[1])
if #flat == 0 then unhold_gone(ARGV[2], ARGV[1]); return false end
unhold(ARGV[2], ARGV[1], field(flat, 'h'))
for i = 1, #flat, 2 do
  if string.sub(flat[i], 1, 2) == 'b:' then
    redis.call('SREM', ARGV[2] .. 'busy:' .. string.sub(flat[i], 3), ARGV[1])
  end
end
redis.call('DEL', KEYS[1])
return flat
"""
REMOVE = _COMMON + _REMOVE

# KEYS index, unready; ARGV prefix, idle_before, init_before, limit. Removes and returns
# {id, fields, id, fields, ...} of sessions idle since before idle_before or created before
# init_before and still not ready, never a busy one; forgets index entries whose hash Redis
# already expired. At most ``limit`` candidates of each kind per call.
_EXPIRE = """
local out = {}
local function take(id)
  local key = ARGV[1] .. 'session:' .. id
  local flat = redis.call('HGETALL', key)
  if #flat > 0 and busy(flat) then return end
  forget(KEYS[1], KEYS[2], id)
  if #flat == 0 then unhold_gone(ARGV[1], id); return end
  unhold(ARGV[1], id, field(flat, 'h'))
  redis.call('DEL', key)
  table.insert(out, id)
  table.insert(out, flat)
end
for i, before in ipairs({ARGV[2], ARGV[3]}) do
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[i], '-inf', '(' .. before, 'LIMIT', 0, ARGV[4])) do
    take(id)
  end
end
return out
"""
EXPIRE = _COMMON + _EXPIRE

# KEYS the dead worker's busy set; ARGV worker, prefix, now, ttl_ms. Clears the worker's busy
# marks (its requests and streams ended with it); a session left without marks gets its TTL
# back, idle from now. Returns how many sessions had marks cleared.
_RELEASE_WORKER = """
local n = 0
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local key = ARGV[2] .. 'session:' .. id
  if redis.call('HDEL', key, 'b:' .. ARGV[1]) == 1 then
    n = n + 1
    redis.call('HSET', key, 't', ARGV[3])
    settle(key, ARGV[2] .. 'sessions', id, ARGV[3], ARGV[4])
  end
end
redis.call('DEL', KEYS[1])
return n
"""
RELEASE_WORKER = _COMMON + _RELEASE_WORKER
