--[[
  accept.lua: takes a message in (FlowEngine.publish): it starts, waits, or is scheduled.
  ARGV[A…]  id, has key ('1'|'0'), key, has config ('1'|'0'), parallelism, rate, period ('' when
            absent), retries, notBefore ('' when none), payload JSON, has body ('1'|'0'), body,
            the Workflow step it is as JSON ({runId, step}; '' when none: PublishInput.workflow)
  Result    see batch.lua; an error when a message with this id is still live.
]]
local id = ARGV[A]
local hasKey = ARGV[A + 1] == '1'
if getMsg(id) ~= nil then
  return fail('message ' .. id .. ' is already accepted')
end
local retries = tonumber(ARGV[A + 7])
local notBefore = num(ARGV[A + 8])
local k = keyFor(hasKey and ARGV[A + 2] or '$')
local delayed = notBefore ~= nil and notBefore > now
local body = nil
if ARGV[A + 10] == '1' then body = ARGV[A + 11] end
local m = newMsg(id, k.id, retries, delayed and 'scheduled' or 'waiting', ARGV[A + 9], body)
local workflow = nil
if ARGV[A + 12] ~= '' then
  m.workflow = ARGV[A + 12]
  workflow = cjson.decode(m.workflow)
end
G.acc = G.acc + 1
local shownNotBefore = nil
if delayed then shownNotBefore = notBefore end
emitMessageAccepted(k.id, id, shownNotBefore, workflow)
if hasKey and ARGV[A + 3] == '1' then
  -- configureFromMessage (key-rules.ts): the latest message's config, except the pinned parts.
  local changed = false
  if not k.pp then
    local p = num(ARGV[A + 4])
    if p ~= k.par then
      k.par = p
      changed = true
    end
  end
  if not k.pr then
    local r = num(ARGV[A + 5])
    local period = num(ARGV[A + 6]) or DEFAULT_PERIOD
    if r ~= k.rate or period ~= k.period then
      if period ~= k.period then changePeriod(k, period) end
      k.rate = r
      changed = true
    end
  end
  if changed then
    configured(k, 'message')
    pump(k)
  end
end
if delayed then schedule(m, notBefore) else enterFlow(m) end
return id
