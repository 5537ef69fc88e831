--[[
  The shared message log (messages.ts): applies a batch of the event stream to the messages'
  documents, once. The stream follower (stream-follower.ts) runs it, as a function of its one
  script, after the logs' part; `mlseq` says how far the log has followed the stream, and
  events at or before it are skipped, so a batch sent twice (a new applier catching up) changes
  nothing the second time.

  KEYS[1]  the deployment's hash-tagged prefix
  ARGV[1]  first seq of the batch
  ARGV[2]  last seq of the batch
  ARGV[3]  the ops, JSON: [[seq, op, id, at, a, b, c], …]
             s: scheduled until a   w: waiting   f: attempt a starts
             e: the attempt ended, status a, error b, retry at c (false: none)
             d: delivered   c: cancelled   x: failed for good, reason a
  ARGV[4]  keep bodies in the history: '1' or '0'
  ARGV[5]  history max bytes     ARGV[6]  history max age, ms (-1: none)
  ARGV[7]  dead letters max bytes   ARGV[8]  dead letters max age, ms (-1: none)
  ARGV[9]  now, ms (for ages)

  Returns { last applied seq, gap (1 when events before this batch were never applied), then per
  dead letter dropped: message id, dlq id, why }.

  Only a message's state (field s: status, attempts, nextAt, endedAt, reason, dlqId) is read and
  written here, never its document (d, with the payload's headers): the state is what events
  change, and a few dozen bytes to decode and encode instead of the whole document. A document
  written by an earlier version, without s, holds its state itself: it is read from there once.

  `leaveDeadLetters` is defined before it by messages.ts (deleting a dead letter uses it too).
]]
local P = KEYS[1]
local from, upTo = tonumber(ARGV[1]), tonumber(ARGV[2])
local last = tonumber(redis.call('GET', P .. 'mlseq') or '0')
if upTo <= last then return { last, 0 } end
local gap = (from > last + 1) and 1 or 0
local ops = cjson.decode(ARGV[3])
local keepBodies = ARGV[4] == '1'
local hMax, hAge, dMax, dAge = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]),
  tonumber(ARGV[8])
local now = tonumber(ARGV[9])

local STATE = { 'status', 'attempts', 'nextAt', 'endedAt', 'reason', 'dlqId' }
local docs, dirty = {}, {}
-- Per message ended in this batch: its state's JSON (nothing changes it after its end) and its
-- bytes in the history, written with it; the history's bytes grow by `historyBytes` at the end.
local ended, endedBytes, historyBytes = {}, {}, 0
local function load(id)
  local m = docs[id]
  if m == nil then
    local key = P .. 'ml:' .. id
    local raw = redis.call('HGET', key, 's')
    if raw then
      m = cjson.decode(raw)
    else
      raw = redis.call('HGET', key, 'd')
      m = false
      if raw then
        local d = cjson.decode(raw)
        m = {}
        for _, f in ipairs(STATE) do m[f] = d[f] end
      end
    end
    if m and type(m.attempts) ~= 'table' then m.attempts = {} end
    docs[id] = m
  end
  return m
end

local function dlqIdOf(id)
  if string.sub(id, 1, 4) == 'msg_' then return 'dlq_' .. string.sub(id, 5) end
  return 'dlq_' .. id
end

-- cjson writes an empty table as {}: attempts is always a list, so an empty one is left out
-- (and read back as []).
local function encode(m)
  if #m.attempts == 0 then
    local a = m.attempts
    m.attempts = nil
    local out = cjson.encode(m)
    m.attempts = a
    return out
  end
  return cjson.encode(m)
end

