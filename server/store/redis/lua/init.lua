--[[
  init.lua: a store starting: seeds the random policy's source (once per deployment) and, when
  the server was started with one, sets the global parallelism (without an event, as the engine's
  constructor option). Answers the last event's seq and the stream's last entry id.
  ARGV[A…]  seed, has global limit ('1'|'0'), the limit ('' for none)
  Result    { seq, last stream id or '0-0' }
]]
if not G_RAW then G.rng = tonumber(ARGV[A]) end
if ARGV[A + 1] == '1' then G.max = num(ARGV[A + 2]) end
writeBack()
local last = redis.call('XREVRANGE', P .. 'events', '+', '-', 'COUNT', 1)
local id = '0-0'
if last[1] ~= nil then id = last[1][1] end
return { tostring(G.seq), id }
