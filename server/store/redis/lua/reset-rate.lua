--[[
  reset-rate.lua: zeroes the window's count and starts a new window now (FlowEngine.resetRate).
  ARGV[A]   key
  Result    see batch.lua
]]
local k = commandedKey(ARGV[A])
restartWindow(k)
emit({ seq = 0, at = 0, type = 'key:rate-reset', key = k.id, ratePeriodStart = now })
pump(k)
