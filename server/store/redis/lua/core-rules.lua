-- core-rules.lua: the rules of shared/engine/core.ts (see core-records.lua for the frame).

-- ── rules (core.ts) ───────────────────────────────────────────────────────────────────────────

local function reasonAt(k)
  if k.paused then return 'paused' end
  if k.par ~= nil and k.inf >= k.par then return 'parallelism' end
  if k.rate ~= nil then
    local _, count = windowAt(k.ws, k.period, k.rc, now)
    if count >= k.rate then return 'rate' end
  end
  if G.max ~= nil and G.inf >= G.max then return 'global' end
  return nil
end

local function blocked(k)
  roll(k)
  return reasonAt(k)
end

local function configured(k, source)
  roll(k)
  emitKeyConfigured(k.id, source, k.par, k.rate, k.period, k.pp, k.pr, k.ws, k.rc)
end

local function queueForGlobal(k)
  if not k.igq then
    k.igq = true
    redis.call('RPUSH', P .. 'gq', k.id)
  end
end

local function onBlocked(k, reason)
  if reason == 'rate' then
    local e = k.ws + k.period
    if k.wt ~= e then setWindowWake(k, e) end
  elseif reason == 'global' then
    queueForGlobal(k)
  end
end

--[[
  A server that is stopping (HANDBACK, ARGV[7]) is granted no start: where one of its commands
  would give a token to a key's waiter, the key is woken a millisecond later instead, and the token
  goes to whichever server runs its wake-ups first (every server's timer follows the same earliest
  wake-up, and a stopping server's runs none). A message that would start at once (a retry come
  due) is made due a millisecond later in the same way (enterFlow).
]]
local function handBack(k)
  if k.wt == 0 or k.wt > now + 1 then setWindowWake(k, now + 1) end
end

local function activeAdd(k, m)
  redis.call('ZADD', k.act, ctrString(), m.id)
end

local function activeDel(k, m)
  redis.call('ZREM', k.act, m.id)
  redis.call('ZREM', LEASES, m.id)
end

