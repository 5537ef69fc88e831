--[[
  next-wake.lua: when a wake next has something to do (FlowEngine.nextWakeAt): the earliest
  wake-up, or now when a lease has already expired. Leases that will expire later are left to the
  stores' lease timers: they are renewed without an event, so a controller timer armed for one
  would fire for nothing and never be armed again. Stands alone (without the core-*.lua frame):
  the controller asks after every batch of events.
  KEYS[1]   the deployment's hash-tagged prefix
  ARGV[1]   now in ms, or '' for Redis's TIME (an explicit now is for tests)
  Result    the instant as a string, or false (nil) when nothing is due
]]
local P = KEYS[1]
local r = redis.call('ZRANGE', P .. 'wake', 0, 0, 'WITHSCORES')
local at = nil
if r[1] ~= nil then at = tonumber(r[2]) end
local l = redis.call('ZRANGE', P .. 'leases', 0, 0, 'WITHSCORES')
if l[1] ~= nil then
  local now
  if ARGV[1] ~= '' then
    now = tonumber(ARGV[1])
  else
    local t = redis.call('TIME')
    now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  end
  if tonumber(l[2]) <= now and (at == nil or now < at) then at = now end
end
if at == nil then return false end
return tostring(at)
