"""The event log's Lua scripts: each runs atomically in Redis, so a stream's bookkeeping and
its entries never disagree, whichever worker writes, and each operation is one round trip.

A stream ``sid`` is a hash ``{prefix}stream:{sid}`` and a Redis Stream
``{prefix}stream:{sid}:events`` whose entry ``<seq>-0`` is event ``seq`` (fields ``d`` data,
``t`` append time in ms by Redis's clock, the same for every worker, ``a`` bytes appended to
the stream up to and including it). Entries ``<seq>-<n>`` with n >= 1 carry no event: they
wake blocked readers (XREAD BLOCK) when a stream closes or is forgotten. Events
``first..last`` are always all present. The hash holds ``session`` (the owner), ``first``,
``last``, ``bytes`` held, ``appended`` (bytes ever appended), ``closed``, and the live
reader's cursor: ``reader`` (attached), ``delivered`` (its seq), ``dbytes`` (``appended`` as
of that seq), ``stalled`` (it let a writer's wait run out) and ``waiting`` (a writer waits on
``{prefix}stream:{sid}:cursor``, a one-entry Redis Stream that the cursor's moves append to).
``{prefix}session:{session}:bytes`` counts the bytes a session's streams hold.

Every script takes ``prefix, ttl_ms`` as its first two arguments and computes key names from
them (a single Redis primary is assumed).
"""

from __future__ import annotations

from ..events import ONCE_KEPT  # kept in a list {prefix}stream:{sid}:once, the stream's TTL

__all__ = ["APPEND", "CLOSE", "DELIVERED", "DETACH", "DROP_SESSION", "READ", "SWEEP"]

_COMMON = """
local P, TTL = ARGV[1], tonumber(ARGV[2])
local INDEX = P .. 'streams:by-age'
local NUMBERS = {'first', 'last', 'bytes', 'appended', 'delivered', 'dbytes'}
local FLAGS = {'closed', 'reader', 'stalled', 'waiting'}
local FIELDS = {unpack(NUMBERS)}
for _, name in ipairs(FLAGS) do table.insert(FIELDS, name) end

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function session_key(session, what) return P .. 'session:' .. session .. ':' .. what end

-- A stream's state as a table, or nil for an unknown stream.
local function load(sid)
  local s = {sid = sid, meta = P .. 'stream:' .. sid, freed = 0}
  s.events, s.cursor = s.meta .. ':events', s.meta .. ':cursor'
  local v = redis.call('HMGET', s.meta, 'session', unpack(FIELDS))
  if not v[1] then return nil end
  s.session = v[1]
  for i, name in ipairs(NUMBERS) do s[name] = tonumber(v[i + 1]) or 0 end
  for i, name in ipairs(FLAGS) do s[name] = v[#NUMBERS + 1 + i] == '1' end
  return s
end

-- The oldest held event: its size and append time (cached until it is popped).
local function head(s)
  if not s.head then
    local e = redis.call('XRANGE', s.events, s.first .. '-0', s.first .. '-0')[1][2]
    s.head = {#e[2], tonumber(e[4]), tonumber(e[6])}
  end
  return s.head[1], s.head[2], s.head[3]
end
local function pop(s)
  local size = head(s)
  s.first, s.bytes, s.freed, s.head = s.first + 1, s.bytes - size, s.freed + size, nil
  return size
end
-- Whether a size bound may take the head: not the newest event before a reader got it.
local function evictable(s)
  return s.first <= s.last and (s.first < s.last or s.delivered >= s.last)
end
-- ``appended`` as of event ``seq``.
local function bytes_through(s, seq)
  if seq >= s.last or s.first > s.last then return s.appended end
  if seq < s.first then
    local size, _, through = head(s)
    return through - size
  end
  return tonumber(redis.call('XRANGE', s.events, seq .. '-0', seq .. '-0')[1][2][6])
end

-- Writers waiting for this stream's reader re-check (an entry on its cursor stream). The key
-- (a listpack node, about 4.7 KB) only has to outlive the wake-up: a writer re-runs APPEND
-- at least every few seconds, and a missing key reads as cursor id 0-0.
local function release_writers(s)
  if s.waiting then
    redis.call('XADD', s.cursor, 'MAXLEN', 1, '*', 's', s.delivered)
    redis.call('PEXPIRE', s.cursor, 10000)
    redis.call('HSET', s.meta, 'waiting', 0)
    s.waiting = false
  end
end
-- Write back what pop() changed: trim the entries, keep the age index true.
local function save(s)
  if s.freed > 0 then
    redis.call('XTRIM', s.events, 'MINID', s.first .. '-0')
    redis.call('HSET', s.meta, 'first', s.first, 'bytes', s.bytes)
  end
  if s.first > s.last then
    redis.call('ZREM', INDEX, s.sid)
  elseif s.freed > 0 or s.first == s.last then
    local _, born = head(s)
    redis.call('ZADD', INDEX, born, s.sid)
  end
end
-- Forget a stream; its blocked readers and writers wake (their keys linger one second).
local function forget(s)
  redis.call('XADD', s.events, s.last .. '-*', 'c', '1')
  redis.call('PEXPIRE', s.events, 1000)
  release_writers(s)
  redis.call('PEXPIRE', s.cursor, 1000)
  redis.call('DEL', s.meta, s.meta .. ':once')
  redis.call('SREM', session_key(s.session, 'streams'), s.sid)
  redis.call('ZREM', INDEX, s.sid)
end
-- A closed stream with nothing left to replay and no reader cannot be resumed.
local function forget_if_done(s)
  if s.closed and s.first > s.last and not s.reader then
    forget(s)
    return true
  end
  return false
end
-- A stream in use keeps its keys and its session's keys for another ttl.
local function touch(s)
  redis.call('PEXPIRE', s.meta, TTL)
  redis.call('PEXPIRE', s.events, TTL)
  redis.call('PEXPIRE', session_key(s.session, 'streams'), TTL)
  redis.call('PEXPIRE', session_key(s.session, 'bytes'), TTL)
end
"""