local function finish(id, m, status, at, reason)
  local key = P .. 'ml:' .. id
  m.status = status
  m.endedAt = at
  m.nextAt = nil
  if reason then m.reason = reason end
  redis.call('ZREM', P .. 'mll', id)
  local bodyLen = redis.call('HSTRLEN', key, 'b')
  if status == 'failed' then m.dlqId = dlqIdOf(id) end
  -- Its bytes: its document as written when it was accepted and its state now.
  local state = encode(m)
  ended[id] = state
  local docLen = redis.call('HSTRLEN', key, 'd') + #state
  if status == 'failed' then
    local db = docLen + bodyLen
    redis.call('ZADD', P .. 'mld', at, id)
    redis.call('HSET', P .. 'mldi', m.dlqId, id)
    redis.call('INCRBY', P .. 'mldb', db)
    redis.call('HSET', key, 'db', db)
  elseif not keepBodies and bodyLen > 0 then
    redis.call('HDEL', key, 'b')
    bodyLen = 0
  end
  -- A dead letter's body is counted in the dead-letter list, not twice.
  local hb = docLen
  if keepBodies and status ~= 'failed' then hb = hb + bodyLen end
  redis.call('ZADD', P .. 'mlh', at, id)
  historyBytes = historyBytes + hb
  endedBytes[id] = hb
end

for _, op in ipairs(ops) do
  local seq, kind, id, at = op[1], op[2], op[3], op[4]
  if seq > last then
    local m = load(id)
    if m and m.endedAt == nil then
      dirty[id] = true
      if kind == 's' then
        m.status = 'scheduled'
        m.nextAt = op[5]
      elseif kind == 'w' then
        m.status = 'waiting'
        m.nextAt = nil
      elseif kind == 'f' then
        m.status = 'in-flight'
        m.nextAt = nil
        m.attempts[#m.attempts + 1] = { attempt = op[5], startedAt = at }
      elseif kind == 'e' then
        local a = m.attempts[#m.attempts]
        if a then
          a.endedAt = at
          if op[5] then a.status = op[5] end
          if op[6] then a.error = op[6] end
        end
        if op[7] then
          m.status = 'retry-scheduled'
          m.nextAt = op[7]
        end
      elseif kind == 'd' then
        finish(id, m, 'delivered', at)
      elseif kind == 'c' then
        finish(id, m, 'cancelled', at)
      elseif kind == 'x' then
        finish(id, m, 'failed', at, op[5])
      end
    end
  end
end

for id in pairs(dirty) do
  local state = ended[id]
  if state then
    redis.call('HSET', P .. 'ml:' .. id, 's', state, 'hb', endedBytes[id])
  else
    redis.call('HSET', P .. 'ml:' .. id, 's', encode(docs[id]))
  end
end
if historyBytes > 0 then redis.call('INCRBY', P .. 'mlhb', historyBytes) end
redis.call('SET', P .. 'mlseq', upTo)

-- Retention: the oldest go first, while the list is over its bytes or they are over its age.
local out = { upTo, gap }
local function over(zset, bytesKey, maxBytes, maxAge)
  local oldest = redis.call('ZRANGE', zset, 0, 0, 'WITHSCORES')
  if #oldest == 0 then return nil end
  if tonumber(redis.call('GET', bytesKey) or '0') > maxBytes then return oldest[1], 'bytes' end
  if maxAge >= 0 and tonumber(oldest[2]) < now - maxAge then return oldest[1], 'age' end
  return nil
end

while true do
  local id = over(P .. 'mlh', P .. 'mlhb', hMax, hAge)
  if id == nil then break end
  local key = P .. 'ml:' .. id
  redis.call('ZREM', P .. 'mlh', id)
  redis.call('DECRBY', P .. 'mlhb', tonumber(redis.call('HGET', key, 'hb') or '0'))
  if redis.call('ZSCORE', P .. 'mld', id) then
    redis.call('HDEL', key, 'hb')
  else
    redis.call('DEL', key)
  end
end

while true do
  local id, why = over(P .. 'mld', P .. 'mldb', dMax, dAge)
  if id == nil then break end
  local dlqId = dlqIdOf(id)
  leaveDeadLetters(P, id, dlqId)
  out[#out + 1] = id
  out[#out + 1] = dlqId
  out[#out + 1] = why
end
return out
