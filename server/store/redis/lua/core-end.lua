-- core-end.lua: what ends a script (see core-records.lua for the frame).

-- ── the end of a script ────────────────────────────────────────────────────────────────────────

local function writeBack()
  for id, k in pairs(KS) do
    if k then
      local packed = packK(k)
      if packed ~= k.raw then redis.call('SET', P .. 'k:' .. id, packed) end
    end
  end
  for id, m in pairs(MS) do
    if m then
      local packed = packM(m)
      if m.payload ~= nil then
        if m.body ~= nil then
          redis.call('HSET', m.rk, 'c', packed, 'p', m.payload, 'b', m.body)
        else
          redis.call('HSET', m.rk, 'c', packed, 'p', m.payload)
        end
        -- The Workflow step it is, for the views (read.lua): only a Workflow message has one.
        if m.workflow ~= nil then redis.call('HSET', m.rk, 'w', m.workflow) end
      elseif packed ~= m.raw then
        redis.call('HSET', m.rk, 'c', packed)
      end
    end
  end
  local packed = packG(G)
  if packed ~= G_RAW then redis.call('SET', P .. 'g', packed) end
end

-- What a command answers when it refuses (it has changed nothing).
local function fail(msg)
  return { err = msg }
end

--[[
  The starts a command granted, appended to `out` after its values 1…n: how many, then six per
  start: message id, key, attempt, lease number, payload JSON, body (false when absent). Read
  after writeBack (a message accepted in this script has its payload written there).
  `skipPayload` names a message whose payload the caller already has (accept's own). Answers the
  new length of `out`.
]]
local function startsOf(out, n, started, skipPayload)
  out[n + 1] = #started
  n = n + 1
  for _, m in ipairs(started) do
    local p, b = false, false
    if m.id ~= skipPayload then
      -- Two HGETs cost less than one HMGET (which makes a table).
      local h = m.rk
      p = redis.call('HGET', h, 'p')
      if p then b = redis.call('HGET', h, 'b') end
    end
    out[n + 1], out[n + 2], out[n + 3], out[n + 4], out[n + 5], out[n + 6] =
      m.id, m.key, m.att, m.sn, p, b
    n = n + 6
  end
  return n
end