# Over its bound, a session pays with the oldest evictable events of its own streams. The
# counter is recomputed from the streams first: it drifts when a stream expires by TTL.
_BOUND_SESSION = """
local function bound_session(current, max)
  local counter = session_key(current.session, 'bytes')
  local members = session_key(current.session, 'streams')
  local streams, held = {}, 0
  for _, sid in ipairs(redis.call('SMEMBERS', members)) do
    local s = sid == current.sid and current or load(sid)
    if s then
      table.insert(streams, s)
      held = held + s.bytes
    else
      redis.call('SREM', members, sid)
    end
  end
  while held > max do
    local victim, oldest = nil, nil
    for _, s in ipairs(streams) do
      if evictable(s) then
        local _, born = head(s)
        if not oldest or born < oldest then victim, oldest = s, born end
      end
    end
    if not victim then break end  -- only undelivered newest events left: age takes them
    held = held - pop(victim)
  end
  for _, s in ipairs(streams) do
    if s.freed > 0 then
      save(s)
      forget_if_done(s)
    end
  end
  redis.call('SET', counter, held, 'KEEPTTL')
end
"""

# ARGV prefix, ttl, sid, data, last (0/1), max_events, max_bytes, max_session_bytes, force
# (0/1), once ('' none: see EventLog.append). Returns the new event's seq, 0 for an unknown or
# closed stream or a ``once`` among the last ONCE_KEPT this stream took, or, while the live
# reader is a full stream bound behind (and not ``force``, the writer's wait ran out),
# ``{cursor id}``: wait on the cursor stream after that id, then call again.
_APPEND = """
local s = load(ARGV[3])
if not s or s.closed then return 0 end
local data, max_events, max_bytes = ARGV[4], tonumber(ARGV[6]), tonumber(ARGV[7])
local pending = s.last - s.delivered
if s.reader and not s.stalled and pending > 0
    and (pending >= max_events or s.appended - s.dbytes + #data > max_bytes) then
  if ARGV[9] ~= '1' then
    redis.call('HSET', s.meta, 'waiting', 1)
    local newest = redis.call('XREVRANGE', s.cursor, '+', '-', 'COUNT', 1)[1]
    return {newest and newest[1] or '0-0'}
  end
  redis.call('HSET', s.meta, 'stalled', 1)  -- too slow or gone: the bounds apply
end
if ARGV[10] ~= '' then  -- checked and recorded with the XADD, so two workers never both append
  local seen = s.meta .. ':once'
  if redis.call('LPOS', seen, ARGV[10]) then return 0 end
  redis.call('LPUSH', seen, ARGV[10])
  redis.call('LTRIM', seen, 0, ONCE_KEPT - 1)
  redis.call('PEXPIRE', seen, TTL)
end
s.last, s.appended, s.bytes = s.last + 1, s.appended + #data, s.bytes + #data
redis.call('XADD', s.events, s.last .. '-0', 'd', data, 't', now_ms(), 'a', s.appended)
redis.call('HSET', s.meta, 'last', s.last, 'appended', s.appended, 'bytes', s.bytes)
if ARGV[5] == '1' then
  redis.call('HSET', s.meta, 'closed', 1)
  redis.call('XADD', s.events, s.last .. '-*', 'c', '1')
end
while (s.last - s.first + 1 > max_events or s.bytes > max_bytes) and evictable(s) do pop(s) end
save(s)
local held = redis.call('INCRBY', session_key(s.session, 'bytes'), #data - s.freed)
if held > tonumber(ARGV[8]) then bound_session(s, tonumber(ARGV[8])) end
touch(s)
return s.last
"""
APPEND = _COMMON + _BOUND_SESSION + f"local ONCE_KEPT = {ONCE_KEPT}\n" + _APPEND

