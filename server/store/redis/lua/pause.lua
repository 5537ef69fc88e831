--[[
  pause.lua: stops new starts for the key (FlowEngine.pause).
  ARGV[A]   key
  Result    see batch.lua
]]
local k = commandedKey(ARGV[A])
if not k.paused then
  k.paused = true
  emitKeyPaused(k.id)
end
