--[[
  reset-rate.lua: zeroes the window's count and starts a new window now (FlowEngine.resetRate).
  ARGV[A]   key
  Result    see batch.lua
]]
local k = commandedKey(ARGV[A])
restartWindow(k)
emitKeyRateReset(k.id, now)
pump(k)