# ARGV prefix, ttl, sid, seq. The live reader delivered every event up to seq (it attaches).
_DELIVERED = """
local s = load(ARGV[3])
if not s then return 0 end
local seq = math.min(tonumber(ARGV[4]), s.last)
if not s.reader or seq > s.delivered then redis.call('HSET', s.meta, 'stalled', 0) end
s.delivered = seq
redis.call('HSET', s.meta, 'reader', 1, 'delivered', seq, 'dbytes', bytes_through(s, seq))
release_writers(s)
touch(s)
return 1
"""
DELIVERED = _COMMON + _DELIVERED

# ARGV prefix, ttl, sid. The live reader is gone.
_DETACH = """
local s = load(ARGV[3])
if not s then return 0 end
s.reader = false
redis.call('HSET', s.meta, 'reader', 0, 'stalled', 0)
release_writers(s)
if not forget_if_done(s) then touch(s) end
return 1
"""
DETACH = _COMMON + _DETACH

# ARGV prefix, ttl, sid. Marks the stream closed and wakes its blocked readers and writers.
_CLOSE = """
local s = load(ARGV[3])
if not s or s.closed then return 0 end
s.closed = true
redis.call('HSET', s.meta, 'closed', 1)
redis.call('XADD', s.events, s.last .. '-*', 'c', '1')
release_writers(s)
if not forget_if_done(s) then touch(s) end
return 1
"""
CLOSE = _COMMON + _CLOSE

# ARGV prefix, ttl, sid, the first entry id wanted. Returns nil for an unknown stream, else
# {first, last, closed, entries from that id on}: one consistent snapshot.
_READ = """
local s = load(ARGV[3])
if not s then return false end
touch(s)
return {s.first, s.last, s.closed and 1 or 0, redis.call('XRANGE', s.events, ARGV[4], '+')}
"""
READ = _COMMON + _READ

# ARGV prefix, ttl, session. Forgets every stream of the session and its byte counter.
_DROP_SESSION = """
local members = session_key(ARGV[3], 'streams')
for _, sid in ipairs(redis.call('SMEMBERS', members)) do
  local s = load(sid)
  if s then forget(s) end
end
redis.call('DEL', members, session_key(ARGV[3], 'bytes'))
"""
DROP_SESSION = _COMMON + _DROP_SESSION

# ARGV prefix, ttl, max_age_ms, limit. Evicts every event older than max_age (delivered or
# not) from up to ``limit`` streams, oldest first; forgets a closed stream left empty
# without a reader, and drops index entries of streams whose keys expired.
_SWEEP = """
local horizon = now_ms() - tonumber(ARGV[3])
local due = redis.call('ZRANGEBYSCORE', INDEX, '-inf', '(' .. horizon, 'LIMIT', 0, tonumber(ARGV[4]))
for _, sid in ipairs(due) do
  local s = load(sid)
  if not s then
    redis.call('ZREM', INDEX, sid)
  else
    while s.first <= s.last and select(2, head(s)) < horizon do pop(s) end
    save(s)
    local counter = session_key(s.session, 'bytes')
    if redis.call('EXISTS', counter) == 1 then redis.call('DECRBY', counter, s.freed) end
    forget_if_done(s)
  end
end
return #due
"""
SWEEP = _COMMON + _SWEEP
