--[[
  resume.lua: lets the key's waiters start again (FlowEngine.resume).
  ARGV[A]   key
  Result    see batch.lua
]]
local k = commandedKey(ARGV[A])
if k.paused then
  k.paused = false
  emitKeyResumed(k.id)
  pump(k)
end
