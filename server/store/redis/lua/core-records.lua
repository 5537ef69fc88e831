--[[
  The flow-control rules of shared/engine in Lua, shared by every operation: core-records.lua
  (this frame: arguments, time, records, events), core-lists.lua (rate windows, wake-ups,
  waitlists), core-rules.lua (the rules of core.ts) and core-end.lua (the end of a script).
  The commands (one file each: accept.lua, finish.lua…) run in batch.lua, which is these four,
  every command as a function, and the loop that runs a batch of them; the reads (read.lua,
  next-wake.lua) and init.lua are these four followed by their own (see scripts.ts). The
  TypeScript engine is the source of truth; these files follow it function by function.

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
  ARGV[7…] the script's own arguments (A is their first index)

  State is read into Lua tables once per script (global, keys, messages), changed in place as the
  engine changes its records, and written back at the end of the script (only what changed).
  Waitlists, in-flight sets, the wake-up and lease sets are changed directly.
]]

local P = KEYS[1]
local OWNER = ARGV[2]
local LEASE_MS = tonumber(ARGV[3])
local POLICY = ARGV[4]
local RANDOM_WINDOW = tonumber(ARGV[5])
local MAXLEN = ARGV[6]
local A = 7
local NULL = cjson.null
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

local function unpackRecord(raw, fields)
  local r = {}
  if raw then
    local a = cmsgpack.unpack(raw)
    for i, f in ipairs(fields) do r[f] = a[i] end
  end
  return r
end

-- Numbers that may be absent (limits): false in the packing, nil in the record.
local function absent(r, f)
  if r[f] == false then r[f] = nil end
end

local function packRecord(r, fields)
  local a = {}
  for i, f in ipairs(fields) do
    local v = r[f]
    if v == nil then v = false end
    a[i] = v
  end
  return cmsgpack.pack(a)
end

local GF = { 'max', 'inf', 'seq', 'acc', 'del', 'dead', 'can', 'rng', 'ctr', 'last' }
local G_RAW = redis.call('GET', P .. 'g')
local G = unpackRecord(G_RAW, GF)
absent(G, 'max')
absent(G, 'last')
G.inf = G.inf or 0
G.seq = G.seq or 0
G.acc = G.acc or 0
G.del = G.del or 0
G.dead = G.dead or 0
G.can = G.can or 0
G.rng = G.rng or 1
G.ctr = G.ctr or 0

-- Time never goes back within a deployment: Redis's clock (or a test's) is clamped to the latest
-- instant a command ran at.
local now
if ARGV[1] ~= '' then
  now = tonumber(ARGV[1])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
if G.last ~= nil and now < G.last then now = G.last end
G.last = now

local function nextCtr()
  G.ctr = G.ctr + 1
  return G.ctr
end

-- ── events ────────────────────────────────────────────────────────────────────────────────────

local OUT = {}

local function emit(ev)
  G.seq = G.seq + 1
  ev.seq = G.seq
  ev.at = now
  OUT[#OUT + 1] = ev
end

-- ── key records ───────────────────────────────────────────────────────────────────────────────

local KF = { 'par', 'rate', 'period', 'pp', 'pr', 'paused', 'inf', 'rc', 'ws', 'sched', 'wt', 'wm',
  'igq', 'last', 'wsize' }
local KS = {}

local function getKey(id)
  local k = KS[id]
  if k ~= nil then return k or nil end
  local raw = redis.call('GET', P .. 'k:' .. id)
  if not raw then
    KS[id] = false
    return nil
  end
  k = unpackRecord(raw, KF)
  absent(k, 'par')
  absent(k, 'rate')
  k.id = id
  k.raw = raw
  KS[id] = k
  return k
end

local function keyFor(id)
  local k = getKey(id)
  if k == nil then
    k = {
      id = id, par = nil, rate = nil, period = DEFAULT_PERIOD, pp = false, pr = false,
      paused = false, inf = 0, rc = 0, ws = now, sched = 0, wt = 0, wm = '', igq = false,
      last = now, wsize = 0, raw = '',
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

local MF = { 'key', 'st', 'att', 'max', 'ready', 'started', 'reason', 'passes', 'cr', 'wm', 'own',
  'tk', 'sn' }
local MS = {}

local function getMsg(id)
  local m = MS[id]
  if m ~= nil then return m or nil end
  local raw = redis.call('HGET', P .. 'm:' .. id, 'c')
  if not raw then
    MS[id] = false
    return nil
  end
  m = unpackRecord(raw, MF)
  m.id = id
  m.raw = raw
  MS[id] = m
  return m
end

-- A new message: its payload is written with its record, at the end of the command.
local function newMsg(id, key, maxRetries, st, payload, body)
  local m = {
    id = id, key = key, st = st, att = 0, max = maxRetries, ready = 0, started = 0,
    reason = 'parallelism', passes = 0, cr = false, wm = '', own = '', tk = '', sn = '', raw = '',
    payload = payload, body = body,
  }
  MS[id] = m
  return m
end