-- A start holds its token under a lease of the calling server, renewed while it runs.
local function start(m, from)
  local k = getKey(m.key)
  m.st = 'in-flight'
  m.started = now
  k.inf = k.inf + 1
  G.inf = G.inf + 1
  activeAdd(k, m)
  roll(k)
  k.rc = k.rc + 1
  m.own = OWNER
  m.sn = ctrString()
  redis.call('ZADD', LEASES, now + LEASE_MS, m.id)
  STARTS[#STARTS + 1] = m
  local waited = now - m.ready
  local rated = k.rate ~= nil
  local rateCount, ratePeriodStart
  if rated then
    rateCount = k.rc
    ratePeriodStart = k.ws
  end
  if from == nil then
    emitTokenAcquired(k.id, m.id, m.att, k.inf, rateCount, ratePeriodStart, waited)
  else
    emitTokenHandedOff(k.id, from.id, m.id, m.att, waited, rateCount, ratePeriodStart)
  end
end

local function pump(k)
  while k.wsize > 0 do
    local reason = blocked(k)
    if reason ~= nil then
      onBlocked(k, reason)
      return
    end
    if HANDBACK then
      handBack(k)
      return
    end
    local m = takeWaiter(k)
    if m == nil then return end
    start(m, nil)
  end
end

local function enterFlow(m)
  local k = getKey(m.key)
  m.st = 'waiting'
  m.ready = now
  local reason = blocked(k)
  if reason == nil and k.wsize > 0 then
    pump(k)
    reason = blocked(k)
  end
  if reason == nil then
    if HANDBACK then
      -- Due again in a millisecond, for another server to start (no event: nothing happened yet).
      schedule(m, now + 1)
      m.st = 'scheduled'
      return
    end
    start(m, nil)
    return
  end
  m.reason = reason
  wlPush(k, m)
  emitMessageWaitlisted(k.id, m.id, reason, k.wsize)
  onBlocked(k, reason)
end

local function otherKeyFirstForGlobal(k)
  if G.max == nil then return false end
  local gq = P .. 'gq'
  while true do
    local hid = redis.call('LPOP', gq)
    if not hid then return false end
    local head = getKey(hid)
    if head ~= nil then
      head.igq = false
      if head == k then return false end
      if head.wsize > 0 then
        local reason = blocked(head)
        if reason == nil or reason == 'global' then
          redis.call('LPUSH', gq, hid)
          head.igq = true
          return true
        end
        onBlocked(head, reason)
      end
    end
  end
end

local function drainGlobal()
  local gq = P .. 'gq'
  if HANDBACK then
    -- The keys first in line for the global slots now free are woken, for another server.
    local free = 100
    if G.max ~= nil then free = math.min(free, G.max - G.inf) end
    if free <= 0 then return end
    for _, hid in ipairs(redis.call('LRANGE', gq, 0, free - 1)) do
      local k = getKey(hid)
      if k ~= nil and k.wsize > 0 then handBack(k) end
    end
    return
  end
  while G.max == nil or G.inf < G.max do
    local hid = redis.call('LPOP', gq)
    if not hid then return end
    local k = getKey(hid)
    if k ~= nil then
      k.igq = false
      if k.wsize > 0 then
        local reason = blocked(k)
        if reason ~= nil then
          onBlocked(k, reason)
        else
          local m = takeWaiter(k)
          if m ~= nil then start(m, nil) end
          if k.wsize > 0 then
            local nextReason = blocked(k)
            if nextReason == nil then queueForGlobal(k) else onBlocked(k, nextReason) end
          end
        end
      end
    end
  end
end

local function passToken(from)
  local k = getKey(from.key)
  if k.wsize > 0 then
    local reason = blocked(k)
    if reason == nil and HANDBACK then
      handBack(k)
    else
      if reason == nil and not otherKeyFirstForGlobal(k) then
        local nxt = takeWaiter(k)
        if nxt ~= nil then
          start(nxt, from)
          pump(k)
          return
        end
      end
      if reason == nil then queueForGlobal(k) else onBlocked(k, reason) end
    end
  end
  emitTokenReleased(k.id, from.id, k.inf)
  drainGlobal()
end

-- Ends a message for good: its record is deleted (a view of it answers nothing).
local function settle(m, state, reason)
  local k = getKey(m.key)
  m.st = state
  k.last = now
  if state == 'delivered' then
    G.del = G.del + 1
    emitMessageDelivered(k.id, m.id)
  elseif state == 'dead' then
    G.dead = G.dead + 1
    emitMessageDeadLettered(k.id, m.id, reason)
  else
    G.can = G.can + 1
    emitMessageCancelled(k.id, m.id)
  end
  MS[m.id] = false
  redis.call('DEL', m.rk)
end

-- An in-flight message whose server stopped renewing its lease: the token is freed (handed off
-- or released) and the message goes back through flow control as its next attempt, at once. It
-- is never dead-lettered for it (the attempt's outcome is unknown; it may have been delivered).
-- `tried` false: its delivery never began (a stopping server gives back a start it was granted,
-- release.lua), so it keeps its attempt number.
local function leaseExpired(m, tried)
  local k = getKey(m.key)
  k.inf = k.inf - 1
  G.inf = G.inf - 1
  activeDel(k, m)
  emitLeaseExpired(k.id, m.id)
  passToken(m)
  m.own = ''
  m.sn = ''
  if m.cr then
    settle(m, 'cancelled')
  else
    if tried then m.att = m.att + 1 end
    enterFlow(m)
  end
end

local function reclaimExpiredLeases()
  local L = LEASES
  while true do
    local r = redis.call('ZRANGE', L, 0, 0, 'WITHSCORES')
    if r[1] == nil or tonumber(r[2]) > now then return end
    redis.call('ZREM', L, r[1])
    local m = getMsg(r[1])
    if m ~= nil and m.st == 'in-flight' then leaseExpired(m, true) end
  end
end

-- Runs every wake-up due now, earliest first, including ones that become due meanwhile.
local function runDue()
  if WAKE_AT ~= nil and WAKE_AT > now then return end
  local W = WAKE
  while true do
    local r = redis.call('ZRANGE', W, 0, 0, 'WITHSCORES')
    if r[1] == nil then
      WAKE_AT = math.huge
      return
    end
    local at = tonumber(r[2])
    if at > now then
      WAKE_AT = at
      return
    end
    local member = r[1]
    redis.call('ZREM', W, member)
    local kind, id = string.sub(member, 17, 17), string.sub(member, 19)
    if kind == 'm' then
      local m = getMsg(id)
      if m ~= nil and m.wm == member and (m.st == 'scheduled' or m.st == 'retry-scheduled') then
        m.wm = ''
        local k = getKey(m.key)
        k.sched = k.sched - 1
        enterFlow(m)
      end
    else
      local k = getKey(id)
      if k ~= nil and k.wm == member then
        k.wm = ''
        k.wt = 0
        pump(k)
      end
    end
  end
end
