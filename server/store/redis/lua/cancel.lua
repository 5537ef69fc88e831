--[[
  cancel.lua: cancels a message that has not ended (FlowEngine.cancel). A waiting or scheduled one
  ends at once; one in flight finishes its attempt and is not retried; an ended one emits nothing.
  ARGV[A]   message id
  Result    see batch.lua
]]
local m = getMsg(ARGV[A])
if m ~= nil then
  if m.st == 'in-flight' then
    m.cr = true
  elseif m.st == 'waiting' or m.st == 'scheduled' or m.st == 'retry-scheduled' then
    local k = getKey(m.key)
    if m.st == 'waiting' then
      wlTaken(k, k.wl)
    else
      k.sched = k.sched - 1
      redis.call('ZREM', WAKE, m.wm)
    end
    settle(m, 'cancelled')
  end
end
