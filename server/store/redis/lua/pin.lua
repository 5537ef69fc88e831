--[[
  pin.lua: fixes parallelism and/or rate+period and restarts the rate window (FlowEngine.pin,
  applyPin in key-rules.ts). The caller has validated the values.
  ARGV[A…]  key, parallelism, rate, period ('' for the parts not pinned)
  Result    see batch.lua
]]
local k = commandedKey(ARGV[A])
local p, r, period = num(ARGV[A + 1]), num(ARGV[A + 2]), num(ARGV[A + 3])
if p ~= nil then
  k.par = p
  k.pp = true
end
if r ~= nil or period ~= nil then
  if r ~= nil then k.rate = r end
  if period ~= nil then k.period = period end
  k.pr = true
end
restartWindow(k)
configured(k, 'pin')
pump(k)
