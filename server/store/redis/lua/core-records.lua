--[[
  The flow-control rules of shared/engine in Lua, shared by every operation: core-records.lua
  (this frame: arguments, time, records), the event functions (emitMessageAccepted… one per
  event type, made by scripts.ts from codec.ts's EVENT_SCHEMA), core-lists.lua (rate windows,
  wake-ups, waitlists), core-rules.lua (the rules of core.ts) and core-end.lua (the end of a
  script).
  The TypeScript engine is the source of truth; these files follow it function by function.

  They are one Redis Functions library (see scripts.ts), loaded once: these four, every command
  (one file each: accept.lua, finish.lua…) as a function, and the library's functions: batch
  (batch.lua: runs a batch of commands), read (read.lua), init (init.lua) and next-wake
  (next-wake.lua, which stands alone). batch, read and init each begin with `begin(keys, args)`,
  which sets this frame up for the call: the library's state lives on between calls, so
  everything a call uses is set here afresh.

  KEYS[1]  the deployment's hash-tagged prefix, e.g. "{baton:}". Every key a script touches starts
           with it, so all of them live in one cluster slot (a script reaches a flow-control key,
           the global state and the event stream at once): a Redis Cluster gives failover, not
           write scaling. Keys are built here from KEYS[1] rather than listed in KEYS: which keys
           a command touches (waiters, other keys waiting for a global slot) is only known while
           it runs.
  ARGV[1]  now in ms, or '' to read Redis's TIME (an explicit now is for tests: an injected clock)
  ARGV[2]  the calling server's id (owner of the leases it is granted)
  ARGV[3]  lease length, ms
  ARGV[4]  handoff policy: 'fifo' | 'random'
  ARGV[5]  the random policy's window
  ARGV[6]  the event stream's approximate MAXLEN
  ARGV[7]  '1' while the calling server hands its tokens back (it is stopping): it is granted no
           start, see handBack in core-rules.lua; '0' otherwise
  ARGV[8…] the script's own arguments (A is their first index)

  State is read into Lua tables once per call (global, keys, messages), changed in place as the
  engine changes its records, and written back at the end of the call (only what changed).
  Waitlists, in-flight sets, the wake-up and lease sets are changed directly.
]]

-- The call's frame, set by begin().
-- (cjson is not reachable while a library loads: NULL, cjson.null, is set there too.)
local KEYS, ARGV, P, OWNER, LEASE_MS, POLICY, RANDOM_WINDOW, MAXLEN, HANDBACK, NULL
-- The deployment's own keys' names (P .. 'leases'…), made once per call.
local LEASES, WAKE
local A = 8
local DEFAULT_PERIOD = 1000
local U32 = 4294967296

-- BACKOFF (retry n → ms) and MAX_BACKOFF are prepended by scripts.ts from shared/engine/retry.ts.

local function num(v)
  if v == false or v == nil or v == '' then return nil end
  return tonumber(v)
end

local function nn(v)
  if v == nil then return NULL end
  return v
end

-- ── records ───────────────────────────────────────────────────────────────────────────────────
-- The global record, each key's record and each message's control fields are msgpack arrays in
-- one string (a message's in the `c` field of its hash): read once, changed in place, packed again
-- at the end and written only when the packing changed. Absent values are stored as false.

-- Each record has its own pack and unpack, field by field (a loop over a field list, filling a
-- table one field at a time, costs several times as much in Redis's Lua). Limits that may be
-- absent are false in the packing and nil in the record.

-- The global record: limit, in flight, last seq, stats, the random source, a counter, last now.
local function unpackG(raw)
  local a = raw and cmsgpack.unpack(raw) or {}
  return {
    max = a[1] or nil, inf = a[2] or 0, seq = a[3] or 0, acc = a[4] or 0, del = a[5] or 0,
    dead = a[6] or 0, can = a[7] or 0, rng = a[8] or 1, ctr = a[9] or 0, last = a[10] or nil,
  }
end

local function packG(g)
  return cmsgpack.pack({
    g.max or false, g.inf, g.seq, g.acc, g.del, g.dead, g.can, g.rng, g.ctr, g.last or false,
  })
end

-- The global record (G, and G_RAW as read), this call's now, its events (OUT, NOUT values in it;
-- see the event functions below), the starts a command granted (STARTS), the key and message
-- records read (KS, MS), and no later than the earliest wake-up (WAKE_AT, core-lists.lua; nil
-- until read): set by begin().
local G_RAW, G, now, OUT, NOUT, STARTS, KS, MS, WAKE_AT

local function begin(keys, args)
  KEYS, ARGV = keys, args
  NULL = cjson.null
  P = KEYS[1]
  LEASES, WAKE = P .. 'leases', P .. 'wake'
  OWNER = ARGV[2]
  LEASE_MS = tonumber(ARGV[3])
  POLICY = ARGV[4]
  RANDOM_WINDOW = tonumber(ARGV[5])
  MAXLEN = ARGV[6]
  HANDBACK = ARGV[7] == '1'
  OUT, NOUT, STARTS, KS, MS, WAKE_AT = {}, 0, {}, {}, {}, nil
  G_RAW = redis.call('GET', P .. 'g')
  G = unpackG(G_RAW)
  -- Time never goes back within a deployment: Redis's clock (or a test's) is clamped to the
  -- latest instant a command ran at.
  if ARGV[1] ~= '' then
    now = tonumber(ARGV[1])
  else
    local t = redis.call('TIME')
    now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  end
  if G.last ~= nil and now < G.last then now = G.last end
  G.last = now
