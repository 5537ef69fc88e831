--[[
  resume.lua: lets the key's waiters start again (FlowEngine.resume).
  ARGV[A]   key
  Result    see batch.lua
]]
local k = commandedKey(ARGV[A])
if k.paused then
  k.paused = false
  emit({ seq = 0, at = 0, type = 'key:resumed', key = k.id })
  pump(k)
end
