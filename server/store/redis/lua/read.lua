--[[
  read.lua: the read side (FlowEngine.getKey, snapshot; views.ts), atomically. Changes nothing.
  ARGV[A…]  what ('key' | 'keys' | 'snapshot' | 'message' | 'global'), waitlist limit, key or
            message id (for 'key' and 'message'), or for 'keys' the run of the key list to read:
            the scores (creation order) it starts after and ends at, as ZRANGE BYSCORE takes them
            (the store reads the list a run at a time, so one call never holds Redis for long;
            a snapshot reads every key in one call: its keys must agree with its seq)
  Result    JSON: { seq, at, max, inf, stats = { accepted, delivered, dead, cancelled },
            keys = [view] }
            ('global': no keys); 'message': the message's { key, st, att, max, ready, started }, or
            false once it has ended. Empty lists come out as {} (cjson cannot tell them from
            objects): readers fix them up.
]]
local what, limit = ARGV[A], tonumber(ARGV[A + 1])
if what == 'message' then
  local m = getMsg(ARGV[A + 2])
  if m == nil then return false end
  return cjson.encode({
    key = m.key, st = m.st, att = m.att, max = m.max, ready = m.ready, started = m.started,
  })
end

-- An entry with the Workflow step its message is (the `w` its accept wrote), when it is one.
local function tagged(entry, id)
  local w = redis.call('HGET', P .. 'm:' .. id, 'w')
  if w then entry.workflow = cjson.decode(w) end
  return entry
end

local function view(k)
  local ws, rc = windowAt(k.ws, k.period, k.rc, now)
  local active = {}
  for _, id in ipairs(redis.call('ZRANGE', P .. 'a:' .. k.id, 0, -1)) do
    local m = getMsg(id)
    if m ~= nil then
      active[#active + 1] = tagged({ messageId = id, attempt = m.att, startedAt = m.started }, id)
    end
  end
  local waiting = {}
  if limit > 0 and k.wsize > 0 then
    local L = P .. 'w:' .. k.id
    local i, chunk = 0, math.min(math.max(limit, 16), 1000)
    while #waiting < limit do
      local es = redis.call('LRANGE', L, i, i + chunk - 1)
      if #es == 0 then break end
      for _, e in ipairs(es) do
        local m = liveEntry(e)
        if m ~= nil then
          waiting[#waiting + 1] = tagged({
            messageId = m.id, attempt = m.att, readyAt = m.ready, reason = m.reason,
          }, m.id)
          if #waiting >= limit then break end
        end
      end
      i = i + chunk
    end
  end
  local blockedBy = NULL
  if k.wsize > 0 then blockedBy = nn(reasonAt(k)) end
  return {
    key = k.id, parallelism = nn(k.par), rate = nn(k.rate), periodMs = k.period,
    pinnedParallelism = k.pp, pinnedRate = k.pr, paused = k.paused, inFlight = k.inf,
    rateCount = rc, ratePeriodStart = ws, waitListSize = k.wsize, scheduled = k.sched,
    blockedBy = blockedBy, active = active, waiting = waiting,
  }
end

local ids
if what == 'key' then
  ids = { ARGV[A + 2] }
elseif what == 'global' then
  ids = {}
elseif what == 'keys' then
  ids = redis.call('ZRANGE', P .. 'keys', ARGV[A + 2], ARGV[A + 3], 'BYSCORE')
else
  ids = redis.call('ZRANGE', P .. 'keys', 0, -1)
end
local keys = {}
for _, id in ipairs(ids) do
  local k = getKey(id)
  if k ~= nil then keys[#keys + 1] = view(k) end
end
return cjson.encode({
  seq = G.seq, at = now, max = nn(G.max), inf = G.inf, keys = keys,
  stats = { accepted = G.acc, delivered = G.del, dead = G.dead, cancelled = G.can },
})