end

local function nextCtr()
  G.ctr = G.ctr + 1
  return G.ctr
end

-- The next counter value as text: '%d' is about half the cost of tostring, or of Redis turning a
-- number argument into text ('%.17g'), for the same digits.
local function ctrString()
  G.ctr = G.ctr + 1
  return string.format('%d', G.ctr)
end

-- ── key records ───────────────────────────────────────────────────────────────────────────────

-- A key record: parallelism, rate, period, pinned flags, paused, in flight, rate count and window
-- start, scheduled, its window wake-up (instant, member), queued for a global slot, last activity,
-- live waitlist size. (And, not stored: the id, the packing as read, the waitlist's and the
-- in-flight set's names, wl and act.)
local function unpackK(id, raw)
  local a = cmsgpack.unpack(raw)
  return {
    id = id, raw = raw, wl = P .. 'w:' .. id, act = P .. 'a:' .. id, par = a[1] or nil,
    rate = a[2] or nil, period = a[3], pp = a[4], pr = a[5], paused = a[6], inf = a[7], rc = a[8],
    ws = a[9], sched = a[10], wt = a[11], wm = a[12], igq = a[13], last = a[14], wsize = a[15],
  }
end

local function packK(k)
  return cmsgpack.pack({
    k.par or false, k.rate or false, k.period or false, k.pp or false, k.pr or false,
    k.paused or false, k.inf or false, k.rc or false, k.ws or false, k.sched or false,
    k.wt or false, k.wm or false, k.igq or false, k.last or false, k.wsize or false,
  })
end

local function getKey(id)
  local k = KS[id]
  if k ~= nil then return k or nil end
  local raw = redis.call('GET', P .. 'k:' .. id)
  if not raw then
    KS[id] = false
    return nil
  end
  k = unpackK(id, raw)
  KS[id] = k
  return k
end

local function keyFor(id)
  local k = getKey(id)
  if k == nil then
    k = {
      id = id, wl = P .. 'w:' .. id, act = P .. 'a:' .. id, par = nil, rate = nil,
      period = DEFAULT_PERIOD, pp = false, pr = false, paused = false, inf = 0, rc = 0, ws = now,
      sched = 0, wt = 0, wm = '', igq = false, last = now, wsize = 0, raw = '',
    }
    KS[id] = k
    -- Keys are listed in the order they were made, like the engine's Map.
    redis.call('ZADD', P .. 'keys', nextCtr(), id)
  end
  return k
end

local function commandedKey(id)
  local k = keyFor(id)
  k.last = now
  return k
end

-- ── message records ───────────────────────────────────────────────────────────────────────────

-- A message's control fields: key, state, attempt, max retries, ready, started, wait reason,
-- passes, cancel requested, wake member, lease owner, ticket, lease number. (And, not stored: the
-- id, the packing as read, the hash's name, rk.)
local function unpackM(id, raw)
  local a = cmsgpack.unpack(raw)
  return {
    id = id, raw = raw, key = a[1], st = a[2], att = a[3], max = a[4], ready = a[5],
    started = a[6], reason = a[7], passes = a[8], cr = a[9], wm = a[10], own = a[11], tk = a[12],
    sn = a[13],
  }
end

local function packM(m)
  return cmsgpack.pack({
    m.key or false, m.st or false, m.att or false, m.max or false, m.ready or false,
    m.started or false, m.reason or false, m.passes or false, m.cr or false, m.wm or false,
    m.own or false, m.tk or false, m.sn or false,
  })
end

local function getMsg(id)
  local m = MS[id]
  if m ~= nil then return m or nil end
  local rk = P .. 'm:' .. id
  local raw = redis.call('HGET', rk, 'c')
  if not raw then
    MS[id] = false
    return nil
  end
  m = unpackM(id, raw)
  m.rk = rk
  MS[id] = m
  return m
end

-- A new message: its payload is written with its record, at the end of the command.
local function newMsg(id, key, maxRetries, st, payload, body)
  local m = {
    id = id, rk = P .. 'm:' .. id, key = key, st = st, att = 0, max = maxRetries, ready = 0,
    started = 0, reason = 'parallelism', passes = 0, cr = false, wm = '', own = '', tk = '',
    sn = '', raw = '', payload = payload, body = body,
  }
  MS[id] = m
  return m
end
