"""The event log's Lua scripts: each runs atomically in Redis, so a stream's bookkeeping
(first, last, bytes, closed) and its entries never disagree, whichever worker writes.

A stream ``sid`` is a hash ``{prefix}stream:{sid}`` (session, first, last, bytes, closed) and
a Redis Stream ``{prefix}stream:{sid}:events`` whose entry ``<seq>-0`` is event ``seq``
(fields ``d`` data, ``t`` append time in ms by Redis's clock, the same for every worker).
Entries ``<seq>-<n>`` with n >= 1 carry no event: they wake blocked readers (XREAD BLOCK)
when a stream closes or is dropped. Events ``first..last`` are always all present.
"""

from __future__ import annotations

__all__ = ["APPEND", "CLOSE", "DROP_SESSION", "READ", "SWEEP"]

# Evict from the head while the stream is over a bound (events, bytes) or its head is older
# than the horizon; keep the age index (``KEYS[3]``, score = oldest held event's time) true.
_EVICT = """
local function evict(meta, events, index, sid, max_events, max_bytes, horizon)
  local s = redis.call('HMGET', meta, 'first', 'last', 'bytes')
  local first, last, bytes = tonumber(s[1]), tonumber(s[2]), tonumber(s[3])
  local moved = false
  while first <= last do
    local head = redis.call('XRANGE', events, first .. '-0', first .. '-0')[1][2]
    local born = tonumber(head[4])
    if last - first + 1 <= max_events and bytes <= max_bytes and born >= horizon then
      redis.call('ZADD', index, born, sid)
      break
    end
    bytes = bytes - #head[2]
    first = first + 1
    moved = true
  end
  if first > last then redis.call('ZREM', index, sid) end
  if moved then
    redis.call('XTRIM', events, 'MINID', first .. '-0')
    redis.call('HSET', meta, 'first', first, 'bytes', bytes)
  end
  return first > last
end
"""

# A stream in use keeps its keys and its session's stream set for another ``ttl`` ms.
_COMMON = """
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function touch(meta, events, prefix, ttl)
  redis.call('PEXPIRE', meta, ttl)
  redis.call('PEXPIRE', events, ttl)
  local session = redis.call('HGET', meta, 'session')
  if session then redis.call('PEXPIRE', prefix .. 'session:' .. session .. ':streams', ttl) end
end
"""

# KEYS meta, events, index; ARGV data, last (0/1), max_events, max_bytes, max_age_ms, ttl_ms,
# sid, prefix. Returns the new event's seq, or 0 for an unknown or closed stream.
_APPEND = """
local m = redis.call('HMGET', KEYS[1], 'last', 'closed')
if not m[1] or m[2] == '1' then return 0 end
local seq = tonumber(m[1]) + 1
local now = now_ms()
redis.call('XADD', KEYS[2], seq .. '-0', 'd', ARGV[1], 't', now)
redis.call('HSET', KEYS[1], 'last', seq)
redis.call('HINCRBY', KEYS[1], 'bytes', #ARGV[1])
evict(KEYS[1], KEYS[2], KEYS[3], ARGV[7], tonumber(ARGV[3]), tonumber(ARGV[4]), now - tonumber(ARGV[5]))
if ARGV[2] == '1' then
  redis.call('HSET', KEYS[1], 'closed', '1')
  redis.call('XADD', KEYS[2], seq .. '-*', 'c', '1')
end
touch(KEYS[1], KEYS[2], ARGV[8], ARGV[6])
return seq
"""
APPEND = _COMMON + _EVICT + _APPEND

# KEYS meta, events; ARGV ttl_ms, prefix. Marks the stream closed and wakes its blocked readers.
_CLOSE = """
local m = redis.call('HMGET', KEYS[1], 'last', 'closed')
if not m[1] or m[2] == '1' then return 0 end
redis.call('HSET', KEYS[1], 'closed', '1')
redis.call('XADD', KEYS[2], m[1] .. '-*', 'c', '1')
touch(KEYS[1], KEYS[2], ARGV[2], ARGV[1])
return 1
"""
CLOSE = _COMMON + _CLOSE

# KEYS meta, events; ARGV the first entry id wanted, ttl_ms, prefix. Returns nil for an
# unknown stream, else {first, closed, entries from that id on}: one consistent snapshot.
_READ = """
local m = redis.call('HMGET', KEYS[1], 'first', 'closed')
if not m[1] then return false end
touch(KEYS[1], KEYS[2], ARGV[3], ARGV[2])
return {m[1], m[2], redis.call('XRANGE', KEYS[2], ARGV[1], '+')}
"""
READ = _COMMON + _READ

# KEYS session's stream set, index; ARGV prefix. Forgets every stream of the session. The
# entries key lingers one second with a wake-up entry so readers blocked on it return.
DROP_SESSION = """
for _, sid in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local meta = ARGV[1] .. 'stream:' .. sid
  local last = redis.call('HGET', meta, 'last')
  if last then
    redis.call('XADD', meta .. ':events', last .. '-*', 'c', '1')
    redis.call('PEXPIRE', meta .. ':events', 1000)
  end
  redis.call('DEL', meta)
  redis.call('ZREM', KEYS[2], sid)
end
redis.call('DEL', KEYS[1])
"""

# KEYS index; ARGV prefix, max_events, max_bytes, max_age_ms, limit. Evicts events older
# than max_age from up to ``limit`` streams (oldest first); a closed stream left empty, and
# one whose keys expired, is forgotten (it cannot be resumed).
_SWEEP = """
local horizon = now_ms() - tonumber(ARGV[4])
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. horizon, 'LIMIT', 0, tonumber(ARGV[5]))
for _, sid in ipairs(due) do
  local meta = ARGV[1] .. 'stream:' .. sid
  local events = meta .. ':events'
  if redis.call('EXISTS', meta) == 0 then
    redis.call('ZREM', KEYS[1], sid)
  elseif evict(meta, events, KEYS[1], sid, tonumber(ARGV[2]), tonumber(ARGV[3]), horizon)
      and redis.call('HGET', meta, 'closed') == '1' then
    local session = redis.call('HGET', meta, 'session')
    redis.call('SREM', ARGV[1] .. 'session:' .. session .. ':streams', sid)
    redis.call('DEL', meta, events)
  end
end
return #due
"""
SWEEP = _COMMON + _EVICT + _SWEEP
